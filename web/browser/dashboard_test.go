package browser

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
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
		for _, u := range []struct {
			name string
			tab  *tab
		}{{"admin", admin}, {"rep", rep}} {
			for _, p := range pages {
				u.tab.openOK(t, p)
				where := u.name + " " + p
				if n := u.tab.count(t, "script"); n != 0 {
					t.Errorf("%s: %d script elements, want none", where, n)
				}
				if n := u.tab.count(t, "main h1"); n != 1 {
					t.Errorf("%s: %d h1 in main, want 1", where, n)
				}
				u.tab.checkClean(t, where)
				u.tab.screenshot(t, shots, u.name+"-"+strings.Trim(strings.ReplaceAll(p, "/", "-"), "-"))
			}
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
		}
	})

	t.Run("CRM values render as text", func(t *testing.T) {
		admin.openOK(t, "/portfolio")
		opt := `select[name="owner"] option[value=` + jsString(s.hostileOwner.Email) + `]`
		if got := run(t, admin, "the hostile owner's option", chromedp.TextContent(chromedp.CSS(opt))); got != hostile {
			t.Errorf("the owner named %s shows as %q", hostile, got)
		}
		if n := admin.count(t, "script"); n != 0 {
			t.Errorf("%d script elements on the page", n)
		}
		admin.checkClean(t, "admin /portfolio with a hostile owner")
	})

	t.Run("a form without the CSRF token is refused", func(t *testing.T) {
		tb := newTab(t, browser, s.URL)
		tb.signIn(t, s.slack, s.rep)
		for _, action := range []string{"/auth/logout", "/portfolio"} {
			tb.openOK(t, "/portfolio")
			eval[bool](t, tb, `(document.body.insertAdjacentHTML("beforeend",
				'<form id="nocsrf" method="post" action=`+jsString(action)+`><input name="x" value="1"><button>go</button></form>'), true)`)
			if resp := tb.submit(t, "#nocsrf button"); resp.Status != 403 {
				t.Errorf("POST %s without a CSRF token: %d, want 403", action, resp.Status)
			}
			if body := tb.text(t, "body"); !strings.Contains(body, "CSRF") {
				t.Errorf("POST %s without a CSRF token: the page does not say why: %s", action, body)
			}
			refused := func(m chromedp.ConsoleMessage) bool {
				return m.URL == s.URL+action && strings.Contains(m.Text, "403")
			}
			tb.checkClean(t, "POST "+action, refused)
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
