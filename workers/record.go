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

// outcome records what the provider did with m, claimed by token (sendErr
// is its answer), before lease. A credential failure releases the claim
// (nothing went out) and pauses the channel; a permanent failure rejects
// the message; a send that may have gone through leaves it unknown; any
// other failure releases it for the task's retry.
func (d *Deliverer) outcome(ctx context.Context, token string, m *notify.Message, sendErr error, lease time.Time) error {
	key := m.LedgerKey
	if cred, ok := errors.AsType[*notify.CredentialsError](sendErr); ok {
		if err := d.record(ctx, lease, "release", key, func(ctx context.Context) error {
			return d.Ledger.Release(ctx, key, token, sendErr.Error())
		}); err != nil {
			return errors.Join(sendErr, err)
		}
		return d.pause(ctx, cred)
	}
	switch {
	case sendErr == nil:
		return d.sent(ctx, token, m, lease)
	case errors.Is(sendErr, notify.ErrPermanent):
		return d.reject(ctx, token, m, sendErr, lease)
	case errors.Is(sendErr, notify.ErrOutcomeUnknown):
		return d.markUnknown(ctx, token, m, sendErr, lease)
	}
	if err := d.record(ctx, lease, "release", key, func(ctx context.Context) error {
		return d.Ledger.Release(ctx, key, token, sendErr.Error())
	}); err != nil {
		return errors.Join(sendErr, err)
	}
	d.count("retry")
	return sendErr
}

// sent records that m went out (or was written, by an outbox). When the
// claim was lost meanwhile (its lease passed and another attempt took it
// over), it says so loudly: that attempt may send it again.
func (d *Deliverer) sent(ctx context.Context, token string, m *notify.Message, lease time.Time) error {
	outcome := d.delivered()
	err := d.record(ctx, lease, "mark "+outcome, m.LedgerKey, func(ctx context.Context) error {
		return d.markDelivered(ctx, outcome, m.LedgerKey, token, d.now())
	})
	switch {
	case errors.Is(err, store.ErrClaimLost):
		d.Logger.Error("sent, but its claim was taken over before it was recorded: it may go out twice",
			"key", m.LedgerKey, "rule", m.Rule, "account", m.AccountID, "err", err)
	case err != nil:
		// Still claimed: the task's retry finds it unknown, never sends it blindly.
		return err
	}
	d.count(outcome)
	d.logDelivered(m, outcome)
	return nil
}

// reject records that the provider refused m for good.
func (d *Deliverer) reject(ctx context.Context, token string, m *notify.Message, sendErr error, lease time.Time) error {
	if err := d.record(ctx, lease, "reject", m.LedgerKey, func(ctx context.Context) error {
		return d.Ledger.Reject(ctx, m.LedgerKey, token, sendErr.Error())
	}); err != nil {
		return errors.Join(sendErr, err)
	}
	d.count("rejected")
	d.Logger.Error("message rejected", "rule", m.Rule, "account", m.AccountID, "channel", m.Channel, "err", sendErr)
	return nil
}

// markUnknown records that m may have gone out (the call was lost
// midway), keeping it for a resend. A channel that can look for its
// messages (Slack) does so on the task's retry, once the post can no
// longer be in flight; an email is never sent again automatically.
func (d *Deliverer) markUnknown(ctx context.Context, token string, m *notify.Message, sendErr error, lease time.Time) error {
	if err := d.record(ctx, lease, "mark unknown", m.LedgerKey, func(ctx context.Context) error {
		return d.Ledger.MarkUnknown(ctx, m.LedgerKey, token, sendErr.Error(), body(m))
	}); err != nil {
		return errors.Join(sendErr, err)
	}
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

// unclaimFor bounds the retries of an unclaim: failing it leaves a
// message unknown (for an operator), never sends it twice, so it is not
// worth holding a worker for the claim's whole lease while Redis is down.
const unclaimFor = 30 * time.Second

// unclaim gives back the claim on m that token may have taken at now,
// when Claim failed (claimErr): Redis may have written it without
// answering, and nothing was sent, so the task's retry must send m rather
// than find it unknown. It is retried like the other ledger writes, for
// unclaimFor at most.
func (d *Deliverer) unclaim(ctx context.Context, token string, m *notify.Message, now, lease time.Time, claimErr error) {
	if until := time.Now().Add(unclaimFor); until.Before(lease) {
		lease = until
	}
	err := d.record(ctx, lease, "unclaim", m.LedgerKey, func(ctx context.Context) error {
		_, err := d.Ledger.Unclaim(ctx, m.LedgerKey, token, now, "claim unconfirmed, not sent: "+claimErr.Error())
		return err
	})
	if err != nil {
		d.Logger.Error("cannot give back a claim whose answer was lost; the message may be left unknown", "key", m.LedgerKey, "err", err)
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
