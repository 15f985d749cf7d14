package chaos

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/hubspotfake"
)

// kindNames are the scenario names of HubSpot's object types.
var kindNames = map[hubspotfake.Kind]string{hubspotfake.Companies: "accounts", hubspotfake.Contacts: "contacts", hubspotfake.Deals: "deals"}

// isListPage reports whether r asks for a page of a full sync's list of
// kind (not the archived list).
func isListPage(r hubspotfake.Request, kind hubspotfake.Kind) bool {
	return r.Method == http.MethodGet && r.Path == hubspotfake.ObjectsPath(kind) && r.Query.Get("archived") != "true"
}

// syncDone returns when the earliest sync that ended after since
// committed, from the "sync done" records of the processes' logs.
func (d *deployment) syncDone(since time.Time) (time.Time, bool) {
	var first time.Time
	for _, l := range d.logs("sync done") {
		if l.Time.After(since) && (first.IsZero() || l.Time.Before(first)) {
			first = l.Time
		}
	}
	return first, !first.IsZero()
}

// passesBefore describes the passes that started before t, the first
// three in full.
func passesBefore(rs []passReport, t time.Time) []string {
	var out []string
	n := 0
	for _, r := range rs {
		if !r.StartedAt.Before(t) {
			continue
		}
		if n++; n <= 3 {
			out = append(out, fmt.Sprintf("pass %s started at %s, %.1fs before the sync committed (%d accounts)",
				r.Pass, r.StartedAt.Format(time.TimeOnly), t.Sub(r.StartedAt).Seconds(), r.Accounts))
		}
	}
	if n > 3 {
		out = append(out, fmt.Sprintf("and %d more passes", n-3))
	}
	return out
}

// addStore counts a store's differences with the reference's in f:
// records missing as lost, records that differ or that the reference does
// not have as extra.
func (f *figures) addStore(d storeDiff) {
	f.lost += d.missing
	f.extra += d.changed + d.extra
	if !d.same() {
		f.note("store: %s", d)
	}
}

// TestChaosKillSync kills `crmsync run` while its first sync pages through
// accounts, contacts or deals (when the HubSpot fake receives the request
// of the middle page), then starts it again. The sync must resume, the
// store end identical to a clean sync's, no pass run on the partial
// portfolio, and every expected message arrive exactly once.
func TestChaosKillSync(t *testing.T) {
	gate(t)
	t.Parallel()
	kinds := []hubspotfake.Kind{hubspotfake.Contacts}
	if full() {
		kinds = hubspotfake.Kinds
	}
	for _, kind := range kinds {
		name := "kill-sync-" + kindNames[kind]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testKillSync(t, name, kind)
		})
	}
}

func testKillSync(t *testing.T, name string, kind hubspotfake.Kind) {
	p := mainPortfolio()
	ref := referenceFor(t, p)
	d := newDeployment(t, name, p, setup{})
	page := p.pages(kind)/2 + 1

	var (
		mu                             sync.Mutex
		run                            *proc
		pages                          int
		killedAt, restarted, resumedAt time.Time
		killed                         = make(chan struct{})
	)
	d.hs.SetHook(func(r hubspotfake.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case killedAt.IsZero():
			if isListPage(r, kind) {
				if pages++; pages == page {
					run.kill()
					killedAt = time.Now()
					close(killed)
				}
			}
		case !restarted.IsZero() && resumedAt.IsZero():
			resumedAt = time.Now()
		}
	})
	mu.Lock()
	run = d.run()
	mu.Unlock()
	select {
	case <-killed:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the sync never asked for %s page %d (asked for %d)", kind, page, pages)
	}
	mu.Lock()
	restarted = time.Now()
	mu.Unlock()
	d.run()

	var commit time.Time
	_, err := waitUntil(3*time.Minute, "the interrupted sync to resume and commit", func() (bool, string) {
		at, ok := d.syncDone(restarted)
		commit = at
		mu.Lock()
		defer mu.Unlock()
		if resumedAt.IsZero() {
			return false, fmt.Sprintf("no request to HubSpot since the restart %.0fs ago", time.Since(restarted).Seconds())
		}
		return ok, fmt.Sprintf("sync resumed %.1fs after the kill, not committed yet", resumedAt.Sub(killedAt).Seconds())
	})
	if err != nil {
		t.Error(err)
		commit = time.Now()
	}
	if err := d.settle(ref, 4*time.Minute); err != nil {
		t.Error(err)
	}
	f := d.compare(ref)
	f.addStore(diffStores(ref.store, d.snapshot()))
	for _, pr := range passesBefore(d.reports(), commit) {
		t.Errorf("a pass ran on the partial portfolio: %s", pr)
	}
	mu.Lock()
	f.recovery = time.Since(killedAt)
	if !resumedAt.IsZero() {
		f.recovery = resumedAt.Sub(killedAt)
	}
	mu.Unlock()
	t.Logf("%s: killed at %s page %d of %d; sync resumed after %.1fs, committed %.1fs after the kill",
		name, kind, page, p.pages(kind), f.recovery.Seconds(), commit.Sub(killedAt).Seconds())
	f.report(t, name)
}

