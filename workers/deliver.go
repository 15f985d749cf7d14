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
// the frequency cap checked again at send time. A send's record travels
// with the next message's claim, and a batch's recipients' trails are read
// at once.
type ledger interface {
	MarkAndClaim(ctx context.Context, token string, at time.Time, marks []store.Mark, es []store.Entry, lease time.Duration, now time.Time) ([]bool, []store.ClaimResult, error)
	UnclaimAll(ctx context.Context, keys []string, token string, claimedAt time.Time, reason string) (int, error)
	MarkAll(ctx context.Context, token string, at time.Time, marks []store.Mark) ([]bool, error)
	KeepMessage(ctx context.Context, key string, msg []byte) error
	Reclaim(ctx context.Context, key, token string, lease time.Duration, now time.Time) (store.ClaimResult, error)
	ResolveSent(ctx context.Context, key string, sentAt, now time.Time) error
	Abandon(ctx context.Context, e store.Entry, token, reason string, msg []byte, at time.Time) (string, error)
	Entry(ctx context.Context, key string) (store.Entry, error)
	HistoryByRecipients(ctx context.Context, recipients []string) ([][]store.Entry, error)
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
//
// The batch's suppressions and frequency caps are read at once, and each
// send is recorded in the same ledger step as the next message's claim
// (at the latest when Deliver returns): one round trip per message. Each
// message is still claimed just before its send, so a process dying
// mid-batch leaves unknown only the message it was sending.
func (d *Deliverer) Deliver(ctx context.Context, token string, msgs []notify.Message) error {
	if err := d.holdIfPaused(ctx); err != nil {
		return err
	}
	b := &delivery{d: d, token: token, total: len(msgs)}
	b.run(ctx, msgs)
	return b.result()
}

// delivery is one call of Deliver.
type delivery struct {
	d     *Deliverer
	token string
	total int
	done  int // messages gone through: sent, skipped or failed
	errs  []error
	stop  bool          // the rest of the batch is not attempted
	owed  []pendingMark // sends not recorded yet
}

func (b *delivery) run(ctx context.Context, msgs []notify.Message) {
	todo, err := b.sendable(ctx, msgs)
	if err != nil {
		b.done++
		b.fail(fmt.Errorf("%w: %w", err, errStop))
		return
	}
	for _, m := range todo {
		if b.stop {
			break
		}
		if ctx.Err() != nil {
			b.errs, b.stop = append(b.errs, context.Cause(ctx)), true
			break
		}
		b.done++
		b.deliver(ctx, m)
	}
	b.flush(ctx)
}

// fail counts err, the failure of one message (nil: none); after a pause
// or a ledger failure the rest of the batch is not attempted.
func (b *delivery) fail(err error) {
	if err == nil {
		return
	}
	b.errs = append(b.errs, err)
	if _, paused := errors.AsType[*PausedError](err); paused || errors.Is(err, errStop) {
		b.stop = true
	}
}

func (b *delivery) result() error {
	if len(b.errs) == 0 {
		return nil
	}
	err := fmt.Errorf("deliver %s: %d of %d failed", b.d.Channel, len(b.errs), b.total)
	if left := b.total - b.done; left > 0 {
		err = fmt.Errorf("%w, %d not attempted", err, left)
	}
	return fmt.Errorf("%w: %w", err, errors.Join(b.errs...))
}

// sendable returns the messages of msgs to claim: not a second copy of a
// ledger key (counted duplicate), not an email held back at send time.
func (b *delivery) sendable(ctx context.Context, msgs []notify.Message) ([]*notify.Message, error) {
	seen := make(map[string]bool, len(msgs))
	todo := make([]*notify.Message, 0, len(msgs))
	for i := range msgs {
		if m := &msgs[i]; seen[m.LedgerKey] {
			b.d.count("duplicate")
			b.done++
		} else {
			seen[m.LedgerKey] = true
			todo = append(todo, m)
		}
	}
	held, err := b.d.holdBack(ctx, todo)
	if err != nil {
		return nil, err
	}
	out := todo[:0]
	for _, m := range todo {
		reason, ok := held[m]
		if !ok {
			out = append(out, m)
			continue
		}
		b.done++
		b.d.count(reason)
		b.d.Logger.Info("held back at send time", "rule", m.Rule, "account", m.AccountID, "reason", reason)
	}
	return out, nil
}

// deliver claims m, recording the sends owed in the same step, and sends
// it when claimed; what the send did is owed to the ledger.
func (b *delivery) deliver(ctx context.Context, m *notify.Message) {
	d := b.d
	res, lease, ok := b.claim(ctx, m)
	if !ok {
		return
	}
	switch res {
	case store.AlreadySent:
		d.count("duplicate")
	case store.HeldByOther:
		b.fail(fmt.Errorf("%s: being sent by another worker", m.LedgerKey))
	case store.Unknown, store.NowUnknown:
		b.fail(d.unknown(ctx, b.token, m, res == store.NowUnknown))
	default:
		pm := d.markFor(m, d.Sender.Send(ctx, m), lease)
		b.owed = append(b.owed, pm)
		if pm.cred != nil {
			b.flush(ctx) // the channel pauses once the release is recorded
		}
	}
}

// claim claims m for the batch's token in one ledger step with the
// records owed, and returns when the claim's lease ends; ok is false when
// the step failed (the batch stops, the records are written on their own,
// retried as record does).
func (b *delivery) claim(ctx context.Context, m *notify.Message) (res store.ClaimResult, lease time.Time, ok bool) {
	d, owed := b.d, b.owed
	b.owed = nil
	marks := make([]store.Mark, len(owed))
	for i, pm := range owed {
		marks[i] = pm.mark
	}
	lease, now := time.Now().Add(ClaimLease), d.now()
	recorded, claims, err := d.Ledger.MarkAndClaim(ctx, b.token, now, marks, []store.Entry{entryOf(m)}, ClaimLease, now)
	if err != nil {
		if store.MaybeDone(err) {
			d.unclaim(ctx, b.token, []*notify.Message{m}, now, lease, err)
		}
		if len(owed) > 0 {
			for _, err := range d.recordAll(ctx, b.token, owed) {
				b.fail(err)
			}
		}
		b.fail(fmt.Errorf("%w: %w", err, errStop))
		return 0, lease, false
	}
	for i, pm := range owed {
		b.fail(d.recorded(ctx, pm, lostIfNot(recorded[i], pm)))
	}
	return claims[0], lease, true
}

// lostIfNot is store.ErrClaimLost about pm unless its mark was recorded.
func lostIfNot(recorded bool, pm pendingMark) error {
	if recorded {
		return nil
	}
	return fmt.Errorf("store: mark %s %s: %w", pm.mark.Status, pm.m.LedgerKey, store.ErrClaimLost)
}

// flush records the sends owed to the ledger.
func (b *delivery) flush(ctx context.Context) {
	if len(b.owed) == 0 {
		return
	}
	owed := b.owed
	b.owed = nil
	for _, err := range b.d.recordAll(ctx, b.token, owed) {
		b.fail(err)
	}
}

// holdBack returns, of msgs, the emails that must not go now and why:
// their recipient unsubscribed since they were planned, or reached the
// frequency cap (counting the emails of msgs before them). Suppressions
// and recipients' trails are read for the whole batch at once.
func (d *Deliverer) holdBack(ctx context.Context, msgs []*notify.Message) (map[*notify.Message]string, error) {
	var addrs []string
	for _, m := range msgs {
		if m.Channel == notify.Email {
			addrs = append(addrs, strings.ToLower(m.To))
		}
	}
	held := map[*notify.Message]string{}
	if len(addrs) == 0 {
		return held, nil
	}
	suppressed, err := suppressedOf(ctx, d.Suppressions, addrs)
	if err != nil {
		return nil, err
	}
	var trails fetchedHistory
	if d.Cap.Max > 0 {
		if trails, err = trailsOf(ctx, d.Ledger, addrs); err != nil {
			return nil, err
		}
	}
	claimed := map[string]int{} // emails of this batch to each address, before the one checked
	for _, m := range msgs {
		addr := strings.ToLower(m.To)
		if m.Channel != notify.Email {
			continue
		}
		if suppressed[addr] {
			held[m] = string(SkipSuppressed)
			continue
		}
		if d.Cap.Max <= 0 {
			continue
		}
		n, _ := recentEmails(ctx, trails, addr, d.now().Add(-d.Cap.Per), m.LedgerKey)
		if n+claimed[addr] >= d.Cap.Max {
			held[m] = string(SkipCapped)
			continue
		}
		claimed[addr]++
	}
	return held, nil
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
