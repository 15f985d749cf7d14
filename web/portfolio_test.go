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
	"github.com/crmsync/crmsync/web/auth"
)

var pageNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// fakeData serves a fixed book; the pages it does not fake are those of
// the embedded Data (nil: a test that reads them fails loudly).
type fakeData struct {
	Data
	book *Book
}

func (d fakeData) Book(context.Context) (*Book, error) { return d.book, nil }

// client is an account of owner with one won deal of amount, days ago.
func client(id, owner string, amount float64, days int) model.Client {
	c := model.Client{
		Account: model.Account{Ref: model.NewRef("crm", id), Name: "Account " + id, OwnerID: "crm:" + owner, Lifecycle: model.Customer, CreatedAt: pageNow.AddDate(-2, 0, 0)},
		Owner:   &model.Owner{Ref: model.NewRef("crm", owner), Name: owner, Email: owner + "@example.com"},
	}
	if amount > 0 {
		c.Deals = []model.Deal{{Ref: model.NewRef("crm", "d"+id), AccountID: c.Account.ID, Amount: amount, Won: true, ClosedAt: pageNow.AddDate(0, 0, -days)}}
	}
	return c
}

func testServer(t testing.TB, book *Book) *Server {
	t.Helper()
	a, err := auth.New(auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Data: fakeData{book: book}, Auth: a, Locale: "en", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// get serves path to u through the page's handler, as Require would.
func get(t testing.TB, s *Server, h http.HandlerFunc, path string, u auth.User) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r = r.WithContext(auth.WithUser(r.Context(), u))
	w := httptest.NewRecorder()
	h(w, r)
	return w
}

// TestPortfolioPage: 10 accounts with revenue 1..10 × 1,000 (55,000 in
// all): A holds 10, 9, 8, 7, 6, 5 (45,000 = 82% with the 80% cut-off
// reached at the 6th), B the next ones up to 95%; a rep sees only their
// book; names are escaped.
func TestPortfolioPage(t *testing.T) {
	var cs []model.Client
	for i := 1; i <= 10; i++ {
		owner := "ann"
		if i%2 == 0 {
			owner = "bob"
		}
		cs = append(cs, client(fmt.Sprintf("%02d", i), owner, float64(i*1000), 30))
	}
	cs[0].Owner.Name = "<script>alert(1)</script>"
	p := insights.NewPortfolio(pageNow, rules.DefaultSegmentation(), cs)
	book := &Book{Scores: p, Flagged: map[string][]string{"crm:10": {"quiet"}},
		Owners: []Owner{{ID: "crm:ann", Name: "<script>alert(1)</script>", Email: "ann@example.com"}, {ID: "crm:bob", Name: "bob", Email: "bob@example.com"}}}
	s := testServer(t, book)
	admin := get(t, s, s.portfolio, "/portfolio", auth.User{Email: "boss@example.com", Admin: true}).Body.String()
	for _, want := range []string{
		`<b id="kpi-clients">10</b>`, `<b id="kpi-revenue">€55,000</b>`, `<b id="kpi-at-risk">€10,000</b>`,
		`<tr><td>A</td><td class="n">6</td><td class="n">60 %</td><td class="n">€45,000</td><td class="n">81.8 %</td></tr>`,
		"&lt;script&gt;alert(1)&lt;/script&gt;",
	} {
		if !strings.Contains(admin, want) {
			t.Errorf("admin page lacks %s", want)
		}
	}
	if strings.Contains(admin, "<script>") {
		t.Error("a CRM name became a script")
	}
	rep := get(t, s, s.portfolio, "/portfolio?owner=ann@example.com", auth.User{Email: "bob@example.com"}).Body.String()
	if !strings.Contains(rep, `<b id="kpi-revenue">€30,000</b>`) || strings.Contains(rep, `name="owner"`) {
		t.Errorf("bob's page shows another book or the owner filter:\n%s", rep[strings.Index(rep, "<main>"):][:600])
	}
	byClass := get(t, s, s.portfolio, "/portfolio?class=C", auth.User{Admin: true}).Body.String()
	if !strings.Contains(byClass, `<b id="kpi-clients">`) || strings.Contains(byClass, `<b id="kpi-revenue">€55,000</b>`) {
		t.Error("the class filter changed nothing")
	}
}

// BenchmarkPortfolioPage renders the portfolio page of 100,000 accounts
// (the book is built once per pass, outside the request).
func BenchmarkPortfolioPage(b *testing.B) {
	cs := make([]model.Client, 100_000)
	for i := range cs {
		cs[i] = client(fmt.Sprintf("%06d", i), fmt.Sprintf("rep%02d", i%40), float64(i%997)*37, i%400)
	}
	book := &Book{Scores: insights.NewPortfolio(pageNow, rules.DefaultSegmentation(), cs), Flagged: map[string][]string{}}
	for i := 0; i < 5000; i++ {
		book.Flagged[fmt.Sprintf("crm:%06d", i*20)] = []string{"quiet"}
	}
	s := testServer(b, book)
	u := auth.User{Admin: true}
	b.ResetTimer()
	for b.Loop() {
		if w := get(b, s, s.portfolio, "/portfolio?source=crm", u); w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
