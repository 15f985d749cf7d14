package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// ledger is the claim-before-send ledger, and each recipient's trail for
// the frequency cap checked again at send time.
type ledger interface {
	Claim(ctx context.Context, e store.Entry, token string, lease time.Duration, now time.Time) (store.ClaimResult, error)
	Unclaim(ctx context.Context, key, token string, claimedAt time.Time, reason string) (bool, error)
	MarkSent(ctx context.Context, key, token string, at time.Time) error
	MarkWritten(ctx context.Context, key, token string, at time.Time) error
	Release(ctx context.Context, key, token, reason string) error
	Reject(ctx context.Context, key, token, reason string) error
	MarkUnknown(ctx context.Context, key, token, reason string, msg []byte) error
	KeepMessage(ctx context.Context, key string, msg []byte) error
	Reclaim(ctx context.Context, key, token string, lease time.Duration, now time.Time) (store.ClaimResult, error)
	ResolveSent(ctx context.Context, key string, sentAt, now time.Time) error
	Abandon(ctx context.Context, e store.Entry, token, reason string, msg []byte, at time.Time) (string, error)
	Entry(ctx context.Context, key string) (store.Entry, error)
	HistoryByRecipient(ctx context.Context, recipient string) ([]store.Entry, error)
}

// writer is a sender that writes messages where people read them later
// (notify/outbox) instead of sending them: what it accepts is recorded,
// counted and logged as written, not sent.
type writer interface {
	Writes() bool
}

// delivered is what became of a message the sender accepted:
// store.StatusWritten when it only writes messages, else store.StatusSent.
func (d *Deliverer) delivered() string {
	if w, ok := d.Sender.(writer); ok && w.Writes() {
		return store.StatusWritten
	}
	return store.StatusSent
}

// markDelivered records in the ledger that the message under key, claimed
// by token, was delivered (outcome: see delivered) at.
func (d *Deliverer) markDelivered(ctx context.Context, outcome, key, token string, at time.Time) error {
	if outcome == store.StatusWritten {
		return d.Ledger.MarkWritten(ctx, key, token, at)
	}
	return d.Ledger.MarkSent(ctx, key, token, at)
}

// logDelivered logs a message delivered with outcome.
func (d *Deliverer) logDelivered(m *notify.Message, outcome string) {
	msg := "message sent"
	if outcome == store.StatusWritten {
		msg = "message written to outbox"
	}
	d.Logger.Info(msg, "rule", m.Rule, "account", m.AccountID, "key", m.LedgerKey)
}

// ClaimLease is how long a claim protects a message being sent. The
// outcome of a send is recorded within it (a Redis outage shorter than the
// lease loses no record); a claim found after it, never recorded, makes
// the message's outcome unknown.
const ClaimLease = 10 * time.Minute

// Deliverer sends batches of messages of one channel.
type Deliverer struct {
	Channel notify.Channel
	Sender  notify.Sender
	Ledger  ledger
	// Suppressions are checked again at send time: an address may have
	// unsubscribed since the message was planned.
	Suppressions suppressionList
	Pauses       pauses         // the channel's pause, shared by every process; nil: never paused
	Queue        queueInspector // counts the messages waiting when the channel pauses; nil: not counted
	NS           Namespace      // the deployment, whose queue of Channel Queue inspects
	Cap          FrequencyCap   // checked again at send time: passes may overlap
	Metrics      *Metrics
	Logger       *slog.Logger
	Now          func() time.Time // defaults to time.Now

	// PauseRetry is how soon a task of a paused channel comes back
	// (default DefaultPauseRetry); ProbeEvery how often the credentials of
	// a paused channel are checked, by one process (DefaultProbeEvery).
	PauseRetry time.Duration
	ProbeEvery time.Duration
	// InFlight is how long after its claim a send may still be on its way
	// (default DefaultInFlight): an unknown outcome is not looked for
	// before.
	InFlight time.Duration

	recordWait time.Duration // first wait between ledger write attempts; tests shorten it
	probed     atomic.Bool   // this process probed the channel's credentials once
}

// ProcessTask implements asynq.Handler for TypeDeliverEmail and
// TypeDeliverSlack.
func (d *Deliverer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p DeliverPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	token, ok := asynq.GetTaskID(ctx)
	if !ok {
		return fmt.Errorf("deliver: no task id in context: %w", asynq.SkipRetry)
	}
	return d.Deliver(ctx, token, p.Messages)
}

// errStop marks an error after which the rest of a batch is not
// attempted: the ledger cannot be reached, so no claim can be made.
var errStop = errors.New("batch stopped")

