package crmhttp

import (
	"context"
	"sync"
	"time"
)

// Window is a proactive rate limiter for limits stated as "at most N
// requests in any rolling window of length Per" (HubSpot's 100 or 190
// requests per 10 seconds, its search API's 5 per second). It remembers
// when the last N requests were let through and lets the next one go when
// the oldest of them has left the window. It is safe for concurrent use.
type Window struct {
	n      int
	per    time.Duration
	reason string

	mu      sync.Mutex
	times   []time.Time // ring of the last n grants
	next    int
	blocked time.Time // nothing is granted before this (Penalize)
	now     func() time.Time
}

// Margin is added to every window: a request granted at t reaches the
// vendor a little after t, so a window measured at the vendor ends later
// than ours.
const Margin = 50 * time.Millisecond

// NewWindow returns a limiter allowing n requests per rolling window; the
// reason names it in Trace waits ("rate limit 100/10s").
func NewWindow(n int, per time.Duration, reason string) *Window {
	return &Window{n: max(n, 1), per: per + Margin, reason: reason, times: make([]time.Time, 0, max(n, 1)), now: time.Now}
}

// Wait blocks until a request may go, or ctx is done.
func (w *Window) Wait(ctx context.Context) error {
	for {
		d := w.reserve()
		if d <= 0 {
			return nil
		}
		if err := Sleep(ctx, w.reason, d); err != nil {
			return err
		}
	}
}

// reserve grants a request now and returns 0, or returns how long to wait
// before asking again.
func (w *Window) reserve() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if d := w.blocked.Sub(now); d > 0 {
		return d
	}
	if len(w.times) < w.n {
		w.times = append(w.times, now)
		return 0
	}
	oldest := w.times[w.next]
	if d := oldest.Add(w.per).Sub(now); d > 0 {
		return d
	}
	w.times[w.next] = now
	w.next = (w.next + 1) % w.n
	return 0
}

// Penalize makes the limiter wait d before granting anything more: after
// a 429 the vendor's window is full whatever ours says.
func (w *Window) Penalize(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if until := w.now().Add(d); until.After(w.blocked) {
		w.blocked = until
	}
}
