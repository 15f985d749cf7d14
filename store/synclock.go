package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// renewScript extends KEYS[1] by ARGV[2] ms if ARGV[1] holds it; 1 when
// it does.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// syncLockScript takes KEYS[1] for ARGV[1] for ARGV[2] ms unless another
// holds it, and then makes ARGV[1] the fence of the source's writes
// (KEYS[2], fenced.go); it returns the holder.
var syncLockScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return ARGV[1]
`)

func (s conn) syncLockKey(source string) string { return s.key("sync-lock", source) }

// LockSync makes holder the one sync of source, for ttl (renewed with
// RenewSync while it runs), unless another holds it: then it returns false
// and that holder. One sync per source at a time keeps two pulls from
// spending the same API allocation twice and racing on the watermark.
// Taking the lock also fences off the writes of any earlier holder
// (fenced.go): holder is the one the source's PageWriter writes for.
func (s *Syncs) LockSync(ctx context.Context, source, holder string, ttl time.Duration) (ok bool, current string, err error) {
	keys := []string{s.syncLockKey(source), s.fenceKey(source)}
	current, err = syncLockScript.Run(ctx, s.rdb, keys, holder, ttl.Milliseconds()).Text()
	if err != nil {
		return false, "", fmt.Errorf("store: lock sync: %w", err)
	}
	return current == holder, current, nil
}

// RenewSync extends holder's lock on source by ttl; false when holder no
// longer has it.
func (s *Syncs) RenewSync(ctx context.Context, source, holder string, ttl time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, s.rdb, []string{s.syncLockKey(source)}, holder, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: renew sync lock: %w", err)
	}
	return n == 1, nil
}

// UnlockSync releases holder's lock on source, if it has it.
func (s *Syncs) UnlockSync(ctx context.Context, source, holder string) error {
	if err := unlockScript.Run(ctx, s.rdb, []string{s.syncLockKey(source)}, holder).Err(); err != nil {
		return fmt.Errorf("store: unlock sync: %w", err)
	}
	return nil
}

// SyncLockHolder returns who holds the sync lock of source, "" when no
// live sync does.
func (s *Syncs) SyncLockHolder(ctx context.Context, source string) (string, error) {
	h, err := s.rdb.Get(ctx, s.syncLockKey(source)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: sync lock holder: %w", err)
	}
	return h, nil
}
