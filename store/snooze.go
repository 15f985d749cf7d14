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
func (s *Store) Snooze(ctx context.Context, rule, accountID string, until time.Time) error {
	k := s.key("snooze", ruleEscaper.Replace(rule), accountID)
	if err := s.rdb.Set(ctx, k, until.UnixMilli(), time.Until(until)).Err(); err != nil {
		return fmt.Errorf("store: snooze: %w", err)
	}
	return nil
}

// Snoozed reports whether rule is snoozed for the account, and until when.
func (s *Store) Snoozed(ctx context.Context, rule, accountID string) (time.Time, bool, error) {
	ms, err := s.rdb.Get(ctx, s.key("snooze", ruleEscaper.Replace(rule), accountID)).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: snoozed: %w", err)
	}
	return time.UnixMilli(ms).UTC(), true, nil
}

// contactedScript keeps the later of KEYS[1] and ARGV[1] (unix ms).
var contactedScript = redis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[1]))
if not v or v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`)

// MarkContacted records that a rep contacted the account at at (a click on
// "Mark as contacted"): it counts as the account's latest activity, so
// days_inactive starts again from it until the CRM reports a later one.
func (s *Store) MarkContacted(ctx context.Context, accountID string, at time.Time) error {
	if err := contactedScript.Run(ctx, s.rdb, []string{s.key("contacted", accountID)}, at.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("store: mark contacted: %w", err)
	}
	return nil
}
