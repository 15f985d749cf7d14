package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// Ledger writes after a provider call: each attempt is bounded by
// recordTimeout, and failed attempts are retried with a backoff from
// defaultRecordWait up to maxRecordWait until the claim's lease ends.
const (
	recordTimeout     = 5 * time.Second
	defaultRecordWait = 100 * time.Millisecond
	maxRecordWait     = 5 * time.Second
)

// pendingMark is what a send did, owed to the ledger until it is
// recorded: the mark to write, the provider's answer, and the end of the
// claim's lease, before which it must be written.
type pendingMark struct {
	m       *notify.Message
	mark    store.Mark
	sendErr error
	cred    *notify.CredentialsError // the provider refused the credentials: the channel pauses
	lease   time.Time
}

// markFor is the record owed for m after the provider answered sendErr.
// A credential failure releases the claim (nothing went out) and pauses
// the channel; a permanent failure rejects the message; a send that may
// have gone through leaves it unknown, keeping it for a resend; any other
// failure releases it for the task's retry.
func (d *Deliverer) markFor(m *notify.Message, sendErr error, lease time.Time) pendingMark {
	pm := pendingMark{m: m, sendErr: sendErr, lease: lease, mark: store.Mark{Key: m.LedgerKey, Status: store.StatusFailed}}
	if sendErr != nil {
		pm.mark.Reason = sendErr.Error()
	}
	if cred, ok := errors.AsType[*notify.CredentialsError](sendErr); ok {
		pm.cred = cred
		return pm
	}
	switch {
	case sendErr == nil:
		pm.mark.Status = d.delivered()
	case errors.Is(sendErr, notify.ErrPermanent):
		pm.mark.Status = store.StatusRejected
	case errors.Is(sendErr, notify.ErrOutcomeUnknown):
		pm.mark.Status, pm.mark.Msg = store.StatusUnknown, body(m)
	}
	return pm
}

// outcome records what the provider did with m, claimed by token (sendErr
// is its answer), before lease (see markFor).
func (d *Deliverer) outcome(ctx context.Context, token string, m *notify.Message, sendErr error, lease time.Time) error {
	return d.recordAll(ctx, token, []pendingMark{d.markFor(m, sendErr, lease)})[0]
}

// sent records that m went out (or was written, by an outbox).
func (d *Deliverer) sent(ctx context.Context, token string, m *notify.Message, lease time.Time) error {
	return d.outcome(ctx, token, m, nil, lease)
}

// reject records that the provider refused m for good (sendErr wraps
// notify.ErrPermanent).
func (d *Deliverer) reject(ctx context.Context, token string, m *notify.Message, sendErr error, lease time.Time) error {
	return d.outcome(ctx, token, m, sendErr, lease)
}

// recordAll writes the marks of pms, sends of token, in one ledger step
// retried as record does until the earliest of their leases, and returns
// what became of each (nil: recorded; see recorded).
func (d *Deliverer) recordAll(ctx context.Context, token string, pms []pendingMark) []error {
	marks := make([]store.Mark, len(pms))
	lease := pms[0].lease
	for i, pm := range pms {
		marks[i] = pm.mark
		if pm.lease.Before(lease) {
			lease = pm.lease
		}
	}
	what, key := "mark "+pms[0].mark.Status, pms[0].m.LedgerKey
	if len(pms) > 1 {
		what, key = "mark", fmt.Sprintf("%s and %d more", key, len(pms)-1)
	}
	var ok []bool
	err := d.record(ctx, lease, what, key, func(ctx context.Context) error {
		var err error
		ok, err = d.Ledger.MarkAll(ctx, token, d.now(), marks)
		return err
	})
	errs := make([]error, len(pms))
	for i, pm := range pms {
		werr := err
		if err == nil {
			werr = lostIfNot(ok[i], pm)
		}
		errs[i] = d.recorded(ctx, pm, werr)
	}
	return errs
}

// markOne writes mark, of a message token claimed: store.ErrClaimLost
// when token no longer holds the claim.
func (d *Deliverer) markOne(ctx context.Context, token string, mark store.Mark) error {
	ok, err := d.Ledger.MarkAll(ctx, token, d.now(), []store.Mark{mark})
	if err != nil {
		return err
	}
	if !ok[0] {
		return fmt.Errorf("store: mark %s %s: %w", mark.Status, mark.Key, store.ErrClaimLost)
	}
	return nil
}

