package insights

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

func TestMonthEnds(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		last time.Time
		n    int
		loc  *time.Location
		want []string
	}{
		{time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), 2, time.UTC, []string{"2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"}},
		{time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), 3, paris, // already February in Paris
			[]string{"2026-01-01T00:00:00+01:00", "2026-02-01T00:00:00+01:00", "2026-03-01T00:00:00+01:00"}},
		{time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC), 1, paris, []string{"2026-04-01T00:00:00+02:00"}},
	}
	for _, tt := range tests {
		var got []string
		for _, e := range MonthEnds(tt.last, tt.n, tt.loc) {
			got = append(got, e.Format(time.RFC3339))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("MonthEnds(%s, %d, %s) = %v, want %v", tt.last, tt.n, tt.loc, got, tt.want)
		}
	}
}

// TestEvolution checks the backfilled months of the fixture. At
// 2026-10-01 and 2026-11-01, revenue_12m is a1 60000, a3 15000, a4 8000,
// a6 100 (total 83100): a1 A, a3 A (S_prev 0.722), a4 B (0.903), a6 C.
func TestEvolution(t *testing.T) {
	p := fixturePortfolio(t)
	snaps := map[string]map[string]Snapshot{
		"2026-11": {"crm:a1": {DaysInactive: 95}, "shop:a3": {DaysInactive: 10}, "crm:a5": {DaysInactive: 200}},
	}
	october := Month{Month: "2026-10", End: date(t, "2026-11-01"), Buyers: 4,
		Retention: Retention{Before: 4, Kept: 4, Rate: 1}, Revenue: 83100,
		Classes:   [3]ClassRow{{"A", 2, 2.0 / 6, 75000, 75000.0 / 83100}, {"B", 1, 1.0 / 6, 8000, 8000.0 / 83100}, {"C", 3, 3.0 / 6, 100, 100.0 / 83100}},
		Migration: [3][3]int{{2, 0, 0}, {0, 1, 0}, {0, 0, 3}}}
	november := Month{Month: "2026-11", End: now, Buyers: 4,
		Retention: Retention{Before: 4, Kept: 3, Gained: 1, Lost: 1, Rate: 0.75}, Revenue: 100100,
		Classes: [3]ClassRow{{"A", 2, 2.0 / 6, 85000, 85000.0 / 100100}, {"B", 1, 1.0 / 6, 15000, 15000.0 / 100100}, {"C", 3, 3.0 / 6, 100, 100.0 / 100100}},
		// a1 A→A, a3 A→B, a4 B→C, a2 C→A, a5 and a6 C→C.
		Migration:    [3][3]int{{1, 1, 0}, {0, 0, 1}, {1, 0, 2}},
		HasSnapshots: true, Snapshots: 3, Inactive90: 2}
	tests := []struct {
		name   string
		filter Filter
		want   []Month
	}{
		{"whole portfolio", Filter{}, []Month{october, november}},
		{"source shop", Filter{Source: "shop"}, []Month{
			{Month: "2026-10", End: date(t, "2026-11-01"), Buyers: 2, Retention: Retention{Before: 2, Kept: 2, Rate: 1}, Revenue: 23000,
				Classes:   [3]ClassRow{{"A", 1, 0.5, 15000, 15000.0 / 23000}, {"B", 1, 0.5, 8000, 8000.0 / 23000}, {"C", 0, 0, 0, 0}},
				Migration: [3][3]int{{1, 0, 0}, {0, 1, 0}, {0, 0, 0}}},
			{Month: "2026-11", End: now, Buyers: 1, Retention: Retention{Before: 2, Kept: 1, Lost: 1, Rate: 0.5}, Revenue: 15000,
				Classes:      [3]ClassRow{{"A", 0, 0, 0, 0}, {"B", 1, 0.5, 15000, 1}, {"C", 1, 0.5, 0, 0}},
				Migration:    [3][3]int{{0, 1, 0}, {0, 0, 1}, {0, 0, 0}},
				HasSnapshots: true, Snapshots: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Evolution(tt.filter, MonthEnds(date(t, "2026-11-15"), 2, time.UTC), snaps)
			if len(got) != len(tt.want) {
				t.Fatalf("%d months, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !reflect.DeepEqual(roundMonth(got[i]), roundMonth(tt.want[i])) {
					t.Errorf("month %d\n%+v\nwant\n%+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestEvolutionNowMatchesFigures: the month ending at the portfolio's
// now, backfilled from the deals, has the figures the passes' features
// give.
func TestEvolutionNowMatchesFigures(t *testing.T) {
	p := fixturePortfolio(t)
	fig := p.Compute(Filter{}, nil)
	p.Now = p.Now.Add(time.Nanosecond) // compute the month from the deals, not from the features
	m := p.Evolution(Filter{}, []time.Time{now}, nil)[0]
	if m.Revenue != fig.Revenue12m || m.Classes != fig.ABC || m.Retention != fig.Retention || m.Buyers != fig.Buyers {
		t.Errorf("month %+v\ndiffers from figures %+v", m, fig)
	}
}

func roundMonth(m Month) Month {
	f := round(Figures{ABC: m.Classes, Retention: m.Retention})
	m.Classes, m.Retention = f.ABC, f.Retention
	return m
}

func TestParetoDownsampled(t *testing.T) {
	tests := []struct {
		accounts int
		want     map[int]ParetoPoint // point index → point
	}{
		{1000, map[int]ParetoPoint{0: {0, 0}, 1: {0.01, 0.01}, 50: {0.5, 0.5}, 100: {1, 1}}},
		{150, map[int]ParetoPoint{1: {2.0 / 150, 2.0 / 150}, 2: {3.0 / 150, 3.0 / 150}, 100: {1, 1}}}, // ranks round(j*1.5)
		{3, map[int]ParetoPoint{0: {0, 0}, 1: {1.0 / 3, 1.0 / 3}, 3: {1, 1}}},
	}
	for _, tt := range tests {
		var clients []model.Client
		for i := range tt.accounts {
			clients = append(clients, client(t, fmt.Sprintf("x%04d", i), "o", "crm", model.Customer, "2026-06-01", 10.0))
		}
		p := NewPortfolio(now, rules.DefaultSegmentation(), clients).Compute(Filter{}, nil).Pareto
		if want := min(tt.accounts+1, MaxParetoPoints); len(p.Points) != want {
			t.Errorf("%d accounts: %d points, want %d", tt.accounts, len(p.Points), want)
		}
		for i, want := range tt.want {
			got := p.Points[i]
			if !near(got.Accounts, want.Accounts) || !near(got.Revenue, want.Revenue) {
				t.Errorf("%d accounts: point %d = %v, want %v", tt.accounts, i, got, want)
			}
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
