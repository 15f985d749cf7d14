package web

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/web/auth"
)

// Evolution backfills the fake book's months, without snapshots.
func (d fakeData) Evolution(_ context.Context, f insights.Filter, ends []time.Time) ([]insights.Month, error) {
	return d.book.Scores.(*insights.Portfolio).Evolution(f, ends, nil), nil
}

// Location cuts the fake book's months in UTC.
func (fakeData) Location() *time.Location { return time.UTC }

// snapFake is fakeData with monthly snapshots, by month then account id.
type snapFake struct {
	fakeData
	snaps map[string]map[string]insights.Snapshot
}

func (d snapFake) Evolution(_ context.Context, f insights.Filter, ends []time.Time) ([]insights.Month, error) {
	return d.book.Scores.(*insights.Portfolio).Evolution(f, ends, d.snaps), nil
}

// serverOf returns a Server over d, as testServer does over a book.
func serverOf(t testing.TB, d Data) *Server {
	t.Helper()
	a, err := auth.New(auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Data: d, Auth: a, Locale: "en", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dealsClient is an account of owner with won deals given as date,
// amount, date, amount...
func dealsClient(t testing.TB, id, owner string, deals ...any) model.Client {
	t.Helper()
	c := client(id, owner, 0, 0)
	for i := 0; i < len(deals); i += 2 {
		at, err := time.Parse(time.DateOnly, deals[i].(string))
		if err != nil {
			t.Fatal(err)
		}
		c.Deals = append(c.Deals, model.Deal{Ref: model.NewRef("crm", fmt.Sprintf("d%s-%d", id, i)), AccountID: c.Account.ID, Won: true, ClosedAt: at, Amount: deals[i+1].(float64)})
	}
	return c
}

var (
	cellRe = regexp.MustCompile(`(?s)<t[dh][^>]*>(.*?)</t[dh]>`)
	tagRe  = regexp.MustCompile(`<[^>]*>`)
)

// tableRows returns the text of the cells of each body row of the table
// with id in html.
func tableRows(t testing.TB, html, id string) [][]string {
	t.Helper()
	i := strings.Index(html, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no table %s", id)
	}
	body := html[i:]
	body = body[strings.Index(body, "<tbody>"):strings.Index(body, "</table>")]
	var rows [][]string
	for _, tr := range strings.Split(body, "<tr>")[1:] {
		var row []string
		for _, m := range cellRe.FindAllStringSubmatch(tr, -1) {
			row = append(row, strings.TrimSpace(tagRe.ReplaceAllString(m[1], "")))
		}
		rows = append(rows, row)
	}
	return rows
}

// evolutionBook is five accounts whose months the test computes by hand
// (now 2026-11-30, so the last complete month is October):
//
//	x1 ann won 2026-01-10 10000: a buyer all along, A
//	x2 ann won 2025-08-15 5000: a buyer at the end of July (A), lost in
//	   August (out of the 365 days on 2026-09-01)
//	x3 bob won 2026-09-20 2000: gained in September (B: S_prev
//	   10000/12000), A at the end of October (S_prev 10000/13000)
//	x4 bob won 2026-10-05 1000: gained in October, B (S_prev 12000/13000)
//	x5 ann no deal
func evolutionBook(t testing.TB) *Book {
	cs := []model.Client{
		dealsClient(t, "x1", "ann", "2026-01-10", 10000.0),
		dealsClient(t, "x2", "ann", "2025-08-15", 5000.0),
		dealsClient(t, "x3", "bob", "2026-09-20", 2000.0),
		dealsClient(t, "x4", "bob", "2026-10-05", 1000.0),
		dealsClient(t, "x5", "ann"),
	}
	return &Book{Scores: insights.NewPortfolio(pageNow, rules.DefaultSegmentation(), cs),
		Owners: []Owner{{ID: "crm:ann", Name: "<script>alert(1)</script>", Email: "ann@example.com"}, {ID: "crm:bob", Name: "bob", Email: "bob@example.com"}}}
}

// TestEvolutionPage: the months' buyers, gains, losses, retention,
// revenue by class and migration matrices against hand-computed values,
// for an admin and for a rep; the snapshot series start where the
// snapshots do; the parameters are checked.
func TestEvolutionPage(t *testing.T) {
	snaps := map[string]map[string]insights.Snapshot{
		"2026-09": {"crm:x1": {DaysInactive: 100}, "crm:x3": {DaysInactive: 10}},
		"2026-10": {"crm:x1": {DaysInactive: 130}, "crm:x3": {DaysInactive: 40}, "crm:x4": {DaysInactive: 200}, "crm:x5": {DaysInactive: 95}},
	}
	s := serverOf(t, snapFake{fakeData{book: evolutionBook(t)}, snaps})
	admin := auth.User{Email: "boss@example.com", Admin: true}
	bob := auth.User{Email: "bob@example.com"}
	tests := []struct {
		name, path string
		user       auth.User
		tables     map[string][][]string
		contains   []string
	}{{
		name: "admin, three months", path: "/evolution?months=3", user: admin,
		tables: map[string][][]string{
			"months": {
				{"2026-08", "1", "0", "1", "50 %", "1", "€10,000", "0", "€0", "4", "€0", "–", "show"},
				{"2026-09", "2", "1", "0", "100 %", "1", "€10,000", "1", "€2,000", "3", "€0", "1 of 2", "show"},
				{"2026-10", "3", "1", "0", "100 %", "2", "€12,000", "1", "€1,000", "2", "€0", "3 of 4", "shown"},
			},
			"revenue-by-class": {
				{"2026-08", "€10,000", "€0", "€0", "€10,000"},
				{"2026-09", "€10,000", "€2,000", "€0", "€12,000"},
				{"2026-10", "€12,000", "€1,000", "€0", "€13,000"},
			},
			"retention": {{"2026-08", "2", "1", "50 %"}, {"2026-09", "1", "1", "100 %"}, {"2026-10", "2", "2", "100 %"}},
			// October: x1 A→A, x3 B→A, x4 C→B, x2 and x5 C→C.
			"migration": {{"A", "1", "0", "0"}, {"B", "1", "0", "0"}, {"C", "0", "1", "2"}},
		},
		contains: []string{"kept since 2026-09", "Class migration, 2026-10", "<svg", "&lt;script&gt;alert(1)&lt;/script&gt;",
			`href="/evolution?month=2026-08&amp;months=3"`},
	}, {
		name: "admin, August's matrix", path: "/evolution?months=3&month=2026-08", user: admin,
		// x1 A→A, x2 A→C, x3 x4 x5 C→C.
		tables:   map[string][][]string{"migration": {{"A", "1", "0", "1"}, {"B", "0", "0", "0"}, {"C", "0", "0", "3"}}},
		contains: []string{"Class migration, 2026-08"},
	}, {
		name: "admin, a month before those shown", path: "/evolution?months=3&month=2026-05", user: admin,
		// At the ends of April and May, x1 and x2 are A.
		tables:   map[string][][]string{"migration": {{"A", "2", "0", "0"}, {"B", "0", "0", "0"}, {"C", "0", "0", "3"}}},
		contains: []string{"Class migration, 2026-05"},
	}, {
		name: "rep asking for another book", path: "/evolution?months=2&owner=ann@example.com", user: bob,
		tables: map[string][][]string{
			"months": {
				{"2026-09", "1", "1", "0", "0 %", "0", "€0", "1", "€2,000", "1", "€0", "0 of 1", "show"},
				{"2026-10", "2", "1", "0", "100 %", "1", "€2,000", "1", "€1,000", "0", "€0", "1 of 2", "shown"},
			},
			"migration": {{"A", "0", "0", "0"}, {"B", "1", "0", "0"}, {"C", "0", "1", "0"}},
		},
	}, {
		name: "default: twelve months, snapshots within", path: "/evolution", user: admin,
		contains: []string{`value="12"`, "<td>2025-11</td>", "kept since 2026-09"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(t, s, s.evolution, tc.path, tc.user)
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			html := w.Body.String()
			for id, want := range tc.tables {
				if got := tableRows(t, html, id); !slices.EqualFunc(got, want, slices.Equal) {
					t.Errorf("table %s:\ngot  %q\nwant %q", id, got, want)
				}
			}
			for _, want := range tc.contains {
				if !strings.Contains(html, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			if strings.Contains(html, "<script>") {
				t.Error("a CRM name became a script")
			}
		})
	}
}

// TestEvolutionPageRefuses: bad parameters are a 400 saying why.
func TestEvolutionPageRefuses(t *testing.T) {
	s := testServer(t, evolutionBook(t))
	for _, path := range []string{"/evolution?months=0", "/evolution?months=37", "/evolution?months=x",
		"/evolution?month=2026-11", "/evolution?month=October"} {
		w := get(t, s, s.evolution, path, auth.User{Admin: true})
		if w.Code != 400 || !strings.Contains(w.Body.String(), "month") {
			t.Errorf("%s: %d %s, want 400", path, w.Code, w.Body)
		}
	}
}

// TestEvolutionPageWithoutSnapshots says the activity series have not
// started.
func TestEvolutionPageWithoutSnapshots(t *testing.T) {
	s := testServer(t, evolutionBook(t))
	html := get(t, s, s.evolution, "/evolution?months=2", auth.User{Admin: true}).Body.String()
	if !strings.Contains(html, "none kept for these months yet") {
		t.Errorf("the page does not say there are no snapshots:\n%s", html)
	}
}

// BenchmarkEvolutionPage renders twelve months of a 100,000-account book:
// backfilled at the request (the first request after a pass), and kept
// (the app keeps the months per book and filter, so this is every
// request after).
func BenchmarkEvolutionPage(b *testing.B) {
	book := benchBook()
	u := auth.User{Admin: true}
	for _, bc := range []struct {
		name string
		data Data
	}{{"backfilled", fakeData{book: book}}, {"kept", &keptFake{fakeData: fakeData{book: book}}}} {
		b.Run(bc.name, func(b *testing.B) {
			s := serverOf(b, bc.data)
			get(b, s, s.evolution, "/evolution", u)
			for b.Loop() {
				if w := get(b, s, s.evolution, "/evolution", u); w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

// keptFake keeps the months it backfilled, by filter and month ends, as
// the app does.
type keptFake struct {
	fakeData
	mu   sync.Mutex
	kept map[string][]insights.Month
}

func (d *keptFake) Evolution(ctx context.Context, f insights.Filter, ends []time.Time) ([]insights.Month, error) {
	k := fmt.Sprint(f, ends)
	d.mu.Lock()
	defer d.mu.Unlock()
	if m, ok := d.kept[k]; ok {
		return m, nil
	}
	m, _ := d.fakeData.Evolution(ctx, f, ends)
	if d.kept == nil {
		d.kept = map[string][]insights.Month{}
	}
	d.kept[k] = m
	return m, nil
}

// benchBook is 100,000 accounts over 40 reps with a won deal each, 5,000
// of them flagged.
func benchBook() *Book {
	cs := make([]model.Client, 100_000)
	for i := range cs {
		cs[i] = client(fmt.Sprintf("%06d", i), fmt.Sprintf("rep%02d", i%40), float64(i%997)*37, i%400)
	}
	book := &Book{Scores: insights.NewPortfolio(pageNow, rules.DefaultSegmentation(), cs), Flagged: map[string][]string{}}
	for i := range 5000 {
		book.Flagged[fmt.Sprintf("crm:%06d", i*20)] = []string{"quiet"}
	}
	return book
}
