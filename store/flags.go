package store

import (
	"context"
	"encoding/json"
	"fmt"
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
	out := make([]*FlagState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.flagKey(rule), ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("store: flag states: %w", err)
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var st FlagState
		if err := json.Unmarshal([]byte(str), &st); err != nil {
			return nil, fmt.Errorf("store: flag states: %s: %w", ids[i], err)
		}
		out[i] = &st
	}
	return out, nil
}

// SetFlagStates records the state of rule for these accounts and forgets
// it for the accounts in clear, in one transaction.
func (s *Passes) SetFlagStates(ctx context.Context, rule string, set map[string]FlagState, clear []string) error {
	if len(set) == 0 && len(clear) == 0 {
		return nil
	}
	k := s.flagKey(rule)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if len(set) > 0 {
			fields := make([]any, 0, 2*len(set))
			for id, st := range set {
				b, err := json.Marshal(st)
				if err != nil {
					return err
				}
				fields = append(fields, id, b)
			}
			p.HSet(ctx, k, fields...)
		}
		if len(clear) > 0 {
			p.HDel(ctx, k, clear...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set flag states: %w", err)
	}
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
