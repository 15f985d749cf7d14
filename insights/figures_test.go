package insights

import (
	"math"
	"reflect"
	"testing"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// TestPortfolioScoresAsPasses: every account's features are those
// rules.ScorePortfolio gives, so the figures are the passes' own.
func TestPortfolioScoresAsPasses(t *testing.T) {
	clients := fixture(t)
	want := rules.ScorePortfolio(now, clients, rules.DefaultSegmentation())
	p := NewPortfolio(now, rules.DefaultSegmentation(), clients)
	for i := range want {
		if !reflect.DeepEqual(p.Accounts[i].Features, want[i]) {
			t.Errorf("%s: features\n%+v, want\n%+v", p.Accounts[i].ID, p.Accounts[i].Features, want[i])
		}
	}
}

func TestFigures(t *testing.T) {
	p := fixturePortfolio(t)
	flagged := map[string]bool{"crm:a1": true, "shop:a4": true, "crm:nobody": true}
	tests := []struct {
		name   string
		filter Filter
		want   Figures
	}{
		{"whole portfolio", Filter{}, Figures{
			Accounts: 6, Clients: 4, Buyers: 4,
			Revenue12m: 100100, RevenuePrev12m: 38000, RevenueTrend: 100100.0 / 38000,
			// On 2026-11-01 a1, a3, a4 and a6 had bought in the 12 months; a4
			// is out on 2026-12-01, a2 is in.
			Retention: Retention{Before: 4, Kept: 3, Gained: 1, Lost: 1, Rate: 0.75},
			AtRisk:    2, RevenueAtRisk: 60000,
			Pareto: Pareto{Ranked: 4, Points: []ParetoPoint{{0, 0}, {0.25, 60000.0 / 100100}, {0.5, 85000.0 / 100100},
				{0.75, 100000.0 / 100100}, {1, 1}}, EndA: ParetoPoint{0.5, 85000.0 / 100100}, EndB: ParetoPoint{0.75, 100000.0 / 100100}},
			ABC: [3]ClassRow{{"A", 2, 2.0 / 6, 85000, 85000.0 / 100100}, {"B", 1, 1.0 / 6, 15000, 15000.0 / 100100},
				{"C", 3, 3.0 / 6, 100, 100.0 / 100100}},
			RFM: rfmGrid(map[[2]int][2]float64{{3, 2}: {1, 5}, {5, 2}: {1, 4}, {4, 5}: {1, 3}, {1, 1}: {2, 1}, {2, 2}: {1, 2}},
				map[string]int{"about_to_sleep": 1, "potential_loyalist": 1, "loyal": 1, "lost": 2, "hibernating": 1}),
			PMG:       [3]SizeRow{{"small", 3, 100}, {"medium", 3, 100000}, {"large", 0, 0}},
			Lifecycle: map[model.Lifecycle]int{model.Customer: 4, model.Prospect: 1, model.Former: 1},
		}},
		{"one owner by email: classes stay portfolio-wide", Filter{Owner: "O1@example.com"}, Figures{
			Accounts: 3, Clients: 2, Buyers: 2, Revenue12m: 85000, RevenuePrev12m: 30000, RevenueTrend: 85000.0 / 30000,
			Retention: Retention{Before: 1, Kept: 1, Gained: 1, Rate: 1},
			AtRisk:    1, RevenueAtRisk: 60000,
			Pareto: Pareto{Ranked: 2, Points: []ParetoPoint{{0, 0}, {0.5, 60000.0 / 85000}, {1, 1}},
				EndA: ParetoPoint{1, 1}, EndB: ParetoPoint{1, 1}},
			ABC: [3]ClassRow{{"A", 2, 2.0 / 3, 85000, 1}, {"B", 0, 0, 0, 0}, {"C", 1, 1.0 / 3, 0, 0}},
			RFM: rfmGrid(map[[2]int][2]float64{{3, 2}: {1, 5}, {5, 2}: {1, 4}, {1, 1}: {1, 1}},
				map[string]int{"about_to_sleep": 1, "potential_loyalist": 1, "lost": 1}),
			PMG:       [3]SizeRow{{"small", 1, 0}, {"medium", 2, 85000}, {"large", 0, 0}},
			Lifecycle: map[model.Lifecycle]int{model.Customer: 2, model.Prospect: 1},
		}},
		{"one class, source and segment", Filter{Class: "b", Source: "shop", Segment: "loyal"}, Figures{
			Accounts: 1, Clients: 1, Buyers: 1, Revenue12m: 15000, RevenueTrend: 1,
			Retention: Retention{Before: 1, Kept: 1, Rate: 1},
			Pareto:    Pareto{Ranked: 1, Points: []ParetoPoint{{0, 0}, {1, 1}}, EndB: ParetoPoint{1, 1}},
			ABC:       [3]ClassRow{{"A", 0, 0, 0, 0}, {"B", 1, 1, 15000, 1}, {"C", 0, 0, 0, 0}},
			RFM:       rfmGrid(map[[2]int][2]float64{{4, 5}: {1, 3}}, map[string]int{"loyal": 1}),
			PMG:       [3]SizeRow{{"small", 0, 0}, {"medium", 1, 15000}, {"large", 0, 0}},
			Lifecycle: map[model.Lifecycle]int{model.Customer: 1},
		}},
		{"nothing selected", Filter{Owner: "nobody"}, Figures{
			RevenueTrend: 1, Pareto: Pareto{Points: []ParetoPoint{{0, 0}}},
			ABC: [3]ClassRow{{Class: "A"}, {Class: "B"}, {Class: "C"}}, RFM: RFMGrid{Segments: map[string]int{}},
			PMG: [3]SizeRow{{Size: "small"}, {Size: "medium"}, {Size: "large"}}, Lifecycle: map[model.Lifecycle]int{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Compute(tt.filter, flagged)
			tt.want.Now, tt.want.Filter = now, tt.filter
			if !reflect.DeepEqual(round(got), round(tt.want)) {
				t.Errorf("figures\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// rfmGrid builds an RFM grid from (r, f) → (accounts, mean m).
func rfmGrid(cells map[[2]int][2]float64, segments map[string]int) RFMGrid {
	g := RFMGrid{Segments: segments}
	for rf, c := range cells {
		g.Cells[rf[0]-1][rf[1]-1] = RFMCell{Accounts: int(c[0]), MeanM: c[1]}
	}
	return g
}

// round rounds every share of f to 1e-12, so that figures computed in
// another order compare equal.
func round(f Figures) Figures {
	r := func(x *float64) { *x = math.Round(*x*1e12) / 1e12 }
	r(&f.RevenueTrend)
	r(&f.Retention.Rate)
	for i := range f.Pareto.Points {
		r(&f.Pareto.Points[i].Accounts)
		r(&f.Pareto.Points[i].Revenue)
	}
	for _, p := range []*ParetoPoint{&f.Pareto.EndA, &f.Pareto.EndB} {
		r(&p.Accounts)
		r(&p.Revenue)
	}
	for i := range f.ABC {
		r(&f.ABC[i].AccountShare)
		r(&f.ABC[i].RevenueShare)
	}
	return f
}
