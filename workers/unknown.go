package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// finder is a sender that can tell whether a message already went out
// since a time: Slack, whose posts carry their ledger key.
type finder interface {
	// Find reports whether m was delivered since since. An error wrapping
	// notify.ErrPermanent means it cannot tell; a *notify.CredentialsError
	// concerns the whole channel.
	Find(ctx context.Context, m *notify.Message, since time.Time) (bool, error)
}

// How an unknown outcome is resolved by looking: not before
// DefaultInFlight after the claim (a post of the attempt that claimed it
// may still be on its way: lookups, pacing and the call take well under
// it), and from findSkew before the claim (clocks differ).
const (
	DefaultInFlight = time.Minute
	findSkew        = time.Minute
)

func (d *Deliverer) inFlight() time.Duration {
	if d.InFlight > 0 {
		return d.InFlight
	}
	return DefaultInFlight
}

// unknown handles m, whose earlier attempt's outcome is unknown; now says
// whether this attempt found it out. An email is never sent again
// automatically: its rendered message is kept for an operator's resend. A
// channel that can look (Slack) resolves it.
func (d *Deliverer) unknown(ctx context.Context, token string, m *notify.Message, now bool) error {
	if now {
		d.count("unknown")
	}
	f, ok := d.Sender.(finder)
	if !ok {
		if err := d.Ledger.KeepMessage(ctx, m.LedgerKey, body(m)); err != nil {
			return fmt.Errorf("%w: %w", err, errStop)
		}
		if now {
			d.Logger.Warn("outcome unknown: an earlier attempt claimed this message and recorded nothing; it is not sent again automatically",
				"key", m.LedgerKey, "rule", m.Rule, "account", m.AccountID, "resend", resendHint(m.LedgerKey))
		}
		return nil
	}
	return d.resolve(ctx, token, m, f)
}

// resolve looks for m, of unknown outcome, where it would have gone: found,
// it is recorded sent; not found, it is claimed again and sent; when that
// cannot be told, it is left unknown (logged with the reason) for an
// operator.
func (d *Deliverer) resolve(ctx context.Context, token string, m *notify.Message, f finder) error {
	e, err := d.Ledger.Entry(ctx, m.LedgerKey)
	if err != nil {
		return fmt.Errorf("%w: %w", err, errStop)
	}
	if wait := e.ClaimedAt.Add(d.inFlight()).Sub(d.now()); wait > 0 {
		return &RetryLater{Reason: "look for " + m.LedgerKey + " once its post cannot be in flight", After: wait}
	}
	found, err := f.Find(ctx, m, e.ClaimedAt.Add(-findSkew))
	if cred, ok := errors.AsType[*notify.CredentialsError](err); ok {
		return d.pause(ctx, cred)
	}
	switch {
	case errors.Is(err, notify.ErrPermanent):
		return d.leaveUnknown(ctx, m, err)
	case err != nil:
		return fmt.Errorf("look for %s: %w", m.LedgerKey, err)
	case found:
		return d.found(ctx, m)
	}
	res, err := d.Ledger.Reclaim(ctx, m.LedgerKey, token, ClaimLease, d.now())
	if errors.Is(err, store.ErrNotUnknown) {
		return fmt.Errorf("resolve %s: %w", m.LedgerKey, err) // changed meanwhile: the retry sees how
	}
	return d.afterReclaim(ctx, token, m, res, err)
}

// afterReclaim sends m when the reclaim (res, err) succeeded.
func (d *Deliverer) afterReclaim(ctx context.Context, token string, m *notify.Message, res store.ClaimResult, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", err, errStop)
	case res == store.AlreadySent:
		d.count("duplicate")
		return nil
	case res == store.HeldByOther:
		return fmt.Errorf("%s: being sent by another worker", m.LedgerKey)
	}
	d.Logger.Info("outcome resolved: not found where it would have gone; sending it", "key", m.LedgerKey)
	return d.outcome(ctx, token, m, d.Sender.Send(ctx, m), time.Now().Add(ClaimLease))
}

// found records that m, of unknown outcome, was found delivered.
func (d *Deliverer) found(ctx context.Context, m *notify.Message) error {
	err := d.record(ctx, time.Now().Add(ClaimLease), "resolve sent", m.LedgerKey, func(ctx context.Context) error {
		return d.Ledger.ResolveSent(ctx, m.LedgerKey, d.now(), d.now())
	})
	if err != nil {
		return fmt.Errorf("resolve %s: %w", m.LedgerKey, err)
	}
	d.count("found")
	d.Logger.Info("outcome resolved: found where it went; not sent again", "key", m.LedgerKey, "channel", m.Channel)
	return nil
}

// leaveUnknown leaves m unknown because looking for it cannot tell
// (why), keeping it for an operator's resend.
func (d *Deliverer) leaveUnknown(ctx context.Context, m *notify.Message, why error) error {
	if err := d.Ledger.KeepMessage(ctx, m.LedgerKey, body(m)); err != nil {
		return fmt.Errorf("%w: %w", err, errStop)
	}
	d.count("unresolved")
	d.Logger.Warn("outcome unknown and cannot be resolved: left unknown, not sent again automatically",
		"key", m.LedgerKey, "rule", m.Rule, "account", m.AccountID, "reason", why, "resend", resendHint(m.LedgerKey))
	return nil
}
