package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// StatusResolved marks a ledger entry recording that a flag stopped
// holding (a client re-engaged), rather than a message.
const StatusResolved = "resolved"

// StatusHoldout marks a ledger entry recording that a rule fired for an
// account of its holdout, which was left without a message on purpose.
const StatusHoldout = "holdout"

// FlagState is where a rule stands for one account across passes.
type FlagState struct {
	Since   time.Time `json:"since"`             // first pass at which the condition held, in a row
	FiredAt time.Time `json:"fired_at,omitzero"` // when the rule fired; zero while it waits out its `for`
	Pass    string    `json:"pass,omitempty"`    // the pass that fired it
	// Baseline is set when the account already matched at the pass that
	// activated a rule with activation: baseline: the flag is recorded,
	// never acted on, until the condition stops holding.
	Baseline bool `json:"baseline,omitempty"`
}

func (s conn) flagKey(rule string) string { return s.key("flags", ruleEscaper.Replace(rule)) }

// FlagStates returns the state of rule for each account of ids, nil for an
// account where the rule's condition did not hold at the last pass.
func (s *Passes) FlagStates(ctx context.Context, rule string, ids []string) ([]*FlagState, error) {
	if len(ids) == 0 {
		return make([]*FlagState, 0), nil
	}
	vals, err := s.rdb.HMGet(ctx, s.flagKey(rule), ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("store: flag states: %w", err)
	}
	return decodeFlagStates(ids, vals)
}

func decodeFlagStates(ids []string, vals []any) ([]*FlagState, error) {
	out := make([]*FlagState, len(ids))
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var err error
		if out[i], err = decodeFlagState(str); err != nil {
			return nil, fmt.Errorf("store: flag states: %s: %w", ids[i], err)
		}
	}
	return out, nil
}

// decodeFlagState decodes a stored flag state.
func decodeFlagState(raw string) (*FlagState, error) {
	var st FlagState
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// RuleUpdate is what a pass changes of one rule's state on a batch of
// accounts: flag states set and cleared, outcomes opened and closed.
type RuleUpdate struct {
	Rule   string
	Set    map[string]FlagState
	Clear  []string
	Open   map[string]Outcome
	Closed []Closed
}

func (u *RuleUpdate) empty() bool {
	return len(u.Set) == 0 && len(u.Clear) == 0 && len(u.Open) == 0 && len(u.Closed) == 0
}

// SaveRuleStates applies the updates of several rules in one transaction.
func (s *Passes) SaveRuleStates(ctx context.Context, updates []RuleUpdate) error {
	if !slices.ContainsFunc(updates, func(u RuleUpdate) bool { return !u.empty() }) {
		return nil
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i := range updates {
			if err := s.queueRuleUpdate(ctx, p, &updates[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save rule states: %w", err)
	}
	return nil
}

// queueRuleUpdate queues the commands of u on p, and those that keep the
// rule's flagged index (flagindex.go): the accounts given a flag state or
// an outcome join it, those cleared or closed leave it when they have
// neither left.
func (s *Passes) queueRuleUpdate(ctx context.Context, p redis.Pipeliner, u *RuleUpdate) error {
	k := s.flagKey(u.Rule)
	if len(u.Set) > 0 {
		fields := make([]any, 0, 2*len(u.Set))
		ids := make([]string, 0, len(u.Set))
		for id, st := range u.Set {
			b, err := json.Marshal(st)
			if err != nil {
				return err
			}
			fields = append(fields, id, b)
			ids = append(ids, id)
		}
		p.HSet(ctx, k, fields...)
		s.queueFlagged(ctx, p, u.Rule, ids)
	}
	if len(u.Clear) > 0 {
		p.HDel(ctx, k, u.Clear...)
	}
	if err := s.queueOutcomes(ctx, p, u.Rule, u.Open, u.Closed); err != nil {
		return err
	}
	gone := slices.Clip(u.Clear)
	for _, c := range u.Closed {
		gone = append(gone, c.AccountID)
	}
	s.queueUnflagged(ctx, p, u.Rule, gone)
	return nil
}

// RecordResolved writes a ledger entry with status resolved at at, so an
// account's history shows when a flag stopped holding and with which
// figures. e.Key names it.
func (s *Passes) RecordResolved(ctx context.Context, e Entry, at time.Time) error {
	return s.recordEvent(ctx, e, StatusResolved, at)
}

// RecordHoldout writes a ledger entry with status holdout at at: the
// rule fired for an account of its holdout, which got no message. e.Key
// names it.
func (s *Passes) RecordHoldout(ctx context.Context, e Entry, at time.Time) error {
	return s.recordEvent(ctx, e, StatusHoldout, at)
}

// recordEvent writes a ledger entry that records no message, with status
// at at, in the account's history.
func (s *Passes) recordEvent(ctx context.Context, e Entry, status string, at time.Time) error {
	e.Status, e.ClaimedAt = status, time.Time{}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("store: record %s: %w", status, err)
	}
	k, idx := s.ledgerKey(e.Key), s.accountIndex(e.AccountID)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "data", data, "status", status, "claimed_ms", at.UnixMilli())
		p.PExpire(ctx, k, LedgerTTL)
		for _, idx := range []string{idx, s.passIndex(e.Pass)} {
			p.ZAdd(ctx, idx, redis.Z{Score: float64(at.UnixMilli()), Member: e.Key})
			p.PExpire(ctx, idx, LedgerTTL)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record %s: %w", status, err)
	}
	return nil
}
