package web

import (
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/web/auth"
)

// atRiskBook is four accounts, three flagged:
//
//	01 ann 5,000  10 days  quiet           name with a comma and quotes
//	02 bob 1,000 300 days  quiet, lapsed   name starting like a formula
//	03 ann 3,000 100 days  lapsed          name that is a script
//	04 bob 9,000   5 days  not flagged
func atRiskBook() *Book {
	cs := []model.Client{client("01", "ann", 5000, 10), client("02", "bob", 1000, 300), client("03", "ann", 3000, 100), client("04", "bob", 9000, 5)}
	cs[0].Account.Name = `Smith, "Jr"`
	cs[1].Account.Name = `=cmd|' /C calc'!A0`
	cs[2].Account.Name = "<script>alert(1)</script>"
	return &Book{Scores: insights.NewPortfolio(pageNow, rules.DefaultSegmentation(), cs),
		Flagged: map[string][]string{"crm:01": {"quiet"}, "crm:02": {"quiet", "lapsed"}, "crm:03": {"lapsed"}}}
}

// TestAtRiskPage: the flagged accounts in each order, with the rules and
// features; a rep sees only theirs; names are text.
func TestAtRiskPage(t *testing.T) {
	s := testServer(t, atRiskBook())
	admin, bob := auth.User{Admin: true}, auth.User{Email: "bob@example.com"}
	tests := []struct {
		path string
		user auth.User
		ids  []string
	}{
		{"/at-risk", admin, []string{"01", "03", "02"}},
		{"/at-risk?sort=value&dir=asc", admin, []string{"02", "03", "01"}},
		{"/at-risk?sort=days", admin, []string{"02", "03", "01"}},
		{"/at-risk?sort=days&dir=asc", admin, []string{"01", "03", "02"}},
		{"/at-risk?sort=owner", admin, []string{"01", "03", "02"}},
		{"/at-risk?sort=owner&dir=desc", admin, []string{"02", "01", "03"}},
		{"/at-risk?owner=ann@example.com", bob, []string{"02"}},
		{"/at-risk?owner=ann@example.com", admin, []string{"01", "03"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			w := get(t, s, s.atRisk, tc.path, tc.user)
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			html := w.Body.String()
			var ids []string
			for _, row := range tableRows(t, html, "at-risk") {
				ids = append(ids, row[0])
			}
			want := make([]string, len(tc.ids))
			for i, id := range tc.ids {
				want[i] = atRiskNames[id]
			}
			if !slices.Equal(ids, want) {
				t.Errorf("rows %q, want %q", ids, want)
			}
			if strings.Contains(html, "<script>") {
				t.Error("a CRM name became a script")
			}
		})
	}
	html := get(t, s, s.atRisk, "/at-risk", admin).Body.String()
	rows := tableRows(t, html, "at-risk")
	want := []string{"=cmd|&#39; /C calc&#39;!A0", "bob", "quiet, lapsed", "300", "€1,000", "100 %", "B", rows[2][7]}
	if !slices.Equal(rows[2], want) {
		t.Errorf("the row of 02 is %q, want %q", rows[2], want)
	}
	for _, s := range []string{`<a href="/accounts/crm:02">`, `<b id="at-risk-accounts">3</b>`, `<b id="at-risk-revenue">€9,000</b>`,
		`href="/at-risk.csv?dir=desc&amp;sort=value"`, `href="/at-risk?dir=asc&amp;sort=value"`} {
		if !strings.Contains(html, s) {
			t.Errorf("page lacks %s", s)
		}
	}
}

// atRiskNames are the names of atRiskBook's accounts as the page shows
// them.
var atRiskNames = map[string]string{"01": "Smith, &#34;Jr&#34;", "02": "=cmd|&#39; /C calc&#39;!A0", "03": "&lt;script&gt;alert(1)&lt;/script&gt;"}

