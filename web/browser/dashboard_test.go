package browser

import (
	"bytes"
	"encoding/csv"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/notify/locale"
)

// TestDashboard drives the dashboard in Chromium as a rep and as an
// admin, both signed in through Slack (fake), over the sample portfolio
// on real Redis. One app and one browser serve every subtest.
func TestDashboard(t *testing.T) {
	chromium := chromiumPath(t)
	s := startSite(t)
	browser := startBrowser(t, chromium)
	shots := screenshotDir(t)

	admin := newTab(t, browser, s.URL)
	admin.signIn(t, s.slack, person{Name: "The Boss", Email: adminEmail})
	rep := newTab(t, browser, s.URL)
	rep.signIn(t, s.slack, s.rep)

	t.Run("every page loads clean", func(t *testing.T) {
		pages := admin.navLinks(t)
		if len(pages) == 0 || pages[0] != "/portfolio" {
			t.Fatalf("navigation %v: want /portfolio first", pages)
		}
		for _, p := range pages {
			admin.openOK(t, p)
			checkPage(t, admin, "admin "+p)
			admin.screenshot(t, shots, "admin-"+strings.TrimPrefix(p, "/"))
		}
		repPages := rep.navLinks(t)
		for _, p := range pages {
			if slices.Contains(repPages, p) {
				rep.openOK(t, p)
				checkPage(t, rep, "rep "+p)
				continue
			}
			// A page the rep's navigation leaves out is for admins.
			if resp := rep.open(t, p); resp.Status != 403 {
				t.Errorf("rep GET %s, not in their navigation: %d, want 403", p, resp.Status)
			}
			rep.checkClean(t, "rep "+p, refused(s.URL+p))
		}
		rep.openOK(t, "/portfolio")
		rep.screenshot(t, shots, "rep-portfolio")
		for _, p := range repPages {
			if !slices.Contains(pages, p) {
				t.Errorf("the rep's navigation has %s, the admin's does not", p)
			}
		}
	})

	t.Run("account pages are the owner's", func(t *testing.T) {
		for _, c := range []struct {
			who  string
			tab  *tab
			id   string
			want int
		}{
			{"rep", rep, s.repAccount, 200},
			{"rep", rep, s.otherAccount, 403},
			{"admin", admin, s.otherAccount, 200},
			{"admin", admin, s.repAccount, 200},
		} {
			p := "/accounts/" + c.id
			resp := c.tab.open(t, p)
			if resp.Status != int64(c.want) {
				t.Errorf("%s GET %s: %d, want %d", c.who, p, resp.Status, c.want)
			}
			if c.want != 200 {
				if body := c.tab.text(t, "body"); strings.Contains(body, c.id) && strings.Contains(body, "won deals") {
					t.Errorf("%s GET %s: refused, yet the page shows the account: %s", c.who, p, body)
				}
				c.tab.checkClean(t, c.who+" "+p, refused(s.URL+p))
				continue
			}
			checkPage(t, c.tab, c.who+" "+p)
			if got := c.tab.text(t, "main h1"); got == "" || strings.Contains(got, "No such account") {
				t.Errorf("%s GET %s: the heading is %q", c.who, p, got)
			}
		}
		admin.openOK(t, "/accounts/"+s.hostileAccount)
		admin.screenshot(t, shots, "admin-account")
	})

	t.Run("the at-risk export matches the table", func(t *testing.T) {
		for _, u := range []struct {
			name string
			tab  *tab
		}{{"admin", admin}, {"rep", rep}} {
			atRiskMatchesExport(t, s, u.name, u.tab)
		}
	})

	t.Run("a rep sees only their book", func(t *testing.T) {
		admin.openOK(t, "/portfolio")
		all := kpis(t, admin)
		admin.openOK(t, "/portfolio?owner="+url.QueryEscape(s.rep.Email))
		theirs := kpis(t, admin)
		if theirs == all {
			t.Fatalf("the owner filter changed nothing: %+v", all)
		}
		for _, p := range []string{"/portfolio", "/portfolio?owner=" + url.QueryEscape(s.other.Email), "/portfolio?owner="} {
			rep.openOK(t, p)
			if got := kpis(t, rep); got != theirs {
				t.Errorf("rep at %s sees %+v, want their own book %+v", p, got, theirs)
			}
			if n := rep.count(t, `select[name="owner"]`); n != 0 {
				t.Errorf("rep at %s has an owner filter", p)
			}
			if body := rep.text(t, "body"); strings.Contains(body, s.other.Name) || strings.Contains(body, s.other.Email) {
				t.Errorf("rep at %s sees the other rep %s", p, s.other.Name)
			}
			rep.checkClean(t, "rep "+p)
		}
	})

	t.Run("each page shows a rep what the admin sees of their book", func(t *testing.T) {
		repPages := rep.navLinks(t)
		for _, p := range admin.navLinks(t) {
			admin.openOK(t, p)
			if admin.count(t, `form.filters select[name="owner"]`) == 0 || !slices.Contains(repPages, p) {
				continue
			}
			all := figuresText(t, admin)
			admin.openOK(t, p+"?owner="+url.QueryEscape(s.rep.Email))
			theirs := figuresText(t, admin)
			rep.openOK(t, p+"?owner="+url.QueryEscape(s.other.Email))
			if got := figuresText(t, rep); got != theirs {
				t.Errorf("%s: the rep sees other figures than the admin filtering on them:\n%s", p, lineDiff(theirs, got))
			}
			if theirs == all {
				t.Errorf("%s: the owner filter changed no figure", p)
			}
			checkPage(t, rep, "rep "+p)
		}
	})

	t.Run("the filters change the figures", func(t *testing.T) {
		for _, u := range []struct {
			name string
			tab  *tab
		}{{"admin", admin}, {"rep", rep}} {
			tb := u.tab
			tb.openOK(t, "/portfolio")
			before := kpis(t, tb)
			classA := tb.text(t, `#abc tbody tr:nth-child(1) td:nth-child(2)`)
			if got := tb.text(t, `#abc tbody tr:nth-child(1) td:nth-child(1)`); got != "A" {
				t.Fatalf("%s: the ABC table's first row is %q, want A", u.name, got)
			}
			run(t, tb, "select class A", chromedp.SetValue(chromedp.CSS(`form.filters select[name="class"]`), "A"))
			if resp := tb.submit(t, `form.filters button`); resp.Status != 200 {
				t.Fatalf("%s: applying the filter: %d", u.name, resp.Status)
			}
			loc, _ := url.Parse(tb.location(t))
			if loc.Path != "/portfolio" || loc.Query().Get("class") != "A" {
				t.Errorf("%s: the filter led to %s, want /portfolio?class=A", u.name, loc)
			}
			after := kpis(t, tb)
			if after.accounts != classA {
				t.Errorf("%s: class A has %s accounts, the ABC table said %s", u.name, after.accounts, classA)
			}
			if after.clients == before.clients || after.revenue == before.revenue {
				t.Errorf("%s: the class filter did not change the KPIs: %+v then %+v", u.name, before, after)
			}
			if got := run(t, tb, "selected class", chromedp.Value(chromedp.CSS(`form.filters select[name="class"]`))); got != "A" {
				t.Errorf("%s: the class select shows %q after filtering, want A", u.name, got)
			}
			tb.checkClean(t, u.name+" filtered")

			// The navigation keeps the filter: the at-risk list is class A's.
			tb.submit(t, `header nav a[href^="/at-risk"]`)
			if loc, _ := url.Parse(tb.location(t)); loc.Path != "/at-risk" || loc.Query().Get("class") != "A" {
				t.Errorf("%s: the at-risk link led to %s, want /at-risk?class=A", u.name, loc)
			}
			rows := tb.rows(t, "#at-risk")
			for _, r := range rows {
				if len(r.Cells) < 7 || r.Cells[6] != "A" {
					t.Errorf("%s: at risk, class A: the row %q", u.name, r.Cells)
				}
			}
			if len(rows) == 0 {
				t.Errorf("%s: no class A account at risk", u.name)
			}
			checkPage(t, tb, u.name+" /at-risk?class=A")
		}
	})

	t.Run("every page's class filter changes its figures", func(t *testing.T) {
		for _, p := range admin.navLinks(t) {
			admin.openOK(t, p)
			sel := `form.filters select[name="class"]`
			if admin.count(t, sel) == 0 {
				continue
			}
			before := figuresText(t, admin)
			run(t, admin, "select class A", chromedp.SetValue(chromedp.CSS(sel), "A"))
			if resp := admin.submit(t, `form.filters button`); resp.Status != 200 {
				t.Fatalf("%s: applying the filter: %d", p, resp.Status)
			}
			if loc, _ := url.Parse(admin.location(t)); loc.Path != p || loc.Query().Get("class") != "A" {
				t.Errorf("%s: the filter led to %s, want %s?class=A", p, loc, p)
			}
			if figuresText(t, admin) == before {
				t.Errorf("%s: the class filter changed no figure", p)
			}
			checkPage(t, admin, p+"?class=A")
		}
	})

	t.Run("CRM values render as text", func(t *testing.T) {
		admin.openOK(t, "/portfolio")
		opt := `select[name="owner"] option[value=` + jsString(s.hostileOwner.Email) + `]`
		if got := run(t, admin, "the hostile owner's option", chromedp.TextContent(chromedp.CSS(opt))); got != hostile {
			t.Errorf("the owner named %s shows as %q", hostile, got)
		}
		checkPage(t, admin, "admin /portfolio with a hostile owner")
		admin.openOK(t, "/at-risk?owner="+url.QueryEscape(s.hostileOwner.Email))
		rows := admin.rows(t, "#at-risk")
		if len(rows) == 0 || len(rows[0].Cells) < 2 {
			t.Fatalf("the at-risk list of the owner named %s is empty: %v", hostile, rows)
		}
		for _, r := range rows {
			if r.Cells[1] != hostile {
				t.Errorf("at risk: the owner named %s shows as %q", hostile, r.Cells[1])
			}
		}
		checkPage(t, admin, "admin /at-risk of a hostile owner")
		for _, u := range []struct {
			name string
			tab  *tab
		}{{"admin", admin}, {"rep", rep}} {
			p := "/accounts/" + s.hostileAccount
			u.tab.openOK(t, p)
			if got := u.tab.text(t, "main h1"); got != hostile {
				t.Errorf("%s GET %s: the account named %s is headed %q", u.name, p, hostile, got)
			}
			checkPage(t, u.tab, u.name+" "+p)
		}
	})

	t.Run("a form without the CSRF token is refused", func(t *testing.T) {
		tb := newTab(t, browser, s.URL)
		tb.signIn(t, s.slack, s.rep)
		for _, action := range []string{"/auth/logout", "/portfolio", "/ops/resend"} {
			tb.openOK(t, "/portfolio")
			injectForm(t, tb, action, map[string]string{"queue": "default", "id": "x"})
			if resp := tb.submit(t, "#injected button"); resp.Status != 403 {
				t.Errorf("POST %s without a CSRF token: %d, want 403", action, resp.Status)
			}
			if body := tb.text(t, "body"); !strings.Contains(body, "CSRF") {
				t.Errorf("POST %s without a CSRF token: the page does not say why: %s", action, body)
			}
			tb.checkClean(t, "POST "+action, refused(s.URL+action))
		}
		// With the session's token, the admin's resend form goes through
		// (to say there is no such task); the rep's is refused as not an
		// admin's.
		for _, c := range []struct {
			who  string
			tab  *tab
			want int64
		}{{"admin", admin, 200}, {"rep", tb, 403}} {
			c.tab.openOK(t, "/portfolio")
			token := run(t, c.tab, "the CSRF token", chromedp.Value(chromedp.CSS(`header form input[name="csrf"]`)))
			injectForm(t, c.tab, "/ops/resend", map[string]string{"csrf": token, "queue": "default", "id": "no-such-task"})
			resp := c.tab.submit(t, "#injected button")
			if resp.Status != c.want {
				t.Errorf("%s: POST /ops/resend with the CSRF token: %d, want %d", c.who, resp.Status, c.want)
			}
			if body := c.tab.text(t, "body"); strings.Contains(body, "CSRF") {
				t.Errorf("%s: POST /ops/resend with the CSRF token was refused for it: %s", c.who, body)
			}
			c.tab.checkClean(t, c.who+" POST /ops/resend", refused(s.URL+"/ops/resend"))
		}
		if got := admin.text(t, "#done"); !strings.Contains(got, "no-such-task") {
			t.Errorf("admin: the resend of no task says %q", got)
		}

		// Still signed in; the real sign-out form carries the token.
		tb.openOK(t, "/portfolio")
		tb.submit(t, `header form[action="/auth/logout"] button`)
		if loc, _ := url.Parse(tb.location(t)); loc.Path != "/auth/login" {
			t.Errorf("signing out with the form led to %s, want the sign-in page", loc)
		}
		tb.open(t, "/portfolio")
		if loc, _ := url.Parse(tb.location(t)); loc.Path != "/auth/login" {
			t.Errorf("signed out, /portfolio led to %s", loc)
		}
		tb.checkClean(t, "sign out")
	})

	admin.checkClean(t, "admin, at the end")
	rep.checkClean(t, "rep, at the end")
}

