package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

func init() {
	coreTests = append(coreTests,
		coreTest{"PageWriterFollowsRecords", testPageWriterFollowsRecords},
		coreTest{"PageWriterConflict", testPageWriterConflict},
		coreTest{"FencedPageWriterFollowsRecords", testFencedPageWriterFollowsRecords},
		coreTest{"FencedWriteAfterTakeover", testFencedWriteAfterTakeover},
	)
}

// testPageWriterFollowsRecords stores random pages that touch each
// other's accounts, contacts and deals through a PageWriter, each planned
// while the one before is written, and checks after every few pages that
// the clients, summaries, won deals and filed pointers are those of the
// model applying the pages one after the other.
func testPageWriterFollowsRecords(t *testing.T, s *Store) {
	followRecords(t, s, newPageRun(s, 9, ""))
}

// testFencedPageWriterFollowsRecords is testPageWriterFollowsRecords
// for a sync holding the source's lock, whose writes are fenced by it;
// the lock is renewed on the way, which must not refuse a write.
func testFencedPageWriterFollowsRecords(t *testing.T, s *Store) {
	holder := lockCRM(t, s, "sync A")
	r := newPageRun(s, 9, holder)
	followRecords(t, s, r)
	if ok, err := s.Syncs.RenewSync(context.Background(), "crm", holder, time.Minute); err != nil || !ok {
		t.Fatalf("renew: %v, %v", ok, err)
	}
	r.put(t, r.g.page(), 90)
	if err := r.w.Flush(context.Background()); err != nil {
		t.Fatalf("a write after a renewal: %v", err)
	}
	r.m.check(t, s, 90)
}

// lockCRM takes the sync lock of source "crm" for holder.
func lockCRM(t *testing.T, s *Store, holder string) string {
	t.Helper()
	ok, current, err := s.Syncs.LockSync(context.Background(), "crm", holder, time.Minute)
	if err != nil || !ok {
		t.Fatalf("lock: %v, held by %q: %v", ok, current, err)
	}
	return holder
}

// testFencedWriteAfterTakeover: a sync that lost its lock while paused
// (the lease ran out, another sync took it) has a page in flight and
// puts another: neither is written, both are refused with ErrLockLost,
// and the new holder's pages are stored.
func testFencedWriteAfterTakeover(t *testing.T, s *Store) {
	ctx := context.Background()
	a := newPageRun(s, 13, lockCRM(t, s, "sync A"))
	for step := range 6 {
		a.put(t, a.g.page(), step)
	}
	if err := a.w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.Del(ctx, s.syncLockKey("crm")).Err(); err != nil { // A's lease ran out
		t.Fatal(err)
	}
	b := &pageRun{g: a.g, m: a.m, w: s.Records.PageWriter("crm", lockCRM(t, s, "sync B"))}
	b.put(t, b.g.page(), 6)
	if err := b.w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for step := 7; step < 9; step++ { // A wakes up: its pages must not land
		err := a.w.Put(ctx, a.g.page(), nil, nil)
		if err == nil {
			err = a.w.Flush(ctx)
		}
		if !errors.Is(err, ErrLockLost) {
			t.Fatalf("step %d: A's write: %v, want ErrLockLost", step, err)
		}
	}
	b.put(t, b.g.page(), 9)
	if err := b.w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b.m.check(t, s, 9)
}

func followRecords(t *testing.T, s *Store, r *pageRun) {
	ctx := context.Background()
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

// newPageRun makes a pageRun of seed, fenced by holder unless "".
func newPageRun(s *Store, seed uint64, holder string) *pageRun {
	g := pageGen{rng: rand.New(rand.NewPCG(seed, seed+1)), base: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	return &pageRun{g: g, m: newRefModel(), w: s.Records.PageWriter("crm", holder)}
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
	r := newPageRun(s, 11, "")
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
