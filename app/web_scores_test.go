package app

import (
	"context"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/internal/gensample"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/web"
)

// demoBook runs the demo's pass on the real Redis and returns the app and
// the dashboard's book after it.
func demoBook(t *testing.T) (*App, *web.Book) {
	t.Helper()
	a := startApp(t, demoOnRedis(t, ""))
	runDemo(t, a, 1)
	book, err := a.webData().Book(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return a, book
}

// TestStoreScoresMatchPortfolio: after the demo's pass, the dashboard's
// book, which holds no account, gives for every filter the figures of a
// portfolio held in memory (insights.Portfolio.Compute) and scores every
// account as it does, thresholds included.
func TestStoreScoresMatchPortfolio(t *testing.T) {
	a, book := demoBook(t)
	ctx := t.Context()
	s := book.Scores.(*storeScores)
	var clients []model.Client
	if err := s.reads.Clients.EachClient(ctx, 500, func(c model.Client) error { clients = append(clients, c); return nil }); err != nil {
		t.Fatal(err)
	}
	p := insights.NewPortfolio(s.At(), a.Rules.Segmentation, clients)
	flagged := map[string]bool{}
	for id := range book.Flagged {
		flagged[id] = true
	}
	owner := book.Owners[len(book.Owners)/2]
	filters := []insights.Filter{
		{}, {Class: "A"}, {Class: "c"}, {Segment: "at_risk"}, {Owner: owner.ID}, {Owner: owner.Email, Class: "B"},
		{Source: book.Sources[0]}, {Source: "nowhere"},
	}
	for _, f := range filters {
		got, err := s.Figures(ctx, f, flagged)
		if err != nil {
			t.Fatal(err)
		}
		if want := p.Compute(f, flagged); !reflect.DeepEqual(got, want) {
			t.Errorf("filter %+v: the book's figures differ from the portfolio's\n got %+v\nwant %+v", f, got, want)
		}
	}
	ids := make([]string, len(p.Accounts))
	for i := range p.Accounts {
		ids[i] = p.Accounts[i].ID
	}
	got, err := s.Scored(ctx, append(ids, "sample:no-such-account"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := p.Scored(ctx, ids)
	if len(got) != len(want) {
		t.Fatalf("scored %d accounts, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || !reflect.DeepEqual(got[i].Features, want[i].Features) || got[i].OwnerEmail != want[i].OwnerEmail {
			t.Errorf("account %s scored %+v, want %+v", want[i].ID, got[i].Features, want[i].Features)
		}
	}
}

// TestStoreScoresShareAScan: concurrent pages asking for the same filter
// get the same figures, computed once and kept.
func TestStoreScoresShareAScan(t *testing.T) {
	_, book := demoBook(t)
	s := book.Scores.(*storeScores)
	f := insights.Filter{Class: "A"}
	figs := make([]insights.Figures, 4)
	var wg sync.WaitGroup
	for i := range figs {
		wg.Go(func() {
			var err error
			if figs[i], err = s.Figures(t.Context(), f, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range figs[1:] {
		if !reflect.DeepEqual(figs[i+1], figs[0]) {
			t.Errorf("call %d got other figures than call 0", i+1)
		}
	}
	if len(s.figures) != 2 || s.figures[f] == nil {
		t.Errorf("kept figures for %v, want the unfiltered ones and %+v", slices.Collect(maps.Keys(s.figures)), f)
	}
	// A page gone before its scan ends does not cancel the scan that
	// other pages may be waiting on: it completes and is kept.
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	b := insights.Filter{Class: "B"}
	if _, err := s.Figures(gone, b, nil); err != nil {
		t.Errorf("figures for a page gone: %v, want the scan done all the same", err)
	}
	if c := s.figures[b]; c == nil || c.err != nil {
		t.Errorf("figures of %+v not kept after the page asking went away", b)
	}
}

// TestDashboardBookHoldsNoAccounts: the book the dashboard keeps between
// passes grows by less than 100 bytes per account from 2,000 to 8,000
// accounts (generated like the sample, synced into the real Redis): it
// keeps the flagged accounts' rule names, the owners and the figures,
// not the portfolio (about 1,350 bytes per account when it did).
func TestDashboardBookHoldsNoAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("syncs 10,000 accounts")
	}
	retained := func(n int) uint64 {
		dir, err := gensample.Cached(n)
		if err != nil {
			t.Fatal(err)
		}
		a := scaleApp(t, dir)
		if _, err := a.Handlers.Sync.Sync(t.Context(), "sample", true); err != nil {
			t.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapInuse
		book, err := a.webData().Book(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		runtime.KeepAlive(book)
		return ms.HeapInuse - min(before, ms.HeapInuse)
	}
	small, large := retained(2000), retained(8000)
	grew := float64(large) - float64(small)
	t.Logf("book: %d bytes at 2,000 accounts, %d at 8,000", small, large)
	if perAccount := grew / 6000; perAccount > 100 {
		t.Errorf("the book grew by %.0f bytes per account, want under 100", perAccount)
	}
}
