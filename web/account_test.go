package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/web/auth"
	"github.com/crmsync/crmsync/workers"
)

// pagesData is fakeData with accounts, rules and passes.
type pagesData struct {
	fakeData
	accounts map[string]*AccountRecord
	rules    []RuleOutcomes
	passes   []*workers.Report
}

func (d pagesData) Account(_ context.Context, id string) (*AccountRecord, error) {
	if rec, ok := d.accounts[id]; ok {
		return rec, nil
	}
	return nil, &UnknownAccountError{ID: id, Suggestions: []string{"crm:01 (Account 01)", "crm:02 (Account 02)"}}
}
func (d pagesData) RuleOutcomes(context.Context) ([]RuleOutcomes, error) { return d.rules, nil }
func (d pagesData) RecentPasses(_ context.Context, n int) ([]*workers.Report, error) {
	return d.passes[:min(n, len(d.passes))], nil
}

// pagesServer serves d's pages through the routes of Handler, for u, as
// Require would let them through.
func pagesServer(t testing.TB, d pagesData) func(path string, u auth.User) *httptest.ResponseRecorder {
	t.Helper()
	s := testServer(t, d.book)
	s.data = d
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/{id}", s.account)
	mux.HandleFunc("GET /rules", s.rules)
	return func(path string, u auth.User) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r = r.WithContext(auth.WithUser(r.Context(), u))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
}

var (
	admin = auth.User{Email: "boss@example.com", Admin: true}
	ann   = auth.User{Email: "ann@example.com"}
	bob   = auth.User{Email: "bob@example.com"}
)

// accountBook is two accounts: crm:01 of ann, merged from two CRMs, with
// a hostile name, contacts (one opted out), three deals (two won), a flag
// now and a trail; crm:02 of bob.
func accountBook() pagesData {
	c1, c2 := client("01", "ann", 1000, 10), client("02", "bob", 2000, 20)
	c1.Account.Name = "<script>alert(1)</script>"
	c1.Account.URL = "https://crm.example.com/accounts/01?a=1&b=2"
	c1.Account.Sources = []model.Ref{model.NewRef("crm", "01"), model.NewRef("legacy", "L1")}
	c1.Contacts = []model.Contact{
		{Ref: model.NewRef("crm", "p1"), FirstName: "Eve", LastName: "Ok", Email: "eve@example.com", Title: "CEO"},
		{Ref: model.NewRef("crm", "p2"), FirstName: "Opt", LastName: "Out", Email: "out@example.com", OptOut: true},
	}
	c1.Deals = append(c1.Deals,
		model.Deal{Ref: model.NewRef("crm", "lost"), Name: "lost one", Amount: 99, ClosedAt: pageNow.AddDate(0, 0, -5)},
		model.Deal{Ref: model.NewRef("crm", "old"), Name: "renewal 2025", Amount: 500, Won: true, ClosedAt: pageNow.AddDate(-1, -1, 0)})
	p := insights.NewPortfolio(pageNow, rules.DefaultSegmentation(), []model.Client{c1, c2})
	fired := pageNow.Add(-time.Hour)
	trail := []TrailEntry{
		{Entry: store.Entry{Key: "k3", Rule: "quiet", AccountID: "crm:01", Status: store.StatusUnknown, Channel: "email", Recipient: "eve@example.com", ClaimedAt: fired,
			Expression: "days_inactive > 60"}, With: "days_inactive=75", Message: &RenderedMessage{Subject: "Hello <b>Eve</b>", Text: "We miss you"}},
		{Entry: store.Entry{Key: "k2", Rule: "quiet", AccountID: "crm:01", Status: store.StatusSent, Channel: "slack", Recipient: "ann@example.com", ClaimedAt: fired.Add(-time.Minute), SentAt: fired,
			Expression: "days_inactive > 60"}, With: "days_inactive=75"},
		{Entry: store.Entry{Key: "k1", Rule: "upsell", AccountID: "crm:01", Status: store.StatusResolved, ClaimedAt: pageNow.AddDate(0, -2, 0)}, With: "revenue_12m=1000"},
	}
	return pagesData{
		fakeData: fakeData{book: &Book{Scores: p, Flagged: map[string][]string{"crm:01": {"quiet"}}}},
		accounts: map[string]*AccountRecord{"crm:01": {Client: c1, Trail: trail}, "crm:02": {Client: c2},
			"crm:03": {Client: client("03", "ann", 0, 0)}}, // stored since the pass
	}
}

