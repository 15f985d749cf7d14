package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Snooze holds back rule's messages for the account until until (a rep
// clicked "Snooze"); the flag itself still counts.
func (s *Passes) Snooze(ctx context.Context, rule, accountID string, until time.Time) error {
	k := s.key("snooze", ruleEscaper.Replace(rule), accountID)
	if err := s.rdb.Set(ctx, k, until.UnixMilli(), time.Until(until)).Err(); err != nil {
		return fmt.Errorf("store: snooze: %w", err)
	}
	return nil
}

// Snoozed reports whether rule is snoozed for the account, and until when.
func (s *Passes) Snoozed(ctx context.Context, rule, accountID string) (time.Time, bool, error) {
	ms, err := s.rdb.Get(ctx, s.key("snooze", ruleEscaper.Replace(rule), accountID)).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: snoozed: %w", err)
	}
	return time.UnixMilli(ms).UTC(), true, nil
}