// figures are the portfolio page's KPIs as shown.
type figures struct {
	clients, accounts, revenue, atRisk string
}

// kpis reads the portfolio page's KPI cards.
func kpis(t *testing.T, tb *tab) figures {
	t.Helper()
	accounts, _, _ := strings.Cut(tb.text(t, `#kpi-clients + span`), " accounts")
	return figures{
		clients:  tb.text(t, "#kpi-clients"),
		accounts: accounts,
		revenue:  tb.text(t, "#kpi-revenue"),
		atRisk:   tb.text(t, "#kpi-at-risk"),
	}
}

// checkPage checks what every page must be: no script element (the pages
// have none, so one is injected), one heading, and a clean console.
func checkPage(t *testing.T, tb *tab, where string) {
	t.Helper()
	if n := tb.count(t, "script"); n != 0 {
		t.Errorf("%s: %d script elements, want none", where, n)
	}
	if n := tb.count(t, "main h1"); n != 1 {
		t.Errorf("%s: %d h1 in main, want 1", where, n)
	}
	tb.checkClean(t, where)
}

// refused matches the console's report of a 403 for url, which the test
// asked for.
func refused(url string) func(chromedp.ConsoleMessage) bool {
	return func(m chromedp.ConsoleMessage) bool {
		return m.URL == url && strings.Contains(m.Text, "403")
	}
}