// TestChaosTickDuringSync lets an evaluation tick fall during a long first
// sync, then during a `crmsync sync --full`: the HubSpot fake answers
// slowly and holds the last deals page until 2 s past a tick. The pass of
// that tick must wait, then run as soon as the sync commits (well before
// the next tick), and the messages be those of a run without the
// overlap.
func TestChaosTickDuringSync(t *testing.T) {
	gate(t)
	t.Parallel()
	t.Run("tick-first-sync", func(t *testing.T) {
		t.Parallel()
		testTickDuringSync(t, "tick-first-sync", false)
	})
	t.Run("tick-full-sync", func(t *testing.T) {
		t.Parallel()
		testTickDuringSync(t, "tick-full-sync", true)
	})
}

func testTickDuringSync(t *testing.T, name string, fullSync bool) {
	const every = 20 * time.Second // evaluate.schedule
	p := mainPortfolio()
	ref := referenceFor(t, p)
	d := newDeployment(t, name, p, setup{evaluate: "@every 20s"})
	if fullSync {
		if code, stdout, stderr := d.command(5*time.Minute, "sync"); code != 0 {
			t.Fatalf("crmsync sync: exit %d\n%s\n%s", code, stdout, stderr)
		}
		d.run()
		if err := d.settle(ref, 3*time.Minute); err != nil {
			t.Fatal(err)
		}
	}

	var (
		mu    sync.Mutex
		pages int
		tick  time.Time // the tick the sync was held across
	)
	last := p.pages(hubspotfake.Deals)
	d.hs.SetHook(func(r hubspotfake.Request) {
		if !strings.HasPrefix(r.Path, "/crm/v3/objects/") || r.Method != http.MethodGet {
			return
		}
		time.Sleep(100 * time.Millisecond) // a slow CRM
		if !isListPage(r, hubspotfake.Deals) {
			return
		}
		mu.Lock()
		pages++
		hold := pages == last
		mu.Unlock()
		if hold {
			next := time.Now().Truncate(every).Add(every)
			time.Sleep(time.Until(next.Add(2 * time.Second)))
			mu.Lock()
			tick = next
			mu.Unlock()
		}
	})
	started := time.Now()
	if fullSync {
		d.start("sync", "--full")
	} else {
		d.run()
	}
	var commit time.Time
	if _, err := waitUntil(3*time.Minute, "the sync to commit", func() (bool, string) {
		at, ok := d.syncDone(started)
		commit = at
		mu.Lock()
		defer mu.Unlock()
		return ok, fmt.Sprintf("%d of %d deals pages asked for", pages, last)
	}); err != nil {
		t.Fatal(err)
	}
	var first passReport
	waited, err := waitUntil(every+15*time.Second, "a pass after the sync committed", func() (bool, string) {
		for _, r := range d.reports() {
			if !r.StartedAt.Before(commit) {
				first = r
				return true, ""
			}
		}
		return false, "no pass report since the commit"
	})
	if err != nil {
		t.Error(err)
	}
	if err := d.settle(ref, 3*time.Minute); err != nil {
		t.Error(err)
	}
	f := d.compare(ref)
	f.addStore(diffStores(ref.store, d.snapshot()))
	f.recovery = waited
	if !first.StartedAt.IsZero() {
		f.recovery = first.StartedAt.Sub(commit)
	}
	var during []passReport
	for _, r := range d.reports() {
		if r.StartedAt.After(started) {
			during = append(during, r)
		}
	}
	for _, pr := range passesBefore(during, commit) {
		t.Errorf("a pass ran during the sync: %s", pr)
	}
	mu.Lock()
	t.Logf("%s: sync held across the tick at %s, committed at %s; first pass %.1fs after the commit",
		name, tick.Format(time.TimeOnly), commit.Format(time.TimeOnly), f.recovery.Seconds())
	mu.Unlock()
	if f.recovery > 5*time.Second {
		t.Errorf("the deferred pass ran %.1fs after the sync committed, want it at once (the next tick is %s later)", f.recovery.Seconds(), every)
	}
	f.report(t, name)
}
