package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/workers"
)

// ChannelHealth is one delivery channel's state in /healthz detail.
type ChannelHealth struct {
	Channel string    `json:"channel"`
	Paused  bool      `json:"paused"`
	Reason  string    `json:"reason,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Queued  int       `json:"queued"` // messages' tasks waiting: pending, scheduled and retrying
}

// channelHealth returns the state of each channel this deployment
// delivers to (email, then Slack): whether it is paused because its
// credentials were refused, why and since when, and how many delivery
// tasks wait in its queue.
func (a *App) channelHealth(ctx context.Context) ([]ChannelHealth, error) {
	out := []ChannelHealth{}
	for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
		if a.senders[ch] == nil {
			continue
		}
		h := ChannelHealth{Channel: string(ch)}
		p, paused, err := a.Store.Ledger.ChannelPause(ctx, string(ch))
		if err != nil {
			return nil, err
		}
		if paused {
			h.Paused, h.Reason, h.Since = true, p.Reason, p.Since
		}
		if h.Queued, err = a.queued(ch); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// queued counts the delivery tasks of ch waiting in its queue.
func (a *App) queued(ch notify.Channel) (int, error) {
	q := a.ns().Queue(workers.ChannelQueue(ch))
	queues, err := a.inspector.Queues()
	if err != nil {
		return 0, fmt.Errorf("channel %s: queues: %w", ch, err)
	}
	if !slices.Contains(queues, q) {
		return 0, nil // nothing was ever queued
	}
	info, err := a.inspector.GetQueueInfo(q)
	if err != nil {
		return 0, fmt.Errorf("channel %s: queue: %w", ch, err)
	}
	return info.Pending + info.Scheduled + info.Retry, nil
}