// atRiskMatchesExport checks that the CSV the at-risk page exports has
// the page's rows, in its order, and as many as the page counts: sorted
// by value (the default), then by days inactive (the column's link),
// then on the next page.
func atRiskMatchesExport(t *testing.T, s *site, who string, tb *tab) {
	t.Helper()
	tb.openOK(t, "/at-risk")
	atRiskPageMatches(t, s, who, tb)
	if resp := tb.submit(t, `#at-risk thead a[href*="sort=days"]`); resp.Status != 200 {
		t.Fatalf("%s: sorting by days_inactive: %d", who, resp.Status)
	}
	days := atRiskPageMatches(t, s, who, tb)
	if !slices.IsSortedFunc(days, func(a, b int) int { return b - a }) {
		t.Errorf("%s: sorted by days_inactive, the page shows %v", who, days)
	}
	switch n := tb.count(t, `.pager a[rel="next"]`); {
	case n == 0 && who == "admin":
		t.Errorf("admin: the at-risk list (%s accounts) has no next page", tb.text(t, "#at-risk-accounts"))
	case n == 1:
		tb.submit(t, `.pager a[rel="next"]`)
		if loc, _ := url.Parse(tb.location(t)); loc.Query().Get("page") != "2" || loc.Query().Get("sort") != "days" {
			t.Errorf("%s: the next page is %s, want page 2 sorted by days", who, loc)
		}
		atRiskPageMatches(t, s, who, tb)
	}
}

