package store

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

func init() {
	coreTests = append(coreTests,
		coreTest{"PageWriterFollowsRecords", testPageWriterFollowsRecords},
		coreTest{"PageWriterConflict", testPageWriterConflict},
	)
}

// testPageWriterFollowsRecords stores random pages that touch each
// other's accounts, contacts and deals through a PageWriter, each planned
// while the one before is written, and checks after every few pages that
// the clients, summaries, won deals and filed pointers are those of the
// model applying the pages one after the other.
func testPageWriterFollowsRecords(t *testing.T, s *Store) {
	ctx := context.Background()
	r := newPageRun(s, 9)
	for step := range 90 {
		r.put(t, r.g.page(), step)
		if step%3 == 2 {
			if err := r.w.Flush(ctx); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			r.m.check(t, s, step)
		}
	}
	if r.w.redone != 0 {
		t.Errorf("%d pages were stored again: the overlay of the page in flight let their writes conflict", r.w.redone)
	}
}

// pageRun is a PageWriter of source "crm", random pages for it, and the
// model of what they store.
type pageRun struct {
	g pageGen
	m *refModel
	w *PageWriter
}

func newPageRun(s *Store, seed uint64) *pageRun {
	g := pageGen{rng: rand.New(rand.NewPCG(seed, seed+1)), base: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	return &pageRun{g: g, m: newRefModel(), w: s.Records.PageWriter("crm")}
}

// put puts page b of step, and stores it in the model.
func (r *pageRun) put(t *testing.T, b model.Batch, step int) {
	t.Helper()
	if err := r.w.Put(context.Background(), b, nil, nil); err != nil {
		t.Fatalf("step %d: %v", step, err)
	}
	r.m.store(b)
}

// testPageWriterConflict: the page in flight turns out to have conflicted
// with another writer (a page planned, its write never sent): the writer
// stores it again, plans the next page again without it, and the store
// holds every page, in order.
func testPageWriterConflict(t *testing.T, s *Store) {
	ctx := context.Background()
	r := newPageRun(s, 11)
	g, m, w := r.g, r.m, r.w
	for step := range 30 {
		b := g.page()
		if step%4 != 1 {
			r.put(t, b, step)
			continue
		}
		// Plan b over the page in flight, as Put does, then let that one
		// land and another writer edit every account b touches: b's
		// write would conflict. Leave it in flight as conflicted.
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		p, err := encodePage("crm", b, nil)
		if err != nil {
			t.Fatal(err)
		}
		ch, _, err := w.plan(ctx, &p, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		other := model.Batch{Accounts: []model.Account{account(g.acct()[len("crm:"):], "crm:o2")}}
		if err := s.Records.StorePage(ctx, "crm", other, nil, nil); err != nil {
			t.Fatal(err)
		}
		m.store(other)
		done := make(chan error, 1)
		done <- errConflict
		w.inflight = &pendingPage{page: p, ch: ch, done: done}
		m.store(b)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	m.check(t, s, 30)
	if w.redone < 7 {
		t.Errorf("%d pages stored again, want at least the 7 conflicted", w.redone)
	}
}
