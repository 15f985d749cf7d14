package workers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// What Resend did.
const (
	Resent        = "sent"          // sent now, and recorded
	ResentWritten = "written"       // written to the outbox now, and recorded
	ResendFound   = "found"         // already delivered (found in Slack): recorded sent, not sent again
	ResendSent    = "already sent"  // the entry was sent meanwhile
	ResendHeld    = "being sent"    // another resend, or a task, holds it now
	ResendBlocked = "suppressed"    // the address is on the suppression list: not sent
	ResendLeft    = "still unknown" // the send's outcome is unknown again
	ResendRefused = "rejected"      // the provider refused it for good
)

// Resend sends m, whose ledger entry's outcome is unknown, on an operator's
// explicit request, under token (one per resend), and returns what it did
// (Resent, ResendFound, …). It is sent once: concurrent resends of one
// entry have one winner, and a sent entry is never resent. An email to an
// address suppressed since is not sent; a Slack message found where it
// would have gone is recorded sent instead. A failure leaves the entry
// unknown, to try again.
func (d *Deliverer) Resend(ctx context.Context, m *notify.Message, token string) (string, error) {
	if err := d.holdIfPaused(ctx); err != nil {
		return "", err
	}
	e, err := d.Ledger.Entry(ctx, m.LedgerKey)
	switch {
	case err != nil:
		return "", err
	case store.Delivered(e.Status):
		return ResendSent, nil
	case e.Status == store.StatusClaimed && !e.OutcomeUnknown(d.now()):
		return ResendHeld, nil
	case !e.OutcomeUnknown(d.now()):
		return "", fmt.Errorf("resend %s: %s: %w", m.LedgerKey, e.Status, store.ErrNotUnknown)
	}
	if m.Channel == notify.Email {
		if _, ok, err := d.Suppressions.Suppressed(ctx, strings.ToLower(m.To)); err != nil || ok {
			return ResendBlocked, err
		}
	}
	if f, ok := d.Sender.(finder); ok {
		if found, err := d.lookBeforeResend(ctx, m, e.ClaimedAt, f); err != nil || found {
			return ResendFound, err
		}
	}
	res, err := d.Ledger.Reclaim(ctx, m.LedgerKey, token, ClaimLease, d.now())
	switch {
	case err != nil:
		return "", err
	case res == store.AlreadySent:
		return ResendSent, nil
	case res == store.HeldByOther:
		return ResendHeld, nil
	}
	return d.resendOutcome(ctx, token, m, d.Sender.Send(ctx, m), time.Now().Add(ClaimLease))
}

// lookBeforeResend looks for m, claimed at claimed, where it would have
// gone and records it sent when it is there. When looking cannot tell, the operator's resend
// goes ahead.
func (d *Deliverer) lookBeforeResend(ctx context.Context, m *notify.Message, claimed time.Time, f finder) (bool, error) {
	found, err := f.Find(ctx, m, claimed.Add(-findSkew))
	if errors.Is(err, notify.ErrPermanent) {
		d.Logger.Warn("cannot tell whether it went out; resending as asked", "key", m.LedgerKey, "reason", err)
		return false, nil
	}
	if err != nil || !found {
		return false, err
	}
	return true, d.Ledger.ResolveSent(ctx, m.LedgerKey, d.now(), d.now())
}

// resendOutcome records what the provider did with a resend of m (sendErr
// is its answer). Whatever did not go out for sure stays unknown, so that
// it can be resent again; a credential failure also pauses the channel.
func (d *Deliverer) resendOutcome(ctx context.Context, token string, m *notify.Message, sendErr error, lease time.Time) (string, error) {
	switch {
	case sendErr == nil:
		if err := d.sent(ctx, token, m, lease); err != nil {
			return "", err
		}
		if d.delivered() == store.StatusWritten {
			return ResentWritten, nil
		}
		return Resent, nil
	case errors.Is(sendErr, notify.ErrPermanent):
		return ResendRefused, d.reject(ctx, token, m, sendErr, lease)
	}
	err := d.record(ctx, lease, "mark unknown", m.LedgerKey, func(ctx context.Context) error {
		return d.markOne(ctx, token, store.Mark{Key: m.LedgerKey, Status: store.StatusUnknown, Reason: "resend failed: " + sendErr.Error(), Msg: body(m)})
	})
	if cred, ok := errors.AsType[*notify.CredentialsError](sendErr); ok {
		err = errors.Join(err, d.pause(ctx, cred))
	}
	if errors.Is(sendErr, notify.ErrOutcomeUnknown) && err == nil {
		return ResendLeft, nil
	}
	return ResendLeft, errors.Join(fmt.Errorf("resend %s: %w", m.LedgerKey, sendErr), err)
}