// atRiskPageMatches downloads the export of the at-risk page shown and
// checks that the page's rows are the export's at the page's offset, and
// that the page's totals are the export's. It returns the page's
// days_inactive.
func atRiskPageMatches(t *testing.T, s *site, who string, tb *tab) []int {
	t.Helper()
	loc, _ := url.Parse(tb.location(t))
	where := who + " " + loc.RequestURI()
	checkPage(t, tb, where)
	pageNo := 1
	if p := loc.Query().Get("page"); p != "" {
		pageNo, _ = strconv.Atoi(p)
	}
	table := tb.rows(t, "#at-risk")
	total := tb.text(t, "#at-risk-accounts")
	revenue := tb.text(t, "#at-risk-revenue")
	records, err := csv.NewReader(bytes.NewReader(tb.download(t, `a[href^="/at-risk.csv"]`))).ReadAll()
	if err != nil {
		t.Fatalf("%s: the export is not CSV: %v", where, err)
	}
	if len(records) == 0 || strings.Join(records[0], ",") != "id,name,owner,owner_email,rules,days_inactive,revenue_12m,revenue_trend,abc,rfm_segment" {
		t.Fatalf("%s: the export's header: %v", where, records)
	}
	rows := records[1:]
	lc := locale.For(s.app.Config.Locale)
	if got := lc.Number(float64(len(rows))); got != total {
		t.Errorf("%s: the export has %s rows, the page counts %s", where, got, total)
	}
	offset := (pageNo - 1) * 50
	if len(rows) <= offset || len(table) != min(len(rows)-offset, 50) {
		t.Fatalf("%s: the table has %d rows, the export %d: want the export's from %d, at most 50", where, len(table), len(rows), offset+1)
	}
	sum, days := 0.0, []int{}
	for i, r := range rows {
		rev, err := strconv.ParseFloat(r[6], 64)
		if err != nil {
			t.Fatalf("%s: export row %d: revenue_12m %q", where, i+1, r[6])
		}
		sum += rev
		if who == "rep" && r[3] != s.rep.Email {
			t.Errorf("rep: the export has %s's account %s", r[3], r[0])
		}
		if i < offset || i >= offset+len(table) {
			continue
		}
		d, _ := strconv.Atoi(r[5])
		days = append(days, d)
		row := table[i-offset]
		want := []string{r[1], r[2], strings.ReplaceAll(r[4], " ", ", "), lc.Number(float64(d)), lc.Money(rev, s.app.Config.Currency)}
		if !slices.Equal(row.Cells[:5], want) || row.Link != "/accounts/"+url.PathEscape(r[0]) || row.Cells[6] != r[8] || row.Cells[7] != r[9] {
			t.Errorf("%s: row %d: the table shows %q (%s), the export %q", where, i+1, row.Cells, row.Link, r)
		}
	}
	if got := lc.Money(sum, s.app.Config.Currency); got != revenue {
		t.Errorf("%s: the export's revenue_12m sums to %s, the page says %s", where, got, revenue)
	}
	return days
}

