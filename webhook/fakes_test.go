package webhook

import (
	"context"
	"errors"
	"sync"
	"time"
)

var errStore = errors.New("redis: connection refused")

// memDeduper is a map-based Deduper that can forget keys and fail on demand.
type memDeduper struct {
	mu      sync.Mutex
	seen    map[string]time.Duration
	forgot  []string
	failing bool
}

func newMemDeduper() *memDeduper { return &memDeduper{seen: map[string]time.Duration{}} }

func (d *memDeduper) FirstSeen(_ context.Context, key string, ttl time.Duration) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failing {
		return false, errStore
	}
	if _, ok := d.seen[key]; ok {
		return false, nil
	}
	d.seen[key] = ttl
	return true, nil
}

func (d *memDeduper) Forget(_ context.Context, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.seen, key)
	d.forgot = append(d.forgot, key)
	return nil
}

// suppressed is one call to Suppress.
type suppressed struct {
	Email, Reason string
	At            time.Time
}

// memSuppressor records suppressions; it fails while failing is set.
type memSuppressor struct {
	mu      sync.Mutex
	calls   []suppressed
	failing bool
}

func (s *memSuppressor) Suppress(_ context.Context, email, reason string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return errStore
	}
	s.calls = append(s.calls, suppressed{email, reason, at})
	return nil
}

// memQueue records actions; it fails while failing is set.
type memQueue struct {
	mu      sync.Mutex
	actions []Action
	failing bool
}

func (q *memQueue) EnqueueAction(_ context.Context, a Action) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failing {
		return errors.New("asynq: enqueue: redis down")
	}
	q.actions = append(q.actions, a)
	return nil
}
