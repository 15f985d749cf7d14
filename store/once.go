package store

import (
	"context"
	"fmt"
	"time"
)

// FirstSeen records key for ttl and reports whether this is the first time
// it is seen within ttl: webhooks use it to drop SendGrid's duplicated
// events and replayed Slack requests.
func (s *Suppressions) FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.key("seen", key), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: first seen: %w", err)
	}
	return ok, nil
}

// Forget removes key, so that the next FirstSeen of it is first again: a
// webhook whose work failed after it claimed an event lets the sender's
// retry do it.
func (s *Suppressions) Forget(ctx context.Context, key string) error {
	if err := s.rdb.Del(ctx, s.key("seen", key)).Err(); err != nil {
		return fmt.Errorf("store: forget: %w", err)
	}
	return nil
}