// figuresText returns the text of the page's KPI cards and table rows,
// one a line, sorted: the portfolio page lists RFM segments of equal
// counts in no set order.
func figuresText(t *testing.T, tb *tab) string {
	t.Helper()
	lines := eval[[]string](t, tb, `Array.from(document.querySelectorAll("main .card, main tr")).map(e => e.textContent.trim())`)
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// injectForm adds a POST form to action with fields (hidden) and a
// button "#injected button" to the page, as another site's form would
// post (without the session's CSRF token unless fields has it).
func injectForm(t *testing.T, tb *tab, action string, fields map[string]string) {
	t.Helper()
	js := `(() => { const f = document.createElement("form"); f.id = "injected"; f.method = "post"; f.action = ` + jsString(action) + `;`
	for k, v := range fields {
		js += `{ const i = document.createElement("input"); i.type = "hidden"; i.name = ` + jsString(k) + `; i.value = ` + jsString(v) + `; f.append(i); }`
	}
	js += `f.append(document.createElement("button")); document.body.append(f); return true; })()`
	eval[bool](t, tb, js)
}

// lineDiff returns the lines of a and b that differ, side by side.
func lineDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := range max(len(la), len(lb)) {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			out = append(out, "admin: "+x+"\n  rep: "+y)
		}
	}
	return strings.Join(out, "\n")
}