// TestAccountPage: who may see an account, and what its page shows.
func TestAccountPage(t *testing.T) {
	serve := pagesServer(t, accountBook())
	tests := []struct {
		name     string
		path     string
		user     auth.User
		code     int
		want     []string
		wantNot  []string
		wantHTML bool
	}{
		{"admin sees an account", "/accounts/crm%3A01", admin, 200, []string{
			`<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>`,
			`href="https://crm.example.com/accounts/01?a=1&amp;b=2"`,
			`<p id="sources">One portfolio account merged from (config merge): crm 01, legacy L1.</p>`,
			`<b id="flags-now">quiet</b>`,
			`<th>revenue_12m</th><td class="n">1000</td>`, `<th>abc</th><td class="n">A</td>`,
			`<td>Eve Ok</td><td>eve@example.com</td><td>CEO</td><td>yes</td>`,
			`<td>Opt Out</td><td>out@example.com</td><td></td><td><strong class="bad">opted out</strong></td>`,
			// won deals only, newest first
			`<th>revenue_prev_12m</th><td class="n">500</td>`, `<th>revenue_trend</th><td class="n">2</td>`,
			`<tbody>
<tr><td>Nov 20, 2026</td><td></td><td class="n">€1,000</td></tr><tr><td>Oct 30, 2025</td><td>renewal 2025</td><td class="n">€500</td></tr>
</tbody>`,
			`stopped holding`, `<td class="muted">revenue_12m=1000</td>`,
			`<code>days_inactive &gt; 60</code>`, `Hello &lt;b&gt;Eve&lt;/b&gt;`, `We miss you`,
		}, []string{"<script>", "lost one"}, true},
		{"the owner sees it", "/accounts/crm:01", ann, 200, []string{`<b id="flags-now">quiet</b>`}, nil, true},
		{"another rep gets 403", "/accounts/crm:01", bob, 403, []string{"another rep"}, []string{"alert"}, false},
		{"admin: unknown id with suggestions", "/accounts/crm:0l", admin, 404, []string{
			"There is no account <code>crm:0l</code>", `<a href="/accounts/crm:01">crm:01 (Account 01)</a> or <a href="/accounts/crm:02">crm:02 (Account 02)</a>`,
		}, nil, true},
		{"rep: only their own accounts suggested", "/accounts/crm:0l", bob, 404, []string{`<a href="/accounts/crm:02">crm:02 (Account 02)</a>?`}, []string{"crm:01"}, true},
		{"not in the last pass", "/accounts/crm:03", ann, 200, []string{"the account was not in the last pass", `<th>revenue_12m</th><td class="n">0</td>`, `<th>abc</th><td class="n">–</td>`, "no won deals"}, nil, true},
		{"no CRM link, no flag", "/accounts/crm:02", bob, 200, []string{"no link", `<b id="flags-now">no</b>`, "no messages", "no contacts"}, []string{`id="crm-link"`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(tt.path, tt.user)
			body := w.Body.String()
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.code, body)
			}
			if ct := w.Header().Get("Content-Type"); tt.wantHTML != strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q", ct)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q", s)
				}
			}
			for _, s := range tt.wantNot {
				if strings.Contains(body, s) {
					t.Errorf("has %q", s)
				}
			}
			if t.Failed() {
				t.Log(body)
			}
		})
	}
}

