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

// decodeOutcome decodes a stored open outcome.
func decodeOutcome(raw string) (*Outcome, error) {
	var o Outcome
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// queueOutcomes queues on p the commands that open and close rule's
// outcomes.
func (s *Passes) queueOutcomes(ctx context.Context, p redis.Pipeliner, rule string, open map[string]Outcome, closed []Closed) error {
	k, stats := s.outcomesKey(rule), s.outcomeStatsKey(rule)
	for _, c := range closed {
		p.HDel(ctx, k, c.AccountID)
		p.HIncrBy(ctx, stats, c.Group, 1)
		if c.Reengaged {
			p.HIncrBy(ctx, stats, c.Group+"_reengaged", 1)
		}
	}
	ids := make([]string, 0, len(open))
	for id, o := range open {
		data, err := json.Marshal(o)
		if err != nil {
			return err
		}
		p.HSet(ctx, k, id, data)
		ids = append(ids, id)
	}
	s.queueFlagged(ctx, p, rule, ids)
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