// Deliver sends each message once: it is claimed in the ledger under token
// before the provider is called, and what the provider did is recorded
// after. A message already sent is skipped; one whose earlier attempt left
// no record is not sent blindly (see unknown); a failed one is released so
// the task's retry sends it; a permanent failure is recorded and not
// retried. While the channel is paused (its credentials were refused),
// nothing is sent and a *PausedError says when to come back; the rest of a
// batch is not attempted once the channel pauses or the ledger fails.
func (d *Deliverer) Deliver(ctx context.Context, token string, msgs []notify.Message) error {
	if err := d.holdIfPaused(ctx); err != nil {
		return err
	}
	var errs []error
	done := 0
	for i := range msgs {
		if ctx.Err() != nil {
			errs = append(errs, context.Cause(ctx))
			break
		}
		done++
		err := d.deliverOne(ctx, token, &msgs[i])
		if err == nil {
			continue
		}
		errs = append(errs, err)
		if _, paused := errors.AsType[*PausedError](err); paused || errors.Is(err, errStop) {
			break
		}
	}
	if len(errs) == 0 {
		return nil
	}
	err := fmt.Errorf("deliver %s: %d of %d failed", d.Channel, len(errs), len(msgs))
	if left := len(msgs) - done; left > 0 {
		err = fmt.Errorf("%w, %d not attempted", err, left)
	}
	return fmt.Errorf("%w: %w", err, errors.Join(errs...))
}

func (d *Deliverer) deliverOne(ctx context.Context, token string, m *notify.Message) error {
	if m.Channel == notify.Email {
		reason, err := d.holdBack(ctx, m)
		if err != nil {
			return fmt.Errorf("%w: %w", err, errStop)
		}
		if reason != "" {
			d.count(reason)
			d.Logger.Info("held back at send time", "rule", m.Rule, "account", m.AccountID, "reason", reason)
			return nil
		}
	}
	lease, now := time.Now().Add(ClaimLease), d.now()
	res, err := d.Ledger.Claim(ctx, entryOf(m), token, ClaimLease, now)
	if err != nil {
		if store.MaybeDone(err) {
			d.unclaim(ctx, token, m, now, lease, err)
		}
		return fmt.Errorf("%w: %w", err, errStop)
	}
	switch res {
	case store.AlreadySent:
		d.count("duplicate")
		return nil
	case store.HeldByOther:
		return fmt.Errorf("%s: being sent by another worker", m.LedgerKey)
	case store.Unknown, store.NowUnknown:
		return d.unknown(ctx, token, m, res == store.NowUnknown)
	}
	return d.send(ctx, token, m, lease)
}

// send calls the provider for m, claimed by token, and records what it
// did before lease.
func (d *Deliverer) send(ctx context.Context, token string, m *notify.Message, lease time.Time) error {
	return d.outcome(ctx, token, m, d.Sender.Send(ctx, m), lease)
}

// holdBack returns why email m must not go now, or "": its recipient
// unsubscribed since it was planned, or reached the frequency cap.
func (d *Deliverer) holdBack(ctx context.Context, m *notify.Message) (string, error) {
	addr := strings.ToLower(m.To)
	if _, ok, err := d.Suppressions.Suppressed(ctx, addr); err != nil || ok {
		return string(SkipSuppressed), err
	}
	if d.Cap.Max <= 0 {
		return "", nil
	}
	n, err := recentEmails(ctx, d.Ledger, addr, d.now().Add(-d.Cap.Per), m.LedgerKey)
	if err != nil || n < d.Cap.Max {
		return "", err
	}
	return string(SkipCapped), nil
}

// DeadLetter records every message of a delivery task whose retries ran
// out and that was not sent: a dead-letter entry in the ledger (shown by
// crmsync history, never resent) and the dead count. A message the task
// claimed and never recorded may have gone out: it becomes unknown
// instead, its rendered message kept for an operator's resend.
func (d *Deliverer) DeadLetter(ctx context.Context, t *asynq.Task, taskErr error) {
	var p DeliverPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		d.Logger.Error("dead letter: undecodable payload", "type", t.Type(), "err", err)
		return
	}
	token, _ := asynq.GetTaskID(ctx)
	d.deadLetter(ctx, token, p, taskErr)
}

// deadLetter records the unsent messages of p, whose task token gave up
// with taskErr.
func (d *Deliverer) deadLetter(ctx context.Context, token string, p DeliverPayload, taskErr error) {
	for i := range p.Messages {
		m := &p.Messages[i]
		st, err := d.Ledger.Abandon(ctx, entryOf(m), token, taskErr.Error(), body(m), d.now())
		switch {
		case err != nil:
			d.Logger.Error("dead letter not recorded", "key", m.LedgerKey, "err", err)
		case st == store.StatusDead:
			d.count("dead")
		case st == store.StatusUnknown:
			d.count("unknown")
			d.Logger.Warn("outcome unknown: the task gave up after claiming the message; it is not sent again automatically",
				"key", m.LedgerKey, "rule", m.Rule, "account", m.AccountID, "resend", resendHint(m.LedgerKey))
		}
	}
}

func (d *Deliverer) count(outcome string) {
	d.Metrics.Messages.WithLabelValues(string(d.Channel), outcome).Inc()
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func entryOf(m *notify.Message) store.Entry {
	return store.Entry{
		Key: m.LedgerKey, Rule: m.Rule, AccountID: m.AccountID,
		Recipient: strings.ToLower(m.To), Channel: string(m.Channel), Pass: m.Pass,
		Expression: m.Expression, Features: m.Features,
	}
}
