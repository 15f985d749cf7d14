package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// A rule's flag states and open outcomes are hashes keyed by account id
// (flags.go, outcomes.go), and most accounts have neither: a pass used
// to ask both hashes about every account of a batch, and decoding the
// million empty answers of a million accounts cost more than the states
// it found. The flagged index of a rule lists, by id, the accounts that
// have either, so that a pass asks about those of its batch only.
//
// The index may list an account that has neither any more, never the
// other way round: a write that sets a flag state or opens an outcome
// adds the account to the index in the same transaction, and one that
// clears or closes them drops it there only when the account has neither
// left (unflagScript).

func (s conn) flaggedKey(rule string) string { return s.key("flagged", ruleEscaper.Replace(rule)) }

// ruleStatesScript returns, for each rule (KEYS in threes: its flagged
// index, flag states, open outcomes), the accounts of its index in the
// lex range ARGV[1] to ARGV[2], their flag states and their open
// outcomes.
var ruleStatesScript = redis.NewScript(`
local out = {}
for r = 1, #KEYS, 3 do
  local ids = redis.call('ZRANGEBYLEX', KEYS[r], ARGV[1], ARGV[2])
  local flags, open = {}, {}
  for s = 1, #ids, 1000 do
    local part = {unpack(ids, s, math.min(s + 999, #ids))}
    local f = redis.call('HMGET', KEYS[r + 1], unpack(part))
    local o = redis.call('HMGET', KEYS[r + 2], unpack(part))
    for i = 1, #part do
      flags[s + i - 1] = f[i]
      open[s + i - 1] = o[i]
    end
  end
  out[#out + 1] = {ids, flags, open}
end
return out
`)

// unflagScript drops from the flagged index KEYS[1] each account of ARGV
// that has neither a flag state (KEYS[2]) nor an open outcome (KEYS[3]).
var unflagScript = redis.NewScript(`
for _, id in ipairs(ARGV) do
  if redis.call('HEXISTS', KEYS[2], id) == 0 and redis.call('HEXISTS', KEYS[3], id) == 0 then
    redis.call('ZREM', KEYS[1], id)
  end
end
return 0
`)

// queueFlagged queues on p the index entries of ids for rule.
func (s conn) queueFlagged(ctx context.Context, p redis.Pipeliner, rule string, ids []string) {
	if len(ids) == 0 {
		return
	}
	members := make([]redis.Z, len(ids))
	for i, id := range ids {
		members[i] = redis.Z{Member: id}
	}
	p.ZAdd(ctx, s.flaggedKey(rule), members...)
}

// queueUnflagged queues on p the removal of ids from rule's index, for
// those that have neither a flag state nor an open outcome once the
// commands queued before have run. It sends the script itself (EVAL): a
// transaction cannot fall back from a script Redis does not hold.
func (s *Passes) queueUnflagged(ctx context.Context, p redis.Pipeliner, rule string, ids []string) {
	if len(ids) == 0 {
		return
	}
	keys := []string{s.flaggedKey(rule), s.flagKey(rule), s.outcomesKey(rule)}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	unflagScript.Eval(ctx, p, keys, args...)
}

// RuleStates returns, for each rule of names, the flag state and the open
// outcome of each account of ids (nil where there is none), in one round
// trip: what a pass reads before it moves a batch's flags forward. It
// reads the accounts of each rule's flagged index between the least and
// the greatest of ids, so a batch of neighbouring ids costs what its
// flagged accounts hold.
func (s *Passes) RuleStates(ctx context.Context, names, ids []string) (flags [][]*FlagState, open [][]*Outcome, err error) {
	flags, open = make([][]*FlagState, len(names)), make([][]*Outcome, len(names))
	if len(ids) == 0 || len(names) == 0 {
		return flags, open, nil
	}
	keys := make([]string, 0, 3*len(names))
	for _, r := range names {
		keys = append(keys, s.flaggedKey(r), s.flagKey(r), s.outcomesKey(r))
	}
	res, err := ruleStatesScript.Run(ctx, s.rdb, keys, "["+slices.Min(ids), "["+slices.Max(ids)).Slice()
	if err != nil {
		return nil, nil, fmt.Errorf("store: rule states: %w", err)
	}
	if len(res) != len(names) {
		return nil, nil, fmt.Errorf("store: rule states: %d answers for %d rules", len(res), len(names))
	}
	at := make(map[string]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	for i := range names {
		if flags[i], open[i], err = decodeRuleStates(res[i], at, len(ids)); err != nil {
			return nil, nil, fmt.Errorf("store: rule states of %s: %w", names[i], err)
		}
	}
	return flags, open, nil
}

// decodeRuleStates decodes one rule's answer of ruleStatesScript into
// the states of n accounts, each at its index in at.
func decodeRuleStates(v any, at map[string]int, n int) ([]*FlagState, []*Outcome, error) {
	part, _ := v.([]any)
	if len(part) != 3 {
		return nil, nil, fmt.Errorf("answer %v", v)
	}
	ids, _ := part[0].([]any)
	fs, _ := part[1].([]any)
	os, _ := part[2].([]any)
	if len(fs) != len(ids) || len(os) != len(ids) {
		return nil, nil, fmt.Errorf("%d ids, %d states, %d outcomes", len(ids), len(fs), len(os))
	}
	flags, open := make([]*FlagState, n), make([]*Outcome, n)
	for j, v := range ids {
		id, _ := v.(string)
		k, ok := at[id]
		if !ok {
			continue // in the range, not asked for
		}
		var err error
		if raw, ok := fs[j].(string); ok {
			if flags[k], err = decodeFlagState(raw); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", id, err)
			}
		}
		if raw, ok := os[j].(string); ok {
			if open[k], err = decodeOutcome(raw); err != nil {
				return nil, nil, fmt.Errorf("outcome of %s: %w", id, err)
			}
		}
	}
	return flags, open, nil
}

// indexFlags builds the flagged index of every rule that has flag states
// or open outcomes stored (layout 7).
func (s *Records) indexFlags(ctx context.Context) error {
	for _, kind := range []string{"flags", "outcomes"} {
		err := s.scanIDs(ctx, kind, func(ctx context.Context, rules []string) error {
			for _, rule := range rules { // escaped already
				if err := s.indexHash(ctx, s.key(kind, rule), s.key("flagged", rule)); err != nil {
					return fmt.Errorf("%s %s: %w", kind, rule, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// indexHash adds the fields of the hash k to the index idx.
func (s conn) indexHash(ctx context.Context, k, idx string) error {
	var members []redis.Z
	flush := func() error {
		if len(members) == 0 {
			return nil
		}
		err := s.rdb.ZAdd(ctx, idx, members...).Err()
		members = members[:0]
		return err
	}
	err := s.scanHash(ctx, k, func(id, _ string) error {
		members = append(members, redis.Z{Member: id})
		if len(members) < 1000 {
			return nil
		}
		return flush()
	})
	if err != nil {
		return err
	}
	return flush()
}