// TestAccountLinks: only http and https links to the CRM are shown.
func TestAccountLinks(t *testing.T) {
	for in, want := range map[string]string{
		"https://x.example/a?b=1": "https://x.example/a?b=1",
		" http://x.example/ ":     "http://x.example/",
		"javascript:alert(1)":     "",
		"//x.example/a":           "",
		"ftp://x.example/":        "",
		"":                        "",
	} {
		if got := crmLink(in); got != want {
			t.Errorf("crmLink(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAccountPaging: a long trail shows 50 entries a page, with links to
// the others that keep the rest of the query.
func TestAccountPaging(t *testing.T) {
	d := accountBook()
	rec := d.accounts["crm:01"]
	rec.Trail = nil
	for i := range 120 {
		rec.Trail = append(rec.Trail, TrailEntry{Entry: store.Entry{Key: fmt.Sprint(i), Rule: fmt.Sprintf("rule-%03d", i), Status: store.StatusSent, ClaimedAt: pageNow}})
	}
	serve := pagesServer(t, d)
	tests := []struct {
		query      string
		rows       int
		first, end string
		links      []string
	}{
		{"", 50, "rule-000", "rule-049", []string{`<span>1–50 of 120</span><a href="?trail=2">next</a>`}},
		{"?trail=2&deals=1", 50, "rule-050", "rule-099", []string{`<a href="?deals=1&amp;trail=1">previous</a><span>51–100 of 120</span><a href="?deals=1&amp;trail=3">next</a>`}},
		{"?trail=3", 20, "rule-100", "rule-119", []string{`<a href="?trail=2">previous</a><span>101–120 of 120</span></div>`}},
		{"?trail=99", 20, "rule-100", "rule-119", nil},
		{"?trail=x", 50, "rule-000", "rule-049", nil},
	}
	for _, tt := range tests {
		body := serve("/accounts/crm:01"+tt.query, admin).Body.String()
		trail := body[strings.Index(body, `id="trail"`):]
		if n := strings.Count(trail, "<td>rule-"); n != tt.rows {
			t.Errorf("%s: %d rows, want %d", tt.query, n, tt.rows)
		}
		if !strings.Contains(trail, "<td>"+tt.first+"</td>") || !strings.Contains(trail, "<td>"+tt.end+"</td>") {
			t.Errorf("%s: the page does not run from %s to %s", tt.query, tt.first, tt.end)
		}
		for _, l := range tt.links {
			if !strings.Contains(trail, l) {
				t.Errorf("%s: lacks %q", tt.query, l)
			}
		}
	}
}

// BenchmarkAccountPage: the page of the last account of a 100,000-account
// portfolio (the lookup scans them all), as its rep sees it, with 300
// contacts, 500 won deals and 1,000 ledger entries to page through.
func BenchmarkAccountPage(b *testing.B) {
	cs := make([]model.Client, 100_000)
	for i := range cs {
		cs[i] = client(fmt.Sprintf("%06d", i), fmt.Sprintf("rep%02d", i%40), float64(i%997)*37, i%400)
	}
	last := cs[len(cs)-1]
	for i := range 300 {
		last.Contacts = append(last.Contacts, model.Contact{Ref: model.NewRef("crm", fmt.Sprint("c", i)), FirstName: "C", LastName: fmt.Sprint(i), Email: fmt.Sprint("c", i, "@example.com"), OptOut: i%7 == 0})
	}
	for i := range 500 {
		last.Deals = append(last.Deals, model.Deal{Ref: model.NewRef("crm", fmt.Sprint("d", i)), Name: fmt.Sprint("deal ", i), Amount: 100, Won: true, ClosedAt: pageNow.AddDate(0, 0, -i)})
	}
	var trail []TrailEntry
	for i := range 1000 {
		trail = append(trail, TrailEntry{Entry: store.Entry{Key: fmt.Sprint(i), Rule: "quiet", Status: store.StatusSent, Channel: "email", Recipient: "c1@example.com",
			ClaimedAt: pageNow.Add(-time.Duration(i) * time.Hour), Expression: "days_inactive > 60"}, With: "days_inactive=75 revenue_12m=1000"})
	}
	d := pagesData{
		fakeData: fakeData{book: &Book{Scores: insights.NewPortfolio(pageNow, rules.DefaultSegmentation(), cs), Flagged: map[string][]string{last.Account.ID: {"quiet"}}}},
		accounts: map[string]*AccountRecord{last.Account.ID: {Client: last, Trail: trail}},
	}
	serve := pagesServer(b, d)
	u := auth.User{Email: last.Owner.Email}
	b.ResetTimer()
	for b.Loop() {
		if w := serve("/accounts/"+last.Account.ID+"?trail=3&deals=2", u); w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