// recorded counts and logs what became of pm once its mark was written
// (werr: why it was not), and returns the message's error. A delivery
// whose claim was lost meanwhile (its lease passed and another attempt
// took it over) is said loudly: that attempt may send it again. One not
// recorded stays claimed: the task's retry finds it unknown, never sends
// it blindly.
func (d *Deliverer) recorded(ctx context.Context, pm pendingMark, werr error) error {
	m := pm.m
	switch st := pm.mark.Status; {
	case store.Delivered(st):
		switch {
		case errors.Is(werr, store.ErrClaimLost):
			d.Logger.Error("sent, but its claim was taken over before it was recorded: it may go out twice",
				"key", m.LedgerKey, "rule", m.Rule, "account", m.AccountID, "err", werr)
		case werr != nil:
			return werr
		}
		d.count(st)
		d.logDelivered(m, st)
		return nil
	case werr != nil:
		return errors.Join(pm.sendErr, werr)
	case pm.cred != nil:
		return d.pause(ctx, pm.cred)
	case st == store.StatusRejected:
		d.count("rejected")
		d.Logger.Error("message rejected", "rule", m.Rule, "account", m.AccountID, "channel", m.Channel, "err", pm.sendErr)
		return nil
	case st == store.StatusUnknown:
		return d.leftUnknown(m, pm.sendErr)
	}
	d.count("retry")
	return pm.sendErr
}

// leftUnknown counts and logs m, recorded unknown after sendErr (the call
// was lost midway). A channel that can look for its messages (Slack) does
// so on the task's retry, once the post can no longer be in flight; an
// email is never sent again automatically.
func (d *Deliverer) leftUnknown(m *notify.Message, sendErr error) error {
	d.count("unknown")
	if _, ok := d.Sender.(finder); ok {
		d.Logger.Warn("outcome unknown: the post will be looked for in Slack before it is sent again",
			"key", m.LedgerKey, "err", sendErr)
		return &RetryLater{Reason: "look for " + m.LedgerKey + " once its post cannot be in flight", After: d.inFlight()}
	}
	d.Logger.Warn("outcome unknown: not sent again automatically", "key", m.LedgerKey, "rule", m.Rule,
		"account", m.AccountID, "err", sendErr, "resend", resendHint(m.LedgerKey))
	return nil
}

// record runs write, a ledger write after a provider call, until it
// succeeds, the claim turns out to be lost, or lease passes: a Redis
// outage shorter than the lease loses no record. Neither the task's
// cancellation (a shutdown: asynq requeues the task under the same id) nor
// asynq giving up on the task stops it, or an unrecorded send would be
// sent again.
func (d *Deliverer) record(ctx context.Context, lease time.Time, what, key string, write func(context.Context) error) error {
	ctx = context.WithoutCancel(ctx)
	wait := d.recordWait
	if wait <= 0 {
		wait = defaultRecordWait
	}
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithTimeout(ctx, recordTimeout)
		err := write(wctx)
		cancel()
		if err == nil || errors.Is(err, store.ErrClaimLost) || errors.Is(err, store.ErrNotUnknown) {
			return err
		}
		if time.Now().Add(wait).After(lease) {
			return fmt.Errorf("%s %s: gave up when its claim's lease ended, after %d attempts: %w", what, key, attempt, err)
		}
		if attempt == 1 {
			d.Logger.Warn("ledger write failed; retrying until it succeeds or the claim's lease ends",
				"op", what, "key", key, "lease_ends", lease.UTC().Format(time.RFC3339), "err", err)
		}
		time.Sleep(wait)
		wait = min(2*wait, maxRecordWait)
	}
}

// unclaimFor bounds the retries of an unclaim (see giveBack).
const unclaimFor = 30 * time.Second

// unclaim gives back the claims on msgs that token may have taken at now,
// when ClaimAll failed (claimErr): Redis may have written them without
// answering, and nothing was sent, so the task's retry must send them
// rather than find them unknown. It is retried like the other ledger
// writes, for unclaimFor at most.
func (d *Deliverer) unclaim(ctx context.Context, token string, msgs []*notify.Message, now, lease time.Time, claimErr error) {
	keys := make([]string, len(msgs))
	for i, m := range msgs {
		keys[i] = m.LedgerKey
	}
	d.giveBack(ctx, lease, "unclaim", keys, func(ctx context.Context) error {
		_, err := d.Ledger.UnclaimAll(ctx, keys, token, now, "claim unconfirmed, not sent: "+claimErr.Error())
		return err
	})
}

// giveBack runs write, which gives back claims on keys, as record does
// until lease or unclaimFor from now, whichever comes first: failing it
// leaves messages unknown (for an operator), never sends them twice, so
// it is not worth holding a worker for the claim's whole lease while
// Redis is down.
func (d *Deliverer) giveBack(ctx context.Context, lease time.Time, what string, keys []string, write func(context.Context) error) {
	if until := time.Now().Add(unclaimFor); until.Before(lease) {
		lease = until
	}
	key := keys[0]
	if len(keys) > 1 {
		key = fmt.Sprintf("%s and %d more", key, len(keys)-1)
	}
	if err := d.record(ctx, lease, what, key, write); err != nil {
		d.Logger.Error("cannot give back a claim whose answer was lost or that was not used; the message may be left unknown",
			"key", key, "err", err)
	}
}

// body is m as kept in the ledger for a resend.
func body(m *notify.Message) []byte {
	b, _ := json.Marshal(m) // plain data: always encodes
	return b
}

// resendHint is the command that resends the message under key.
func resendHint(key string) string {
	return fmt.Sprintf("crmsync resend -c FILE --key '%s'", key)
}
