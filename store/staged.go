package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/internal/readahead"
)

// StageCandidates keeps the heads of a pass's matches, by match (rule
// and account), until the shard that completes the pass picks which go
// now under limits.per_pass: what the pick ranks and defers by, and what
// the messages that go are planned again from. A retried shard writes the
// same fields again.
func (s *Passes) StageCandidates(ctx context.Context, pass string, heads map[string][]byte) error {
	if len(heads) == 0 {
		return nil
	}
	k := s.key("pass", pass, "heads")
	vals := make([]any, 0, 2*len(heads))
	for f, v := range heads {
		vals = append(vals, f, v)
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, vals...)
		p.Expire(ctx, k, PassTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: stage candidates: %w", err)
	}
	return nil
}

// StagedHeads calls fn with the head of every match staged by the pass,
// a scan page at a time (the next read while fn works on the last), in
// no particular order.
func (s *Passes) StagedHeads(ctx context.Context, pass string, fn func(field string, data []byte) error) error {
	k := s.key("pass", pass, "heads")
	var cursor uint64
	done := false
	read := func(ctx context.Context) ([]string, bool, error) {
		if done {
			return nil, false, nil
		}
		kv, next, err := s.rdb.HScan(ctx, k, cursor, "", 1000).Result()
		if err != nil {
			return nil, false, fmt.Errorf("store: staged candidates: %w", err)
		}
		cursor, done = next, next == 0
		return kv, true, nil
	}
	return readahead.Each(ctx, read, func(kv []string) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if err := fn(kv[i], []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
}

// releaseCooldownsScript deletes each key of KEYS that holds ARGV[1].
var releaseCooldownsScript = redis.NewScript(`
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 0
`)

// ReleaseCooldowns gives back the cooldowns pass acquired for the matches
// it deferred to a later pass, so that pass may act on them: matches are
// rule and account id pairs. A cooldown held by another pass is left.
func (s *Passes) ReleaseCooldowns(ctx context.Context, pass string, matches [][2]string) error {
	for part := range slices.Chunk(matches, cooldownBatch) {
		keys := make([]string, len(part))
		for i, m := range part {
			keys[i] = s.cooldownKey(m[0], m[1])
		}
		if err := releaseCooldownsScript.Run(ctx, s.rdb, keys, pass).Err(); err != nil {
			return fmt.Errorf("store: release cooldowns: %w", err)
		}
	}
	return nil
}

// ActivateRule records that rule was first evaluated by pass, unless an
// earlier pass did, and returns the pass that activated it: a rule with
// activation: baseline treats its matches as the baseline only in that
// pass (and its retries).
func (s *Passes) ActivateRule(ctx context.Context, rule, pass string) (string, error) {
	k := s.key("rule-activated", ruleEscaper.Replace(rule))
	set, err := s.rdb.SetNX(ctx, k, pass, 0).Result() // SET NX GET needs Redis 7
	if err != nil {
		return "", fmt.Errorf("store: activate rule: %w", err)
	}
	if set {
		return pass, nil
	}
	v, err := s.rdb.Get(ctx, k).Result() // never changes once set
	if err != nil {
		return "", fmt.Errorf("store: activate rule: %w", err)
	}
	return v, nil
}

// RuleActivated reports whether a pass has evaluated rule already.
func (s *Passes) RuleActivated(ctx context.Context, rule string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.key("rule-activated", ruleEscaper.Replace(rule))).Result()
	if err != nil {
		return false, fmt.Errorf("store: rule activated: %w", err)
	}
	return n == 1, nil
}
