package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/outcome"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
)

// ErrMonthNotOver reports a monthly review asked for a month that has not
// ended yet.
var ErrMonthNotOver = errors.New("the month is not over yet")

// MonthlyOptions choose the monthly review.
type MonthlyOptions struct {
	// Month is any instant of the month to review, in the config's time
	// zone; zero means the last complete month at Now.
	Month time.Time
	// Now is the current time (default time.Now()).
	Now time.Time
	// Filter selects the accounts every figure is computed over.
	Filter insights.Filter
}

// Monthly is the monthly review of the portfolio: its figures at the
// month's end, the month and the one before it, the accounts flagged now
// by owner, and each rule's outcomes.
type Monthly struct {
	Month     string           `json:"month"`
	End       time.Time        `json:"end"` // the first instant of the next month
	Portfolio insights.Figures `json:"portfolio"`
	// Evolution holds the previous month, then the month.
	Evolution []insights.Month `json:"evolution"`
	AtRisk    []OwnerAtRisk    `json:"at_risk"`
	// Outcomes are each rule's outcomes since it started measuring them;
	// nil when no rule has any yet.
	Outcomes []RuleOutcome `json:"outcomes,omitempty"`
}

// OwnerAtRisk is one owner's accounts flagged now.
type OwnerAtRisk struct {
	Owner    string          `json:"owner"` // name, else email, else id; "" for accounts without owner
	Email    string          `json:"email,omitempty"`
	Revenue  float64         `json:"revenue_12m"`
	Accounts []AtRiskAccount `json:"accounts"`
}

// AtRiskAccount is an account flagged now: its class and revenue_12m at
// the month's end, its days_inactive now.
type AtRiskAccount struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Class        string   `json:"abc"`
	Revenue12m   float64  `json:"revenue_12m"`
	DaysInactive int      `json:"days_inactive"`
	Rules        []string `json:"rules"`
}

// RuleOutcome is a rule's closed outcomes by group and the uplift of its
// messages, with a 95% interval (nil when a group is empty).
type RuleOutcome struct {
	Rule string `json:"rule"`
	store.OutcomeStats
	Uplift      *float64 `json:"uplift,omitempty"`
	UpliftLow   *float64 `json:"uplift_low,omitempty"`
	UpliftHigh  *float64 `json:"uplift_high,omitempty"`
	Significant bool     `json:"significant"`
}

// MonthBounds returns the start and end (the first instant of the next
// month) in loc of the month of t, or of the last complete month at now
// when t is zero.
func MonthBounds(t, now time.Time, loc *time.Location) (start, end time.Time) {
	if t.IsZero() {
		t = now.In(loc).AddDate(0, 0, -now.In(loc).Day()) // the last day of the month before
	}
	t = t.In(loc)
	start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 1, 0)
}

