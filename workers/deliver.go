package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// ledger is what delivery needs of the store: the claim-before-send ledger
// and the suppression list, checked again at send time.
type ledger interface {
	Claim(ctx context.Context, e store.Entry, token string, lease time.Duration, now time.Time) (store.ClaimResult, error)
	MarkSent(ctx context.Context, key, token string, at time.Time) error
	Release(ctx context.Context, key, token, reason string) error
	Reject(ctx context.Context, key, token, reason string) error
	MarkDead(ctx context.Context, e store.Entry, reason string, at time.Time) (bool, error)
	Suppressed(ctx context.Context, email string) (reason string, ok bool, err error)
	HistoryByRecipient(ctx context.Context, recipient string) ([]store.Entry, error)
}

// ClaimLease is how long a claim protects a message being sent; a worker
// that died mid-send loses its claim after it, and a retry sends.
const ClaimLease = 10 * time.Minute

// recordTimeout bounds the ledger write after a provider call.
const recordTimeout = 5 * time.Second

// Deliverer sends batches of messages of one channel.
type Deliverer struct {
	Channel notify.Channel
	Sender  notify.Sender
	Ledger  ledger
	Cap     FrequencyCap // checked again at send time: passes may overlap
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time // defaults to time.Now
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

// Deliver sends each message once: it is claimed in the ledger under token
// before the provider is called and marked sent after. A message already
// sent is skipped; a failed one is released so the task's retry sends it;
// a permanent failure is recorded and not retried.
func (d *Deliverer) Deliver(ctx context.Context, token string, msgs []notify.Message) error {
	var errs []error
	for i := range msgs {
		if err := d.deliverOne(ctx, token, &msgs[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("deliver %s: %d of %d failed: %w", d.Channel, len(errs), len(msgs), errors.Join(errs...))
	}
	return nil
}

func (d *Deliverer) deliverOne(ctx context.Context, token string, m *notify.Message) error {
	if m.Channel == notify.Email {
		reason, err := d.holdBack(ctx, m)
		if err != nil {
			return err
		}
		if reason != "" {
			d.count(reason)
			d.Logger.Info("held back at send time", "rule", m.Rule, "account", m.AccountID, "reason", reason)
			return nil
		}
	}
	res, err := d.Ledger.Claim(ctx, entryOf(m), token, ClaimLease, d.now())
	if err != nil {
		return err
	}
	switch res {
	case store.AlreadySent:
		d.count("duplicate")
		return nil
	case store.HeldByOther:
		return fmt.Errorf("%s: being sent by another worker", m.LedgerKey)
	}
	sendErr := d.Sender.Send(ctx, m)
	// What the provider did must reach the ledger even when the task is
	// being cancelled (a shutdown): asynq re-queues the task under the same
	// id, which is also the claim token, so an unrecorded send would be
	// sent again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if sendErr != nil {
		return d.failed(rctx, token, m, sendErr)
	}
	if err := d.Ledger.MarkSent(rctx, m.LedgerKey, token, d.now()); err != nil {
		return err
	}
	d.count("sent")
	return nil
}

// holdBack returns why email m must not go now, or "": its recipient
// unsubscribed since it was planned, or reached the frequency cap.
func (d *Deliverer) holdBack(ctx context.Context, m *notify.Message) (string, error) {
	addr := strings.ToLower(m.To)
	if _, ok, err := d.Ledger.Suppressed(ctx, addr); err != nil || ok {
		return SkipSuppressed, err
	}
	if d.Cap.Max <= 0 {
		return "", nil
	}
	n, err := recentEmails(ctx, d.Ledger, addr, d.now().Add(-d.Cap.Per), m.LedgerKey)
	if err != nil || n < d.Cap.Max {
		return "", err
	}
	return SkipCapped, nil
}

// failed records a failed send: rejected for good when the provider said
// so (never resent, even by a retry of the batch), else released for the
// task's retry.
func (d *Deliverer) failed(ctx context.Context, token string, m *notify.Message, sendErr error) error {
	if errors.Is(sendErr, notify.ErrPermanent) {
		if err := d.Ledger.Reject(ctx, m.LedgerKey, token, sendErr.Error()); err != nil {
			return errors.Join(sendErr, err)
		}
		d.count("rejected")
		d.Logger.Error("message rejected", "rule", m.Rule, "account", m.AccountID, "channel", m.Channel, "err", sendErr)
		return nil
	}
	if err := d.Ledger.Release(ctx, m.LedgerKey, token, sendErr.Error()); err != nil {
		return errors.Join(sendErr, err)
	}
	d.count("retry")
	return sendErr
}

// DeadLetter records every message of a delivery task whose retries ran
// out and that was not sent: a dead-letter entry in the ledger (shown by
// crmsync history, never resent) and the dead count.
func (d *Deliverer) DeadLetter(ctx context.Context, t *asynq.Task, taskErr error) {
	var p DeliverPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		d.Logger.Error("dead letter: undecodable payload", "type", t.Type(), "err", err)
		return
	}
	for i := range p.Messages {
		ok, err := d.Ledger.MarkDead(ctx, entryOf(&p.Messages[i]), taskErr.Error(), d.now())
		switch {
		case err != nil:
			d.Logger.Error("dead letter not recorded", "key", p.Messages[i].LedgerKey, "err", err)
		case ok:
			d.count("dead")
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
