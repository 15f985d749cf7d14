package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/crmsync/crmsync/web"
	"github.com/crmsync/crmsync/workers"
)

// RuleOutcomes returns every configured rule, in config order, with its
// closed outcomes (ruleOutcomes).
func (d *webData) RuleOutcomes(ctx context.Context) ([]web.RuleOutcomes, error) {
	stats, err := d.a.ruleOutcomes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]web.RuleOutcomes, len(d.a.Rules.Rules))
	for i, r := range d.a.Rules.Rules {
		out[i] = web.RuleOutcomes{Name: r.Name, When: r.When, Severity: r.Severity, Cooldown: r.Cooldown,
			Holdout: r.Holdout, OutcomeWindow: r.OutcomeWindow}
		if stats != nil { // nil: no rule has any outcome yet
			out[i].Stats = stats[i].OutcomeStats
		}
	}
	return out, nil
}

// RecentPasses returns the reports of the last n passes, newest first.
func (d *webData) RecentPasses(ctx context.Context, n int) ([]*workers.Report, error) {
	passes, data, err := d.a.Store.Passes.RecentReports(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make([]*workers.Report, len(data))
	for i, b := range data {
		out[i] = &workers.Report{}
		if err := json.Unmarshal(b, out[i]); err != nil {
			return nil, fmt.Errorf("pass %s: decode report: %w", passes[i], err)
		}
	}
	return out, nil
}
