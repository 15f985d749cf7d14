package app

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify/locale"
	"github.com/crmsync/crmsync/web"
)

// TestDashboardAccountAndRules: after the demo's pass, a flagged account's
// page shows its flag and its ledger trail, under its stored id and under
// the CRM's own id; a mistyped id is a 404 naming the account meant; the
// rules page shows the pass's flags for each rule.
func TestDashboardAccountAndRules(t *testing.T) {
	a := startApp(t, demoOnRedis(t, ""))
	res, _ := runDemo(t, a, 1)
	rep := res.Passes[0].Report
	ctx := t.Context()
	get := serveDashboard(t, a)

	book, err := a.webData().Book(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A flagged account with messages in the ledger.
	var id string
	for fid, ruleNames := range book.Flagged {
		es, err := a.Store.Ledger.History(ctx, fid)
		if err != nil {
			t.Fatal(err)
		}
		if len(ruleNames) > 0 && len(es) > 0 && (id == "" || fid < id) {
			id = fid
		}
	}
	if id == "" {
		t.Fatal("the demo's pass flagged and messaged no account")
	}
	rec, err := a.webData().Account(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	acc := rec.Client.Account
	trail, _ := a.Store.Ledger.History(ctx, id)
	page := get(web.AccountURL(id), 200)
	for _, want := range []string{
		"<h1>" + htmlText(acc.Name) + "</h1>",
		`<b id="flags-now">` + strings.Join(book.Flagged[id], ", ") + "</b>",
		"<td>" + trail[0].Rule + "</td>", "<td>" + htmlText(trail[0].Recipient) + "</td>",
		`id="features"`, `id="contacts"`, `id="deals"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("account page of %s lacks %q", id, want)
		}
	}
	if slices.ContainsFunc(rec.Client.Deals, func(d model.Deal) bool { return d.Won }) && strings.Contains(page, "no won deals") {
		t.Error("the won deals are missing")
	}
	if own := get("/accounts/"+url.PathEscape(acc.ExternalID), 200); !strings.Contains(own, "<h1>"+htmlText(acc.Name)+"</h1>") {
		t.Errorf("the CRM's own id %s does not lead to %s", acc.ExternalID, id)
	}
	typo := strings.ToUpper(id) // ids are case-sensitive; the suggestion ignores case
	if miss := get(web.AccountURL(typo), 404); !strings.Contains(miss, `<a href="`+web.AccountURL(id)+`">`) {
		t.Errorf("the 404 of %s does not suggest %s:\n%s", typo, id, miss)
	}

	rules := get("/rules", 200)
	if !strings.Contains(rules, "<td>"+rep.Pass+"</td>") {
		t.Errorf("the rules page lacks the pass %s", rep.Pass)
	}
	for _, r := range a.Rules.Rules {
		i := strings.Index(rules, `id="rule-`+r.Name+`"`)
		if i < 0 {
			t.Errorf("the rules page lacks rule %s", r.Name)
			continue
		}
		sec := rules[i:]
		sec = sec[:strings.Index(sec, "</section>")]
		if want := `<td class="n">` + locale.For(a.Config.Locale).Number(float64(rep.Flags[r.Name])) + "</td>"; !strings.Contains(sec, want) {
			t.Errorf("rule %s: lacks its %d flagged accounts", r.Name, rep.Flags[r.Name])
		}
		if r.Holdout == 0 && !strings.Contains(sec, "No holdout") {
			t.Errorf("rule %s has no holdout and the page does not say so", r.Name)
		}
	}
}

// htmlText is s as html/template writes it in text.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