// TestAtRiskCSV: the export is RFC 4180 with CRLF, quotes what needs
// quoting, keeps names as text, and holds the table's rows in its order.
func TestAtRiskCSV(t *testing.T) {
	s := testServer(t, atRiskBook())
	w := get(t, s, s.atRiskCSV, "/at-risk.csv?sort=days", auth.User{Admin: true})
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("%d %s", w.Code, w.Header())
	}
	want := "id,name,owner,owner_email,rules,days_inactive,revenue_12m,revenue_trend,abc,rfm_segment\r\n" +
		"crm:02,'=cmd|' /C calc'!A0,bob,bob@example.com,quiet lapsed,300,1000,%s,B,%s\r\n" +
		"crm:03,<script>alert(1)</script>,ann,ann@example.com,lapsed,100,3000,%s,A,%s\r\n" +
		"crm:01,\"Smith, \"\"Jr\"\"\",ann,ann@example.com,quiet,10,5000,%s,A,%s\r\n"
	b := atRiskBook()
	var args []any
	for _, id := range []string{"crm:02", "crm:03", "crm:01"} {
		f := b.Scores.(*insights.Portfolio).Accounts[slices.IndexFunc(b.Scores.(*insights.Portfolio).Accounts, func(a insights.Account) bool { return a.ID == id })].Features
		args = append(args, fmt.Sprint(f.RevenueTrend), f.RFM.Segment)
	}
	if got := w.Body.String(); got != fmt.Sprintf(want, args...) {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, fmt.Sprintf(want, args...))
	}
}

// TestAtRiskPages: 120 flagged accounts make three pages of 50, 50 and
// 20; the CSV holds the pages' rows in their order; a page past the last
// shows the last; bad parameters are a 400.
func TestAtRiskPages(t *testing.T) {
	var cs []model.Client
	book := &Book{Flagged: map[string][]string{}}
	for i := range 130 {
		cs = append(cs, client(fmt.Sprintf("%03d", i), []string{"ann", "bob"}[i%2], float64(1000+i%7*100), i))
		if i >= 10 {
			book.Flagged[fmt.Sprintf("crm:%03d", i)] = []string{"quiet"}
		}
	}
	book.Scores = insights.NewPortfolio(pageNow, rules.DefaultSegmentation(), cs)
	s := testServer(t, book)
	u := auth.User{Admin: true}
	var pages []string
	for n, want := range []int{50, 50, 20} {
		html := get(t, s, s.atRisk, fmt.Sprintf("/at-risk?sort=owner&page=%d", n+1), u).Body.String()
		rows := tableRows(t, html, "at-risk")
		if len(rows) != want {
			t.Fatalf("page %d has %d rows, want %d", n+1, len(rows), want)
		}
		for _, r := range rows {
			pages = append(pages, r[0])
		}
		if hasNext := strings.Contains(html, `rel="next"`); hasNext != (n < 2) {
			t.Errorf("page %d: next link %v", n+1, hasNext)
		}
	}
	recs, err := csv.NewReader(get(t, s, s.atRiskCSV, "/at-risk.csv?sort=owner", u).Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range recs[1:] {
		names = append(names, r[1])
	}
	if !slices.Equal(names, pages) {
		t.Errorf("CSV rows %q\nwant the pages' %q", names, pages)
	}
	if last := get(t, s, s.atRisk, "/at-risk?sort=owner&page=9", u).Body.String(); !strings.Contains(last, "page 3 of 3") {
		t.Error("a page past the last does not show the last")
	}
	for _, path := range []string{"/at-risk?sort=name", "/at-risk?dir=up", "/at-risk?page=0", "/at-risk?page=x"} {
		if w := get(t, s, s.atRisk, path, u); w.Code != 400 {
			t.Errorf("%s: %d, want 400", path, w.Code)
		}
	}
	if w := get(t, s, s.atRiskCSV, "/at-risk.csv?sort=name", u); w.Code != 400 {
		t.Errorf("CSV with a bad sort: %d, want 400", w.Code)
	}
}

// TestCell: text cells that a spreadsheet would read as formulas are
// kept as text.
func TestCell(t *testing.T) {
	for in, want := range map[string]string{"": "", "Acme": "Acme", "=1+1": "'=1+1", "+33 1": "'+33 1", "-2": "'-2",
		"@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx", "a=b": "a=b"} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkAtRiskPage renders the third page of the at-risk list of a
// 100,000-account book with 5,000 accounts flagged, sorted by days.
func BenchmarkAtRiskPage(b *testing.B) {
	s := testServer(b, benchBook())
	u := auth.User{Admin: true}
	for b.Loop() {
		if w := get(b, s, s.atRisk, "/at-risk?sort=days&page=3", u); w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkAtRiskCSV exports the 5,000 flagged accounts of a
// 100,000-account book.
func BenchmarkAtRiskCSV(b *testing.B) {
	s := testServer(b, benchBook())
	u := auth.User{Admin: true}
	for b.Loop() {
		if w := get(b, s, s.atRiskCSV, "/at-risk.csv", u); w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
