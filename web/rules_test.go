package web

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// rulesData is four rules and two passes. The outcomes, by hand (Wilson
// 95%, z = 1.96; Newcombe's hybrid score interval of the difference):
//
//	quiet:  messaged 40/100 = 40% [30.9%, 49.8%], holdout 5/25 = 20% [8.9%, 39.1%],
//	        uplift 20% [-1.2%, 34.8%]: fewer than 30 in the holdout
//	upsell: messaged 120/400 = 30% [25.7%, 34.7%], holdout 20/100 = 20% [13.3%, 28.9%],
//	        uplift 10% [0.1%, 18.1%]: the interval is above 0
//	nudge:  no holdout configured
//	new:    a holdout, no closed outcome yet (3 open)
func rulesData() pagesData {
	d := accountBook()
	d.rules = []RuleOutcomes{
		{Name: "quiet", When: `days_inactive > 60 && abc == "A"`, Severity: "warning", Cooldown: 720 * time.Hour, Holdout: 0.2, OutcomeWindow: 720 * time.Hour,
			Stats: store.OutcomeStats{Messaged: 100, MessagedReengaged: 40, Holdout: 25, HoldoutReengaged: 5}},
		{Name: "upsell", When: "revenue_trend > 1.5", Severity: "info", Cooldown: 24 * time.Hour, Holdout: 0.2, OutcomeWindow: 720 * time.Hour,
			Stats: store.OutcomeStats{Messaged: 400, MessagedReengaged: 120, Holdout: 100, HoldoutReengaged: 20}},
		{Name: "nudge", When: "days_inactive > 30", Severity: "info", Cooldown: 24 * time.Hour, OutcomeWindow: 720 * time.Hour,
			Stats: store.OutcomeStats{Messaged: 12, MessagedReengaged: 3}},
		{Name: "<script>alert(1)</script>", When: "true", Severity: "critical", Holdout: 0.1, OutcomeWindow: 720 * time.Hour,
			Stats: store.OutcomeStats{Open: 3}},
	}
	d.passes = []*workers.Report{
		{Pass: "p2", Now: pageNow, Accounts: 1200, Flags: map[string]int{"quiet": 7, "upsell": 2}, Resolved: map[string]int{"quiet": 1},
			Enqueued: map[notify.Channel]int{"email": 5, "slack": 9}, Deferred: map[notify.Channel]int{"email": 3},
			Messages: map[string]map[notify.Channel]int{"quiet": {"email": 5, "slack": 6}, "upsell": {"slack": 2}, "digest": {"slack": 1}},
			Skipped:  map[string]map[string]int{"quiet": {"cooldown": 1, "holdout": 2, "opted_out": 2}}},
		{Pass: "p1", Now: pageNow.AddDate(0, 0, -1), Accounts: 1190, Flags: map[string]int{"quiet": 4}},
	}
	return d
}

// TestRulesPage: the settings, the last passes and the outcomes of each
// rule, with what can be concluded from them said plainly.
func TestRulesPage(t *testing.T) {
	serve := pagesServer(t, rulesData())
	w := serve("/rules", ann) // every rep sees the rules
	body := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("status %d:\n%s", w.Code, body)
	}
	section := func(rule string) string {
		i := strings.Index(body, `id="rule-`+rule+`"`)
		if i < 0 {
			t.Fatalf("no section for %s:\n%s", rule, body)
		}
		s := body[i:]
		return s[:strings.Index(s, "</section>")]
	}
	tests := []struct {
		where string
		text  string
		want  []string
	}{
		{"passes", body, []string{
			`<th class="n">email enqueued</th><th class="n">slack enqueued</th><th class="n">email deferred</th><th class="n">slack deferred</th>`,
			`<tr><td>p2</td><td>Nov 30, 2026 12:00</td><td class="n">1,200</td><td class="n">5</td><td class="n">9</td><td class="n">3</td><td class="n">0</td></tr>`,
			`<tr><td>p1</td><td>Nov 29, 2026 12:00</td><td class="n">1,190</td>`,
		}},
		{"quiet", section("quiet"), []string{
			`<code>days_inactive &gt; 60 &amp;&amp; abc == &#34;A&#34;</code>`, `<td>warning</td>`, `<td>720h0m0s</td>`, `20 % of the flagged accounts get no message`,
			`<tr><td>p2</td><td>Nov 30, 2026</td><td class="n">7</td><td class="n">1</td><td class="n">5</td><td class="n">6</td><td>holdout 2, opted_out 2, cooldown 1</td></tr>`,
			`<tr><td>p1</td><td>Nov 29, 2026</td><td class="n">4</td><td class="n">0</td><td class="n">0</td><td class="n">0</td><td>none</td></tr>`,
			`<td>messaged</td><td class="n">100</td><td class="n">40</td><td class="n">40 %</td><td class="n">30.9 % – 49.8 %</td>`,
			`<td>holdout</td><td class="n">25</td><td class="n">5</td><td class="n">20 %</td><td class="n">8.9 % – 39.1 %</td>`,
			`<b>20 %</b>, 95% interval (Newcombe) -1.2 % to 34.8 %`, "Not enough data to conclude",
		}},
		{"upsell", section("upsell"), []string{
			`<td class="n">30 %</td><td class="n">25.7 % – 34.7 %</td>`, `<td class="n">20 %</td><td class="n">13.3 % – 28.9 %</td>`,
			`<b>10 %</b>, 95% interval (Newcombe) 0.1 % to 18.1 %`, `<p class="verdict good">The messages help`,
			`<td class="n">2</td><td class="n">0</td><td class="n">0</td><td class="n">2</td><td>none</td>`,
		}},
		{"nudge", section("nudge"), []string{"<td>none</td>", "No holdout: every flagged account is messaged", `<td class="n">25 %</td>`, `<td class="n">–</td>`}},
		{"hostile", section("&lt;script&gt;alert(1)&lt;/script&gt;"), []string{"Not enough data yet", "3 outcomes are still open"}},
	}
	for _, tt := range tests {
		for _, s := range tt.want {
			if !strings.Contains(tt.text, s) {
				t.Errorf("%s lacks %q", tt.where, s)
			}
		}
		if tt.where != "passes" && tt.where != "quiet" && tt.where != "upsell" && strings.Contains(tt.text, "Uplift") {
			t.Errorf("%s shows an uplift without both groups", tt.where)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("a rule name is not escaped")
	}
	if t.Failed() {
		t.Log(body)
	}
}

// TestRulesPageEmpty: before any pass, the page says so.
func TestRulesPageEmpty(t *testing.T) {
	d := rulesData()
	d.passes = nil
	body := pagesServer(t, d)("/rules", admin).Body.String()
	if !strings.Contains(body, `<p id="no-passes">No pass has run yet`) || strings.Contains(body, `class="rule-passes"`) {
		t.Errorf("no passes:\n%s", body)
	}
}

// BenchmarkRulesPage: 20 rules over the 10 latest passes (the page reads
// no account: its cost does not grow with the portfolio).
func BenchmarkRulesPage(b *testing.B) {
	d := rulesData()
	for len(d.rules) < 20 {
		d.rules = append(d.rules, d.rules[:4]...)
	}
	for len(d.passes) < recentPasses {
		d.passes = append(d.passes, d.passes[0])
	}
	serve := pagesServer(b, d)
	b.ResetTimer()
	for b.Loop() {
		if w := serve("/rules", admin); w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
