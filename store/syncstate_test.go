package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/redistest"
)

// syncStateTests run against miniredis and a real Redis.
var syncStateTests = []struct {
	name string
	fn   func(t *testing.T, s *Store)
}{
	{"Readiness", testReadiness},
	{"DeferredPassTakenOnce", testDeferredPassTakenOnce},
	{"StaleSourceStopsHolding", testStaleSourceStopsHolding},
	{"FailedFullSyncStaysInProgress", testFailedFullSync},
	{"PassLockTakeOver", testPassLockTakeOver},
}

func TestSyncStateMiniredis(t *testing.T) {
	for _, tc := range syncStateTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, miniStore(t)) })
	}
}

func TestSyncStateRedis(t *testing.T) {
	for _, tc := range syncStateTests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, New(redistest.Client(t), redistest.Namespace(t)))
		})
	}
}

var s0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func twoSources() Gate {
	return Gate{Sources: []string{"hs", "csv"}, StaleAfter: []time.Duration{24 * time.Hour, 24 * time.Hour}}
}

// testReadiness walks a pass through two sources' first syncs: held back
// by both, then by one, then free; a --full sync holds it back again.
func testReadiness(t *testing.T, s *Store) {
	ctx := context.Background()
	g := twoSources()
	held := func(want ...string) {
		t.Helper()
		got, _, err := s.Passes.GatePass(ctx, g, s0.Add(time.Minute), []byte(`{"pass":"p"}`))
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("GatePass = %v, %v; want held by %v", got, err, want)
		}
	}
	held("hs", "csv") // never synced
	for _, src := range g.Sources {
		if err := s.Syncs.BeginSync(ctx, src, s0, FullFirst); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Syncs.SaveSyncProgress(ctx, "hs", SyncProgress{Pages: 3, Records: 300, Expected: 1000, At: s0}); err != nil {
		t.Fatal(err)
	}
	held("hs", "csv")
	d, err := s.Syncs.EndSync(ctx, g, "csv", s0, s0.Add(time.Second), true)
	if err != nil || d != nil {
		t.Fatalf("EndSync(csv) = %q, %v; want no pass while hs is not ready", d, err)
	}
	held("hs")
	states, err := s.Syncs.SyncStates(ctx, []string{"hs", "csv"})
	if err != nil {
		t.Fatal(err)
	}
	hs, csv := states[0], states[1]
	if !hs.Blocking() || hs.FullKind != FullFirst || hs.Progress.Records != 300 || hs.Running.IsZero() {
		t.Errorf("hs state %+v: want a first sync running with its progress", hs)
	}
	if csv.Blocking() || csv.Ready.IsZero() || !csv.LastFullSuccess.Equal(s0) || !csv.Running.IsZero() {
		t.Errorf("csv state %+v: want ready after its full sync", csv)
	}
	d, err = s.Syncs.EndSync(ctx, g, "hs", s0, s0.Add(2*time.Second), true)
	if err != nil || string(d) != `{"pass":"p"}` {
		t.Fatalf("EndSync(hs) = %q, %v; want the deferred pass", d, err)
	}
	held()
	if d, _ := s.Passes.DeferredPass(ctx); d != nil {
		t.Errorf("deferred pass %q left after it was taken", d)
	}
	// An incremental sync does not hold passes back; a --full one does.
	if err := s.Syncs.BeginSync(ctx, "hs", s0.Add(time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	held()
	if err := s.Syncs.BeginSync(ctx, "csv", s0.Add(time.Hour), FullAgain); err != nil {
		t.Fatal(err)
	}
	held("csv")
}

// testDeferredPassTakenOnce: a newer pass replaces the deferred one, and
// only one of two syncs ending together takes it.
func testDeferredPassTakenOnce(t *testing.T, s *Store) {
	ctx := context.Background()
	g := twoSources()
	for _, src := range g.Sources {
		if err := s.Syncs.BeginSync(ctx, src, s0, FullFirst); err != nil {
			t.Fatal(err)
		}
	}
	if _, prev, err := s.Passes.GatePass(ctx, g, s0, []byte("p1")); err != nil || prev != nil {
		t.Fatalf("first deferral replaced %q, %v", prev, err)
	}
	if _, prev, err := s.Passes.GatePass(ctx, g, s0, []byte("p2")); err != nil || string(prev) != "p1" {
		t.Fatalf("second deferral replaced %q, %v; want p1", prev, err)
	}
	got := make(chan []byte, 2)
	for _, src := range g.Sources {
		go func() {
			d, err := s.Syncs.EndSync(ctx, g, src, s0, s0.Add(time.Second), true)
			if err != nil {
				t.Error(err)
			}
			got <- d
		}()
	}
	a, b := <-got, <-got
	if string(a)+string(b) != "p2" {
		t.Errorf("syncs took %q and %q; want p2 once", a, b)
	}
}

// testStaleSourceStopsHolding: a source whose first sync keeps failing
// holds passes back for stale_after, then no longer.
func testStaleSourceStopsHolding(t *testing.T, s *Store) {
	ctx := context.Background()
	g := Gate{Sources: []string{"hs"}, StaleAfter: []time.Duration{time.Hour}}
	if err := s.Syncs.BeginSync(ctx, "hs", s0, FullFirst); err != nil {
		t.Fatal(err)
	}
	if err := s.Syncs.FailSync(ctx, "hs", s0, s0.Add(time.Minute), "401 invalid token"); err != nil {
		t.Fatal(err)
	}
	if held, _, _ := s.Passes.GatePass(ctx, g, s0.Add(59*time.Minute), nil); len(held) != 1 {
		t.Errorf("held by %v before stale_after; want hs", held)
	}
	if held, _, _ := s.Passes.GatePass(ctx, g, s0.Add(61*time.Minute), nil); len(held) != 0 {
		t.Errorf("held by %v after stale_after; want nothing", held)
	}
	st, _ := s.Syncs.SyncStates(ctx, []string{"hs"})
	if !st[0].Stale(s0.Add(61*time.Minute), time.Hour) || st[0].LastError != "401 invalid token" || !st[0].FailingSince.Equal(s0) {
		t.Errorf("state %+v: want stale, failing since s0 with its error", st[0])
	}
}

// testFailedFullSync: a full sync that fails stays in progress, its
// running mark cleared; the resumed one that completes clears it all.
func testFailedFullSync(t *testing.T, s *Store) {
	ctx := context.Background()
	g := Gate{Sources: []string{"hs"}, StaleAfter: []time.Duration{24 * time.Hour}}
	if err := s.Syncs.BeginSync(ctx, "hs", s0, FullFirst); err != nil {
		t.Fatal(err)
	}
	if err := s.Syncs.FailSync(ctx, "hs", s0, s0.Add(time.Minute), "boom"); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Syncs.SyncStates(ctx, []string{"hs"})
	if !st[0].Running.IsZero() || !st[0].FullSince.Equal(s0) {
		t.Fatalf("after a failure: %+v; want not running, full sync still in progress", st[0])
	}
	if err := s.Syncs.BeginSync(ctx, "hs", s0.Add(2*time.Minute), ""); err != nil { // resumed
		t.Fatal(err)
	}
	if _, err := s.Syncs.EndSync(ctx, g, "hs", s0.Add(2*time.Minute), s0.Add(3*time.Minute), true); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Syncs.SyncStates(ctx, []string{"hs"})
	if st[0].Blocking() || st[0].LastError != "" || !st[0].FailingSince.IsZero() || !st[0].FullSince.IsZero() {
		t.Errorf("after the resumed sync completed: %+v", st[0])
	}
}

func testPassLockTakeOver(t *testing.T, s *Store) {
	ctx := context.Background()
	if ok, _, err := s.Passes.LockPass(ctx, "p1", time.Hour); !ok || err != nil {
		t.Fatalf("LockPass(p1) = %v, %v", ok, err)
	}
	if ok, err := s.Passes.TakeOverPass(ctx, "p0", "p2", time.Hour); ok || err != nil {
		t.Errorf("TakeOverPass from a pass not holding it = %v, %v; want false", ok, err)
	}
	if ok, err := s.Passes.TakeOverPass(ctx, "p1", "p2", time.Hour); !ok || err != nil {
		t.Errorf("TakeOverPass(p1 → p2) = %v, %v; want true", ok, err)
	}
	holder, ttl, err := s.Passes.PassLock(ctx)
	if err != nil || holder != "p2" || ttl <= 0 {
		t.Errorf("PassLock = %q, %v, %v; want p2 with a ttl", holder, ttl, err)
	}
	if err := s.Passes.UnlockPass(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	if holder, _, err := s.Passes.PassLock(ctx); holder != "" || err != nil {
		t.Errorf("PassLock after unlock = %q, %v", holder, err)
	}
}
