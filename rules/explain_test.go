package rules

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

func TestExplain(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	dsp := 40
	client := &model.Client{
		Account:  model.Account{Name: "Acme", Lifecycle: model.Customer, Extra: map[string]string{"tier": "gold"}},
		Contacts: []model.Contact{{Email: "ann@acme.example"}},
		Owner:    &model.Owner{Name: "Bea", Email: "bea@corp.example"},
	}
	features := Features{DaysInactive: 23, DaysSincePurchase: &dsp, RevenueTrend: 0.8, Revenue12m: 12000, ABC: "A", PMG: "medium"}
	tests := []struct {
		name, when string
		client     *model.Client // nil: client
		features   *Features     // nil: features
		want       string        // Explanation.String()
	}{
		{name: "one comparison", when: "days_inactive >= 90",
			want: "r: not flagged — days_inactive >= 90 is false (days_inactive = 23)"},
		{name: "and: the first false part decides", when: `account.lifecycle == "prospect" && days_inactive >= 90`,
			want: `r: not flagged — account.lifecycle == "prospect" is false (account.lifecycle = "customer")`},
		{name: "and: a true part is not a reason", when: `account.lifecycle == "customer" && days_inactive >= 90`,
			want: "r: not flagged — days_inactive >= 90 is false (days_inactive = 23)"},
		{name: "or: both parts are reasons", when: `revenue_trend < 0.5 || days_inactive >= 60`,
			want: "r: not flagged — revenue_trend < 0.5 is false (revenue_trend = 0.8), days_inactive >= 60 is false (days_inactive = 23)"},
		{name: "nested parentheses", when: `abc == "A" && days_since_purchase >= 30 && (revenue_trend < 0.5 || days_inactive >= 60)`,
			want: "r: not flagged — revenue_trend < 0.5 is false (revenue_trend = 0.8), days_inactive >= 60 is false (days_inactive = 23)"},
		{name: "not: a true part is the reason", when: `!(abc == "A")`,
			want: `r: not flagged — abc == "A" is true (abc = "A")`},
		{name: "not over or: the true part", when: `not (pmg == "small" or abc in ["A", "B"])`,
			want: `r: not flagged — abc in ["A", "B"] is true (abc = "A")`},
		{name: "in", when: `pmg in ["large", "small"]`,
			want: `r: not flagged — pmg in ["large", "small"] is false (pmg = "medium")`},
		{name: "a builtin call", when: `len(contacts) > 1`,
			want: "r: not flagged — len(contacts) > 1 is false (len(contacts) = 1, contacts = [1 item])"},
		{name: "a helper and a function", when: `days_since(account.created_at) < 30 && now - account.last_activity_at > days(10)`,
			client: &model.Client{Account: model.Account{CreatedAt: now.AddDate(0, 0, -100)}},
			want:   `r: not flagged — days_since(account.created_at) < 30 is false (days_since(account.created_at) = 100, account.created_at = 2026-08-12T09:00:00Z)`},
		{name: "a map entry", when: `account.extra["tier"] == "silver"`,
			want: `r: not flagged — account.extra.tier == "silver" is false (account.extra.tier = "gold")`},
		{name: "a bool name", when: `pareto_top`,
			want: `r: not flagged — pareto_top is false`},
		{name: "a nil purchase compares false", when: `days_since_purchase >= 60`,
			features: &Features{},
			want:     "r: not flagged — days_since_purchase >= 60 is false (days_since_purchase = nil)"},
		{name: "a closure", when: `any(contacts, .opt_out)`,
			want: "r: not flagged — any(contacts, .opt_out) is false (contacts = [1 item])"},
		{name: "a run-time error", when: `days_inactive > 10 && contacts[0].primary`,
			client: &model.Client{},
			want:   "r: not flagged — contacts[0].primary failed: index out of range: 0 (array length is 0)"},
		{name: "flagged: the parts that made it true", when: `account.lifecycle == "customer" && (days_inactive > 10 || abc == "C")`,
			want: `r: flagged — account.lifecycle == "customer" is true (account.lifecycle = "customer"), days_inactive > 10 is true (days_inactive = 23)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := Parse("explain.yaml", []byte("rules:\n  - name: r\n    when: "+strconv.Quote(tt.when)+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			c, f := client, features
			if tt.client != nil {
				c = tt.client
			}
			if tt.features != nil {
				f = *tt.features
			}
			xs := rs.Explain(now, c, f)
			if len(xs) != 1 {
				t.Fatalf("%d explanations, want 1", len(xs))
			}
			if got := xs[0].String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			ms, _ := rs.Evaluate(now, c, f)
			if xs[0].Matched != (len(ms) == 1) {
				t.Errorf("Matched %v, Evaluate matched %d rules", xs[0].Matched, len(ms))
			}
		})
	}
}

func TestExplainConditionsJSON(t *testing.T) {
	rs, err := Parse("explain.yaml", []byte("rules:\n  - name: a\n    when: days_inactive >= 90\n  - name: b\n    when: days_inactive < 90\n"))
	if err != nil {
		t.Fatal(err)
	}
	xs := rs.Explain(time.Now(), &model.Client{}, Features{DaysInactive: 23})
	b, err := json.Marshal(xs)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"rule":"a","when":"days_inactive \u003e= 90","matched":false,"conditions":[{"expr":"days_inactive \u003e= 90","holds":false,"operands":[{"expr":"days_inactive","value":23}]}]},` +
		`{"rule":"b","when":"days_inactive \u003c 90","matched":true,"conditions":[{"expr":"days_inactive \u003c 90","holds":true,"operands":[{"expr":"days_inactive","value":23}]}]}]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, "nil"}, {"a\"b", `"a\"b"`}, {12000.0, "12000"}, {0.428571428, "0.428571"}, {23, "23"}, {true, "true"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02T03:04:05Z"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.v); got != tt.want {
			t.Errorf("FormatValue(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	if s := (Condition{Expr: "x", Err: "boom"}).String(); !strings.Contains(s, "x failed: boom") {
		t.Errorf("condition error: %q", s)
	}
}
