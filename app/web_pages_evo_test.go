package app

import (
	"encoding/csv"
	"fmt"
	"html"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/notify/locale"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/web"
)

// TestDashboardEvolutionAndAtRisk: after the demo's pass (2026-11-20),
// the evolution page shows the twelve months to October with the same
// figures as the monthly review, and the snapshots kept for September;
// the at-risk pages list every account flagged now, the CSV export the
// same accounts in the same order, and their revenue is the portfolio
// page's revenue at risk.
func TestDashboardEvolutionAndAtRisk(t *testing.T) {
	a, book := demoBook(t)
	ctx := t.Context()
	first := slices.Sorted(maps.Keys(book.Flagged))[0] // an account of the portfolio
	snap, _ := insights.Snapshot{DaysInactive: 120, Class: "C"}.MarshalBinary()
	if err := a.Store.Passes.SaveSnapshots(ctx, "2026-09", store.SnapshotMonth{Accounts: map[string][]byte{first: snap}}); err != nil {
		t.Fatal(err)
	}
	get200 := serveDashboard(t, a)
	get := func(path string) string { t.Helper(); return get200(path, 200) }

	evo := get("/evolution")
	rows := tableCells(t, evo, "months")
	if len(rows) != 12 || rows[0][0] != "2025-11" || rows[11][0] != "2026-10" {
		t.Fatalf("months %q, want 2025-11 to 2026-10", rows)
	}
	m, err := a.Monthly(ctx, MonthlyOptions{Month: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Now: examples.SampleAsOf})
	if err != nil {
		t.Fatal(err)
	}
	num := locale.For(a.Config.Locale).Number
	for k, mo := range m.Evolution {
		want := []string{mo.Month, num(float64(mo.Buyers)), num(float64(mo.Retention.Gained)), num(float64(mo.Retention.Lost))}
		if got := rows[10+k][:4]; !slices.Equal(got, want) {
			t.Errorf("%s: buyers, gained, lost %q, the monthly review says %q", mo.Month, got, want)
		}
		for c, cl := range mo.Classes {
			if got := rows[10+k][5+2*c]; got != num(float64(cl.Accounts)) {
				t.Errorf("%s: class %s has %s accounts, the monthly review says %d", mo.Month, cl.Class, got, cl.Accounts)
			}
		}
	}
	if !strings.Contains(evo, "kept since 2026-09") || rows[10][11] != "1 of 1" || rows[11][11] != "–" {
		t.Errorf("the snapshot series: September %q, October %q", rows[10][11], rows[11][11])
	}

	flagged, err := a.flaggedNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(flagged) == 0 {
		t.Fatal("the demo flags no account")
	}
	first1 := get("/at-risk?sort=days")
	if !strings.Contains(first1, fmt.Sprintf(`<b id="at-risk-accounts">%s</b>`, num(float64(len(flagged))))) {
		t.Errorf("the at-risk page does not count the %d accounts flagged", len(flagged))
	}
	var ids []string
	for p := 1; p == 1 || len(ids) < len(flagged) && p < 100; p++ {
		ids = append(ids, accountLinks(t, get(fmt.Sprintf("/at-risk?sort=days&page=%d", p)))...)
	}
	recs, err := csv.NewReader(strings.NewReader(get("/at-risk.csv?sort=days"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var csvIDs []string
	for _, r := range recs[1:] {
		csvIDs = append(csvIDs, r[0])
	}
	if !slices.Equal(ids, csvIDs) || len(ids) != len(flagged) {
		t.Errorf("the pages list %d accounts, the CSV %d, %d are flagged:\n%q\n%q", len(ids), len(csvIDs), len(flagged), ids, csvIDs)
	}
	atRisk := regexp.MustCompile(`<b id="at-risk-revenue">([^<]*)</b>`).FindStringSubmatch(first1)
	if atRisk == nil || !strings.Contains(get("/portfolio"), `<b id="kpi-at-risk">`+atRisk[1]+`</b>`) {
		t.Errorf("the at-risk revenue %q is not the portfolio's revenue at risk", atRisk)
	}
}

var (
	cellRe    = regexp.MustCompile(`(?s)<t[dh][^>]*>(.*?)</t[dh]>`)
	tagRe     = regexp.MustCompile(`<[^>]*>`)
	accountRe = regexp.MustCompile(`<a href="/accounts/([^"]+)">`)
)

// tableCells returns the text of the cells of each body row of the
// table with id in page.
func tableCells(t *testing.T, page, id string) [][]string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no table %s", id)
	}
	body := page[i:]
	body = body[strings.Index(body, "<tbody>"):strings.Index(body, "</table>")]
	var rows [][]string
	for _, tr := range strings.Split(body, "<tr>")[1:] {
		var row []string
		for _, m := range cellRe.FindAllStringSubmatch(tr, -1) {
			row = append(row, html.UnescapeString(strings.TrimSpace(tagRe.ReplaceAllString(m[1], ""))))
		}
		rows = append(rows, row)
	}
	return rows
}

// accountLinks returns the ids of the accounts a page links to, in
// order.
func accountLinks(t *testing.T, page string) []string {
	t.Helper()
	var ids []string
	for _, m := range accountRe.FindAllStringSubmatch(page, -1) {
		id, err := url.PathUnescape(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestEvolutionCache: months are kept per book and key; another book
// empties the cache, and so does reaching maxEvolutions entries.
func TestEvolutionCache(t *testing.T) {
	var c evolutionCache
	b1, b2 := &web.Book{}, &web.Book{}
	k1, k2 := evolutionKey{n: 12}, evolutionKey{f: insights.Filter{Class: "A"}, n: 12}
	months := []insights.Month{{Month: "2026-10"}}
	c.put(b1, k1, months)
	steps := []struct {
		name string
		book *web.Book
		key  evolutionKey
		want bool
	}{
		{"same book and key", b1, k1, true},
		{"another filter", b1, k2, false},
		{"another book", b2, k1, false},
	}
	for _, s := range steps {
		if _, ok := c.get(s.book, s.key); ok != s.want {
			t.Errorf("%s: kept %v, want %v", s.name, ok, s.want)
		}
	}
	c.put(b2, k2, months)
	if _, ok := c.get(b1, k1); ok {
		t.Error("the months of the book before are still kept")
	}
	for i := range maxEvolutions {
		c.put(b2, evolutionKey{n: i + 100}, months)
	}
	if _, ok := c.get(b2, k2); ok || len(c.months) > maxEvolutions {
		t.Errorf("the cache holds %d entries, the first still there: %v", len(c.months), ok)
	}
}