// Monthly computes the monthly review: the portfolio as passes read it
// (merged across sources with config merge), scored at the month's end.
func (a *App) Monthly(ctx context.Context, opts MonthlyOptions) (*Monthly, error) {
	now := cmp.Or(opts.Now, time.Now())
	loc := a.Config.Location()
	start, end := MonthBounds(opts.Month, now, loc)
	if end.After(now) {
		return nil, fmt.Errorf("monthly review of %s: %w (it ends %s)", start.Format("2006-01"), ErrMonthNotOver, end.Format(time.DateOnly))
	}
	flagged, err := a.flaggedNow(ctx)
	if err != nil {
		return nil, err
	}
	ends := insights.MonthEnds(start, 2, loc)
	reads, err := a.Handlers.Evaluate.FigureReads(ctx)
	if err != nil {
		return nil, fmt.Errorf("monthly review: %w", err)
	}
	src, err := newSnapshotReader(ctx, reads.Features, a.Store.Passes, ends)
	if err != nil {
		return nil, fmt.Errorf("monthly review: %w", err)
	}
	risk := newAtRisk(opts.Filter, flagged)
	sc, err := insights.Scan(ctx, src, insights.ScanOptions{
		Now: end, Segmentation: a.Rules.Segmentation, Filter: opts.Filter, Ends: ends, Snapshots: src, Won: reads.Won,
		Flagged: func(id string) bool { _, ok := flagged[id]; return ok },
		Each: func(acc *insights.Account, c *model.Client) error {
			if risk.wants(acc) {
				risk.add(acc, rules.Compute(now, c).DaysInactive)
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("monthly review: %w", err)
	}
	m := &Monthly{Month: start.Format("2006-01"), End: end, Portfolio: sc.Figures, Evolution: sc.Evolution, AtRisk: risk.groups()}
	if m.Outcomes, err = a.ruleOutcomes(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// flaggedNow returns the accounts some rule flags now (it fired and its
// condition held at the last pass), with those rules in config order.
func (a *App) flaggedNow(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for _, r := range a.Rules.Rules {
		flags, err := a.Store.Passes.Flags(ctx, r.Name)
		if err != nil {
			return nil, fmt.Errorf("monthly review: %w", err)
		}
		for id, st := range flags {
			if !st.FiredAt.IsZero() {
				out[id] = append(out[id], r.Name)
			}
		}
	}
	return out, nil
}

// atRisk gathers the flagged accounts a filter selects by owner, one
// account at a time: it holds only those.
type atRisk struct {
	f       insights.Filter
	flagged map[string][]string
	byOwner map[string]*OwnerAtRisk
	order   []*OwnerAtRisk
}

func newAtRisk(f insights.Filter, flagged map[string][]string) *atRisk {
	return &atRisk{f: f, flagged: flagged, byOwner: map[string]*OwnerAtRisk{}}
}

// wants reports whether acc is flagged and selected.
func (r *atRisk) wants(acc *insights.Account) bool {
	_, ok := r.flagged[acc.ID]
	return ok && r.f.Match(acc)
}

// add adds acc, whose days_inactive now is days, to its owner's group.
func (r *atRisk) add(acc *insights.Account, days int) {
	g := r.byOwner[acc.OwnerID]
	if g == nil {
		g = &OwnerAtRisk{Owner: cmp.Or(acc.OwnerName, acc.OwnerEmail, acc.OwnerID), Email: acc.OwnerEmail}
		r.byOwner[acc.OwnerID] = g
		r.order = append(r.order, g)
	}
	g.Revenue += acc.Features.Revenue12m
	g.Accounts = append(g.Accounts, AtRiskAccount{ID: acc.ID, Name: acc.Name, Class: acc.Features.ABC,
		Revenue12m: acc.Features.Revenue12m, DaysInactive: days, Rules: r.flagged[acc.ID]})
}

// groups returns the owners' groups, the owner with the most revenue at
// risk first, each owner's accounts by revenue_12m descending.
func (r *atRisk) groups() []OwnerAtRisk {
	out := r.order
	slices.SortFunc(out, func(a, b *OwnerAtRisk) int {
		return cmp.Or(cmp.Compare(b.Revenue, a.Revenue), cmp.Compare(a.Owner, b.Owner))
	})
	groups := make([]OwnerAtRisk, len(out))
	for i, g := range out {
		slices.SortFunc(g.Accounts, func(a, b AtRiskAccount) int {
			return cmp.Or(cmp.Compare(b.Revenue12m, a.Revenue12m), cmp.Compare(a.ID, b.ID))
		})
		groups[i] = *g
	}
	return groups
}

// ruleOutcomes returns each rule's outcomes, nil when no rule has any.
func (a *App) ruleOutcomes(ctx context.Context) ([]RuleOutcome, error) {
	var out []RuleOutcome
	some := false
	for _, r := range a.Rules.Rules {
		st, err := a.Store.Passes.RuleOutcomes(ctx, r.Name)
		if err != nil {
			return nil, fmt.Errorf("monthly review: %w", err)
		}
		some = some || st.Messaged+st.Holdout+st.Open > 0
		ro := RuleOutcome{Rule: r.Name, OutcomeStats: st}
		u := outcome.Compare(st.MessagedReengaged, st.Messaged, st.HoldoutReengaged, st.Holdout)
		ro.Uplift, ro.UpliftLow, ro.UpliftHigh, ro.Significant = finite(u.Value), finite(u.Low), finite(u.High), u.Significant
		out = append(out, ro)
	}
	if !some {
		return nil, nil
	}
	return out, nil
}

// finite returns &v, nil when v is NaN or infinite.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
