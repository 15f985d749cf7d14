package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

func init() {
	coreTests = append(coreTests,
		coreTest{"PageWriterFollowsRecords", testPageWriterFollowsRecords},
		coreTest{"PageWriterAfterTakeover", testPageWriterAfterTakeover},
	)
}

// testPageWriterFollowsRecords stores random pages that touch each
// other's accounts, contacts and deals through a PageWriter, each read
// before the writes of those before it are done, and checks after every
// flush that the clients, summaries, won deals and filed pointers are
// those of the model applying the pages one after the other. Flushing
// rarely lets up to maxQueued writes wait while a page is planned; the
// lock is renewed on the way, which must not refuse a write.
//
// Each runs twice: on a source never written, whose pages ask Redis only
// about what the pages before them wrote (PageWriter.known), and on one
// marked stored, whose pages read everything.
func testPageWriterFollowsRecords(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, run := range []struct {
		every  int
		stored bool
	}{{1, false}, {3, false}, {17, false}, {1, true}, {3, true}, {17, true}} {
		every := run.every
		s := New(s.rdb, fmt.Sprintf("%s:every%d:%v", s.ns, every, run.stored))
		if run.stored {
			if err := s.rdb.Set(ctx, s.key("stored", "crm"), "1", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		holder := lockCRM(t, s, "sync")
		r := newPageRun(s, uint64(9+every), holder)
		for step := range 60 {
			r.put(t, r.g.page(), step)
			if step == 0 && (r.w.known == nil) != run.stored {
				t.Fatalf("stored %v: known = %v after the first page", run.stored, r.w.known)
			}
			if step == 30 {
				if ok, err := s.Syncs.RenewSync(ctx, "crm", holder, time.Minute); err != nil || !ok {
					t.Fatalf("renew: %v, %v", ok, err)
				}
			}
			if step%every == every-1 || step == 59 {
				if err := r.w.Flush(ctx); err != nil {
					t.Fatalf("flushing every %d, step %d: %v", every, step, err)
				}
				r.m.check(t, s, step)
			}
		}
	}
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

// testPageWriterAfterTakeover: a sync that lost its lock while paused
// (the lease ran out, another sync took it) puts more pages: none is
// written, each is refused with ErrLockLost, and the new holder's pages
// are stored.
func testPageWriterAfterTakeover(t *testing.T, s *Store) {
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
	for step := 7; step < 10; step++ { // A wakes up: its pages must not land
		err := a.w.Put(ctx, a.g.page(), nil, nil)
		if err == nil {
			err = a.w.Flush(ctx)
		}
		if !errors.Is(err, ErrLockLost) {
			t.Fatalf("step %d: A's write: %v, want ErrLockLost", step, err)
		}
	}
	var err error
	for step := 10; step < 13 && err == nil; step++ { // A queues pages, then finds out
		err = a.w.Put(ctx, a.g.page(), nil, nil)
	}
	if err == nil {
		err = a.w.Flush(ctx)
	}
	if !errors.Is(err, ErrLockLost) {
		t.Fatalf("A's queued pages: %v, want ErrLockLost", err)
	}
	b.put(t, b.g.page(), 13)
	if err := b.w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b.m.check(t, s, 13)
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
