package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// The batch forms of the checks a pass makes before it sends about an
// account (snoozes, cooldowns, suppressions, the frequency cap's history):
// each answers for a whole batch of accounts in one round trip, the same
// as the single forms would one by one.

// RuleAccount names a rule's flag on an account.
type RuleAccount struct{ Rule, Account string }

// SnoozedMany returns, for each of pairs, until when a rep snoozed the
// rule for the account; the zero time when not snoozed.
func (s *Passes) SnoozedMany(ctx context.Context, pairs []RuleAccount) ([]time.Time, error) {
	cmds := make([]*redis.StringCmd, len(pairs))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, p := range pairs {
			cmds[i] = pipe.Get(ctx, s.key("snooze", ruleEscaper.Replace(p.Rule), p.Account))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: snoozed: %w", err)
	}
	out := make([]time.Time, len(pairs))
	for i, c := range cmds {
		if ms, err := c.Int64(); err == nil {
			out[i] = time.UnixMilli(ms).UTC()
		}
	}
	return out, nil
}

// AcquireCooldowns is AcquireCooldown for each of pairs, with ttls[i] the
// cooldown of pairs[i], in one round trip.
func (s *Passes) AcquireCooldowns(ctx context.Context, pass string, pairs []RuleAccount, ttls []time.Duration) ([]bool, error) {
	out := make([]bool, 0, len(pairs))
	for start := 0; start < len(pairs); start += cooldownBatch {
		part := pairs[start:min(start+cooldownBatch, len(pairs))]
		keys := make([]string, len(part))
		args := []any{pass}
		for i, p := range part {
			ttl := ttls[start+i]
			if ttl < time.Millisecond {
				return nil, errors.New("store: acquire cooldowns: ttl must be at least 1ms")
			}
			keys[i] = s.cooldownKey(p.Rule, p.Account)
			args = append(args, ttl.Milliseconds())
		}
		got, err := cooldownScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("store: acquire cooldowns: %w", err)
		}
		for _, v := range got {
			out = append(out, v == 1)
		}
	}
	return out, nil
}

// cooldownBatch is how many cooldowns one script call takes or gives
// back, or one MGET reads.
const cooldownBatch = 1000

// CooldownsFree reports, for each of pairs, whether pass may take its
// cooldown (AcquireCooldowns would answer true): none runs, or pass took
// it. It changes nothing: a pass under limits.per_pass asks first and
// takes only the cooldowns of the matches that go.
func (s *Passes) CooldownsFree(ctx context.Context, pass string, pairs []RuleAccount) ([]bool, error) {
	out := make([]bool, 0, len(pairs))
	keys := make([]string, 0, min(len(pairs), cooldownBatch))
	for part := range slices.Chunk(pairs, cooldownBatch) {
		keys = keys[:0]
		for _, p := range part {
			keys = append(keys, s.cooldownKey(p.Rule, p.Account))
		}
		held, err := s.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, fmt.Errorf("store: cooldowns free: %w", err)
		}
		for _, v := range held {
			holder, ok := v.(string)
			out = append(out, !ok || holder == pass)
		}
	}
	return out, nil
}

// Cooldowns is Cooldown for each of pairs: until when each runs, the zero
// time when it does not.
func (s *Passes) Cooldowns(ctx context.Context, pairs []RuleAccount) ([]time.Time, error) {
	cmds := make([]*redis.DurationCmd, len(pairs))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, p := range pairs {
			cmds[i] = pipe.PTTL(ctx, s.cooldownKey(p.Rule, p.Account))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: cooldowns: %w", err)
	}
	now := time.Now()
	out := make([]time.Time, len(pairs))
	for i, c := range cmds {
		if ttl := c.Val(); ttl > 0 {
			out[i] = now.Add(ttl)
		}
	}
	return out, nil
}

// SuppressedMany reports, for each address, whether it is on the
// suppression list.
func (s *Suppressions) SuppressedMany(ctx context.Context, emails []string) ([]bool, error) {
	cmds := make([]*redis.BoolCmd, len(emails))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, e := range emails {
			cmds[i] = pipe.HExists(ctx, s.key("suppress", normEmail(e)), "at")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: suppressed: %w", err)
	}
	out := make([]bool, len(emails))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}

// HistoryByRecipients is HistoryByRecipient for each recipient, in two
// round trips whatever their number.
func (s *Ledger) HistoryByRecipients(ctx context.Context, recipients []string) ([][]Entry, error) {
	idx := make([]*redis.StringSliceCmd, len(recipients))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, r := range recipients {
			idx[i] = pipe.ZRevRange(ctx, s.recipientIndex(r), 0, -1)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: history by recipient: %w", err)
	}
	entries := make([][]*redis.MapStringStringCmd, len(recipients))
	_, err = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, c := range idx {
			for _, k := range c.Val() {
				entries[i] = append(entries[i], pipe.HGetAll(ctx, s.ledgerKey(k)))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: history by recipient: %w", err)
	}
	now := time.Now()
	out := make([][]Entry, len(recipients))
	for i, cmds := range entries {
		out[i] = []Entry{}
		for j, c := range cmds {
			if len(c.Val()) == 0 {
				continue // expired: HistoryByRecipient prunes it
			}
			e, err := decodeEntry(idx[i].Val()[j], c.Val())
			if err != nil {
				return nil, fmt.Errorf("store: history by recipient: %w", err)
			}
			if e.OutcomeUnknown(now) {
				e.Status = StatusUnknown
			}
			out[i] = append(out[i], e)
		}
	}
	return out, nil
}
