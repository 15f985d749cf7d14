package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// PassTTL is how long the state of an evaluation pass (its plan and the
// results of its shards) is kept.
const PassTTL = 48 * time.Hour

// lockScript takes KEYS[1] for ARGV[1] for ARGV[2] ms unless another holds
// it; returns the holder.
var lockScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return v
`)

// unlockScript deletes KEYS[1] if ARGV[1] holds it.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// LockPass makes pass the running evaluation pass, for at most ttl, unless
// another pass runs: then it returns false and that pass. Locking again
// with the running pass (a retried task) succeeds.
func (s *Passes) LockPass(ctx context.Context, pass string, ttl time.Duration) (ok bool, holder string, err error) {
	holder, err = lockScript.Run(ctx, s.rdb, []string{s.key("pass-lock")}, pass, ttl.Milliseconds()).Text()
	if err != nil {
		return false, "", fmt.Errorf("store: lock pass: %w", err)
	}
	return holder == pass, holder, nil
}

// UnlockPass ends pass's hold on the pass lock, if it has it.
func (s *Passes) UnlockPass(ctx context.Context, pass string) error {
	if err := unlockScript.Run(ctx, s.rdb, []string{s.key("pass-lock")}, pass).Err(); err != nil {
		return fmt.Errorf("store: unlock pass: %w", err)
	}
	return nil
}

// SavePassPlan keeps the plan of a pass (its thresholds and shards) for
// the shard workers.
func (s *Passes) SavePassPlan(ctx context.Context, pass string, data []byte) error {
	if err := s.rdb.Set(ctx, s.key("pass", pass, "plan"), data, PassTTL).Err(); err != nil {
		return fmt.Errorf("store: save pass plan: %w", err)
	}
	return nil
}

// PassPlan returns the plan of a pass, or ErrNotFound.
func (s *Passes) PassPlan(ctx context.Context, pass string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.key("pass", pass, "plan")).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: pass plan: %w", err)
	}
	return b, nil
}

// SaveShardResult records the result of one shard of a pass and returns
// how many shards of the pass have a result. Saving a shard again (a
// retried task) replaces its result and does not count it twice.
func (s *Passes) SaveShardResult(ctx context.Context, pass string, shard int, data []byte) (int64, error) {
	k := s.key("pass", pass, "shards")
	var n *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, strconv.Itoa(shard), data)
		p.Expire(ctx, k, PassTTL)
		n = p.HLen(ctx, k)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: save shard result: %w", err)
	}
	return n.Val(), nil
}

// ShardResults returns the results of a pass's shards, in shard order.
func (s *Passes) ShardResults(ctx context.Context, pass string) ([][]byte, error) {
	m, err := s.rdb.HGetAll(ctx, s.key("pass", pass, "shards")).Result()
	if err != nil {
		return nil, fmt.Errorf("store: shard results: %w", err)
	}
	shards := make([]int, 0, len(m))
	for k := range m {
		n, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("store: shard results: bad shard %q", k)
		}
		shards = append(shards, n)
	}
	slices.Sort(shards)
	out := make([][]byte, len(shards))
	for i, n := range shards {
		out[i] = []byte(m[strconv.Itoa(n)])
	}
	return out, nil
}

// takeOverScript gives KEYS[1] to ARGV[2] for ARGV[3] ms if ARGV[1] still
// holds it; returns 1 when it did.
var takeOverScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)

// TakeOverPass makes pass the running evaluation pass in place of dead,
// a pass found dead (none of its tasks left to run), for at most ttl. It
// returns false when dead no longer holds the lock.
func (s *Passes) TakeOverPass(ctx context.Context, dead, pass string, ttl time.Duration) (bool, error) {
	n, err := takeOverScript.Run(ctx, s.rdb, []string{s.key("pass-lock")}, dead, pass, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: take over pass lock: %w", err)
	}
	return n == 1, nil
}

// PassLock returns the pass holding the pass lock and for how long it
// still holds it; "" when none does.
func (s *Passes) PassLock(ctx context.Context) (string, time.Duration, error) {
	k := s.key("pass-lock")
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get, ttl = p.Get(ctx, k), p.PTTL(ctx, k)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("store: pass lock: %w", err)
	}
	return get.Val(), ttl.Val(), nil
}

// gateScript returns the indexes (1-based) of the sources holding passes
// back; when there are any, it records ARGV[#KEYS+1] (the pass) as the
// deferred pass, replacing any other, and returns that one last.
var gateScript = redis.NewScript(blockingLua + `
local now = tonumber(ARGV[1])
local held = {}
for i = 1, #KEYS - 1 do
  if blocking(i, now) then held[#held + 1] = i end
end
if #held == 0 then return {held, false} end
local prev = redis.call('GET', KEYS[#KEYS])
redis.call('SET', KEYS[#KEYS], ARGV[#KEYS + 1])
return {held, prev}
`)

// GatePass checks whether a pass may run now. When sources hold it back,
// it records pass (an encoded pass request) as the deferred pass, to be
// taken by the sync whose commit frees the portfolio, and returns the
// sources holding it back and the deferred pass it replaced, if any.
func (s *Passes) GatePass(ctx context.Context, g Gate, now time.Time, pass []byte) (held []string, replaced []byte, err error) {
	keys, args := s.gateArgs(g, now)
	res, err := gateScript.Run(ctx, s.rdb, keys, append(args, pass)...).Slice()
	if err != nil {
		return nil, nil, fmt.Errorf("store: gate pass: %w", err)
	}
	for _, v := range res[0].([]any) {
		held = append(held, g.Sources[v.(int64)-1])
	}
	if prev, ok := res[1].(string); ok {
		replaced = []byte(prev)
	}
	return held, replaced, nil
}

// TakeDeferredPass returns the deferred pass and forgets it; nil when
// there is none.
func (s *Passes) TakeDeferredPass(ctx context.Context) ([]byte, error) {
	b, err := s.rdb.GetDel(ctx, s.deferredPassKey()).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: take deferred pass: %w", err)
	}
	return b, nil
}

// DeferredPass returns the deferred pass without taking it; nil when none.
func (s *Passes) DeferredPass(ctx context.Context) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.deferredPassKey()).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: deferred pass: %w", err)
	}
	return b, nil
}
