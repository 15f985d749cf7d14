package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// ErrNotKept reports that the rendered message of an entry of unknown
// outcome is kept neither in the ledger nor in its delivery task.
var ErrNotKept = errors.New("the message is not kept")

// Resend sends again, on an operator's request, the message under the
// ledger key key, whose outcome is unknown, and returns what it did
// (workers.Resent, workers.ResentWritten, workers.ResendFound, …). It is sent at most once,
// however many resends run; a sent entry is never resent.
func (a *App) Resend(ctx context.Context, key string) (string, error) {
	kept, err := a.Store.Ledger.Message(ctx, key) // before the entry: sending drops it
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	e, err := a.Store.Ledger.Entry(ctx, key)
	if err != nil {
		return "", err
	}
	d := a.deliverer(notify.Channel(e.Channel))
	switch {
	case d == nil || d.Sender == nil:
		return "", fmt.Errorf("resend %s: no sender configured for channel %q", key, e.Channel)
	case store.Delivered(e.Status):
		return workers.ResendSent, nil
	case kept == nil && e.Status == store.StatusClaimed && !e.OutcomeUnknown(time.Now()):
		return workers.ResendHeld, nil
	}
	m, err := a.message(e, kept)
	if err != nil {
		return "", err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return d.Resend(ctx, m, "resend:"+hex.EncodeToString(b[:]))
}

// UnknownEntries returns the ledger entries of the account whose outcome
// is unknown. The account is given as a user types it: source:id, or the
// CRM's id, tried under each source.
func (a *App) UnknownEntries(ctx context.Context, account string) ([]store.Entry, error) {
	ids := []string{account}
	for _, s := range a.Config.Sources {
		ids = append(ids, s.Name+":"+account)
	}
	var out []store.Entry
	for _, id := range ids {
		all, err := a.Store.Ledger.History(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, e := range all {
			if e.Status == store.StatusUnknown {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// deliverer is the deliverer of channel ch, nil for an unknown channel.
func (a *App) deliverer(ch notify.Channel) *workers.Deliverer {
	switch ch {
	case notify.Email:
		return a.Handlers.Email
	case notify.Slack:
		return a.Handlers.Slack
	}
	return nil
}

// message is the rendered message of e: kept (in the ledger once its
// outcome became unknown), or else still in its delivery task, which asynq
// keeps (archived) after its last retry.
func (a *App) message(e store.Entry, kept []byte) (*notify.Message, error) {
	if kept == nil {
		return a.taskMessage(e)
	}
	var m notify.Message
	if err := json.Unmarshal(kept, &m); err != nil {
		return nil, fmt.Errorf("resend %s: decode the kept message: %w", e.Key, err)
	}
	return &m, nil
}

// taskMessage finds e's message in the delivery task that claimed it.
func (a *App) taskMessage(e store.Entry) (*notify.Message, error) {
	queue := a.ns().Queue(workers.ChannelQueue(notify.Channel(e.Channel)))
	info, err := a.inspector.GetTaskInfo(queue, e.Token)
	if err != nil {
		return nil, fmt.Errorf("resend %s: %w: its delivery task %s is gone (%v)", e.Key, ErrNotKept, e.Token, err)
	}
	var p workers.DeliverPayload
	if err := json.Unmarshal(info.Payload, &p); err != nil {
		return nil, fmt.Errorf("resend %s: decode task %s: %w", e.Key, e.Token, err)
	}
	for i := range p.Messages {
		if p.Messages[i].LedgerKey == e.Key {
			return &p.Messages[i], nil
		}
	}
	return nil, fmt.Errorf("resend %s: %w: not in its delivery task %s", e.Key, ErrNotKept, e.Token)
}
