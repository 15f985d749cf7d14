package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// PauseSource records that the source's CRM asked not to be called before
// until (its daily API allocation is spent): scheduled syncs skip it until
// then. A zero or past until clears the pause.
func (s *Syncs) PauseSource(ctx context.Context, source, reason string, until time.Time) error {
	k := s.key("paused", source)
	var err error
	if d := time.Until(until); d > 0 {
		err = s.rdb.HSet(ctx, k, "until", until.UnixMilli(), "reason", reason).Err()
		if err == nil {
			err = s.rdb.PExpire(ctx, k, d).Err()
		}
	} else {
		err = s.rdb.Del(ctx, k).Err()
	}
	if err != nil {
		return fmt.Errorf("store: pause source: %w", err)
	}
	return nil
}

// SourcePause returns until when the source is paused and why; ok is false
// when it is not.
func (s *Syncs) SourcePause(ctx context.Context, source string) (until time.Time, reason string, ok bool, err error) {
	v, err := s.rdb.HMGet(ctx, s.key("paused", source), "until", "reason").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return time.Time{}, "", false, fmt.Errorf("store: source pause: %w", err)
	}
	ms, _ := v[0].(string)
	reason, _ = v[1].(string)
	var n int64
	if _, err := fmt.Sscan(ms, &n); err != nil {
		return time.Time{}, "", false, nil
	}
	until = time.UnixMilli(n).UTC()
	return until, reason, until.After(time.Now()), nil
}
