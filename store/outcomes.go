package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Outcome groups: a flag whose messages went, or one of the rule's
// holdout, left without a message on purpose.
const (
	GroupMessaged = "messaged"
	GroupHoldout  = "holdout"
)

// Outcome is the open outcome of a rule's flag on an account: whether the
// account re-engages (an activity or a won deal) between At and Until.
type Outcome struct {
	At    time.Time `json:"at"`    // when the rule fired (the pass's time)
	Until time.Time `json:"until"` // At + the rule's outcome_window
	Group string    `json:"group"` // GroupMessaged or GroupHoldout
	Pass  string    `json:"pass,omitempty"`
}

// OutcomeStats counts a rule's closed outcomes by group: how many flags,
// and how many of them re-engaged within the window.
type OutcomeStats struct {
	Messaged          int64 `json:"messaged"`
	MessagedReengaged int64 `json:"messaged_reengaged"`
	Holdout           int64 `json:"holdout"`
	HoldoutReengaged  int64 `json:"holdout_reengaged"`
	Open              int64 `json:"open"` // outcomes whose window is still running
}

// Closed is an outcome decided: the account re-engaged within the window,
// or the window ended without.
type Closed struct {
	AccountID string
	Outcome
	Reengaged bool
}

func (s *Passes) outcomesKey(rule string) string { return s.key("outcomes", ruleEscaper.Replace(rule)) }
func (s *Passes) outcomeStatsKey(rule string) string {
	return s.key("outcome-stats", ruleEscaper.Replace(rule))
}

// OpenOutcomes returns the open outcome of rule on each account of ids
// (nil where there is none), in the order of ids.
func (s *Passes) OpenOutcomes(ctx context.Context, rule string, ids []string) ([]*Outcome, error) {
	out := make([]*Outcome, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.outcomesKey(rule), ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("store: outcomes: %w", err)
	}
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue
		}
		var o Outcome
		if err := json.Unmarshal([]byte(raw), &o); err != nil {
			return nil, fmt.Errorf("store: outcome of %s: %w", ids[i], err)
		}
		out[i] = &o
	}
	return out, nil
}

// UpdateOutcomes opens the outcomes in open (replacing any open one of the
// same account) and closes those in closed, counting them in the rule's
// stats, in one transaction.
func (s *Passes) UpdateOutcomes(ctx context.Context, rule string, open map[string]Outcome, closed []Closed) error {
	if len(open) == 0 && len(closed) == 0 {
		return nil
	}
	k, stats := s.outcomesKey(rule), s.outcomeStatsKey(rule)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range closed {
			p.HDel(ctx, k, c.AccountID)
			p.HIncrBy(ctx, stats, c.Group, 1)
			if c.Reengaged {
				p.HIncrBy(ctx, stats, c.Group+"_reengaged", 1)
			}
		}
		for id, o := range open {
			data, err := json.Marshal(o)
			if err != nil {
				return err
			}
			p.HSet(ctx, k, id, data)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: update outcomes: %w", err)
	}
	return nil
}

// RuleOutcomes returns rule's outcome counts.
func (s *Passes) RuleOutcomes(ctx context.Context, rule string) (OutcomeStats, error) {
	var st OutcomeStats
	var h *redis.MapStringStringCmd
	var open *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, s.outcomeStatsKey(rule))
		open = p.HLen(ctx, s.outcomesKey(rule))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return st, fmt.Errorf("store: rule outcomes: %w", err)
	}
	n := func(field string) int64 {
		v, _ := strconv.ParseInt(h.Val()[field], 10, 64)
		return v
	}
	st.Messaged, st.MessagedReengaged = n(GroupMessaged), n(GroupMessaged+"_reengaged")
	st.Holdout, st.HoldoutReengaged = n(GroupHoldout), n(GroupHoldout+"_reengaged")
	st.Open = open.Val()
	return st, nil
}
