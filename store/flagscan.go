package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// Flags returns every account's state of rule (see FlagStates), keyed by
// account id: the accounts whose condition held at the last pass, firing
// or waiting out the rule's `for`. It only reads, a scan page at a time,
// for reports and dashboards.
func (s *Passes) Flags(ctx context.Context, rule string) (map[string]FlagState, error) {
	out := map[string]FlagState{}
	err := s.scanHash(ctx, s.flagKey(rule), func(id, v string) error {
		var st FlagState
		if err := json.Unmarshal([]byte(v), &st); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		out[id] = st
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: flags of %s: %w", rule, err)
	}
	return out, nil
}
