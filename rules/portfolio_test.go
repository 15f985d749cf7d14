package rules

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

// clientWith returns a client with id "t:"+id and won deals of amount
// closed at each of daysAgo.
func clientWith(id string, amount float64, daysAgo ...int) model.Client {
	c := model.Client{Account: model.Account{Ref: model.NewRef("t", id), CreatedAt: ago(1000 * day)}}
	for _, d := range daysAgo {
		c.Deals = append(c.Deals, won(amount, ago(time.Duration(d)*day)))
	}
	return c
}

// testPortfolio is five clients whose features are hand-computed in
// TestScorePortfolio.
func testPortfolio() []model.Client {
	return []model.Client{
		clientWith("1", 10000, 300, 310, 320, 330, 340), // 50000 in 5 purchases, last 300 days ago
		clientWith("2", 200000, 5),
		clientWith("3", 1000, 30, 60),
		clientWith("4", 500, 250),
		clientWith("5", 0), // never bought
	}
}

func TestScorePortfolio(t *testing.T) {
	// N = 5. Recency, worst first: 5 (never), 1 (300d), 4 (250d), 3 (30d), 2 (5d).
	// Purchases: 5→0, 2→1, 4→1, 3→2, 1→5. Revenue: 5→0, 4→500, 3→2000, 1→50000, 2→200000.
	// ABC: total 252500; 2: S_prev 0 → A; 1: 0.792 → A; 3: 0.990 → C; 4 → C.
	want := []struct {
		abc, pmg, segment string
		pareto            bool
		purchases         int
		r, f, m           int
	}{
		{"A", "medium", SegmentCantLose, true, 5, 2, 5, 4},
		{"A", "large", SegmentPotentialLoyalist, true, 1, 5, 2, 5},
		{"C", "small", SegmentLoyal, false, 2, 4, 4, 3},
		{"C", "small", SegmentAboutToSleep, false, 1, 3, 2, 2},
		{"C", "small", SegmentLost, false, 0, 1, 1, 1},
	}
	got := ScorePortfolio(testNow, testPortfolio(), DefaultSegmentation())
	for i, f := range got {
		w := want[i]
		if f.ABC != w.abc || f.PMG != w.pmg || f.ParetoTop != w.pareto || f.Purchases12m != w.purchases ||
			f.RFM != (RFM{w.r, w.f, w.m, w.segment}) {
			t.Errorf("account %d: %v, want %+v", i+1, f.Map(), w)
		}
	}
}

func TestEvaluatePortfolioFeatures(t *testing.T) {
	clients := testPortfolio()
	features := ScorePortfolio(testNow, clients, DefaultSegmentation())
	tests := []struct {
		when string
		want []string // matching account ids
	}{
		{`rfm.segment == "cant_lose"`, []string{"t:1"}},
		{`pmg == "large" && pareto_top`, []string{"t:2"}},
		{`pareto_top && pmg == "medium" && purchases_12m >= 5`, []string{"t:1"}},
		{`rfm.r == 5 && rfm.f == 2 && rfm.m == 5`, []string{"t:2"}},
		{`rfm.segment in ["lost", "hibernating"] && abc == "C"`, []string{"t:5"}},
		{`rfm.m >= 3 && !pareto_top`, []string{"t:3"}},
		{`pmg == "small"`, []string{"t:3", "t:4", "t:5"}},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			rs, err := Parse("p.yaml", []byte("rules:\n  - name: r\n    when: '"+strings.ReplaceAll(tt.when, "'", "''")+"'\n"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range clients {
				ms, err := rs.Evaluate(testNow, &clients[i], features[i])
				if err != nil {
					t.Fatalf("Evaluate(%s) error = %v", clients[i].Account.ID, err)
				}
				if len(ms) == 1 {
					got = append(got, clients[i].Account.ID)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
		})
	}
}

// bareClientExpressions check every name of the environment on an account
// with nothing but an id: no dates, deals, contacts, owner or fields.
var bareClientExpressions = []string{
	`account.id == "t:bare" && account.name == "" && account.domain == "" && account.lifecycle == ""`,
	`account.timezone == "" && account.url == "" && account.extra.industry == "" && len(account.extra) == 0`,
	`account.created_at.IsZero() && account.last_activity_at.IsZero()`,
	`account.sources == ["t"]`,
	`owner.id == "" && owner.name == "" && owner.email == ""`,
	`len(contacts) == 0 && none(contacts, .id != "" || .name != "" || .email != "" || .opt_out || .primary || .title != "" || days_since(.last_activity_at) > 0)`,
	`revenue_12m == 0 && revenue_prev_12m == 0 && revenue_trend == 1`,
	`days_inactive == 106751`, // from the zero time: the longest time.Duration
	`days_since_purchase == nil && !(days_since_purchase > 0)`,
	`purchases_12m == 0`,
	`abc == "C" && !pareto_top && pmg == "small"`,
	`rfm.r == 1 && rfm.f == 1 && rfm.m == 1 && rfm.segment == "lost"`,
	`lifecycle == ""`,
	`now.Year() == 2025 && days_since(now) == 0 && days(2) == days(1) * 2`,
}

func TestEvaluateBareClient(t *testing.T) {
	clients := []model.Client{{Account: model.Account{Ref: model.NewRef("t", "bare")}}}
	f := ScorePortfolio(testNow, clients, DefaultSegmentation())[0]
	for _, when := range bareClientExpressions {
		t.Run(when, func(t *testing.T) {
			rs, err := Parse("bare.yaml", []byte("rules:\n  - name: r\n    when: '"+strings.ReplaceAll(when, "'", "''")+"'\n"))
			if err != nil {
				t.Fatal(err)
			}
			ms, err := rs.Evaluate(testNow, &clients[0], f)
			if err != nil || len(ms) != 1 {
				t.Errorf("Evaluate() = %d matches, %v; want 1", len(ms), err)
			}
		})
	}
	all := strings.Join(bareClientExpressions, " ")
	for _, name := range envNames {
		if !regexp.MustCompile(`\b` + name + `\b`).MatchString(all) {
			t.Errorf("no expression names %s", name)
		}
	}
	for typ, fields := range fieldNames {
		for _, field := range fields {
			if !strings.Contains(all, "."+field) {
				t.Errorf("no expression names %s.%s", typ, field)
			}
		}
	}
}

func TestSampleOfFeatures(t *testing.T) {
	f := Features{Revenue12m: 12.5, Purchases12m: 3, DaysSincePurchase: intp(9), ABC: "B"}
	want := Sample{AccountID: "x", Revenue12m: 12.5, Purchases12m: 3, DaysSincePurchase: intp(9)}
	if got := f.Sample("x"); !reflect.DeepEqual(got, want) {
		t.Errorf("Sample() = %+v, want %+v", got, want)
	}
}
