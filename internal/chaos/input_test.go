package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/hubspotfake"
)

// TestChaosTruncatedBodies syncs a HubSpot whose every 20th successful
// answer (5%) is cut at half its length (hubspotfake.TruncateEvery):
// `crmsync sync` (the first, full sync) and then `crmsync sync --full`
// must complete and store exactly what a clean sync stores. Recovery is
// the longest time from a cut answer to the request that asked again.
func TestChaosTruncatedBodies(t *testing.T) {
	gate(t)
	t.Parallel()
	p := mainPortfolio()
	ref := referenceFor(t, p)
	d := newDeployment(t, "truncated-bodies", p, setup{})
	type key struct {
		path string
		n    int
	}
	var (
		mu      sync.Mutex
		arrived = map[key]time.Time{}
	)
	d.hs.SetHook(func(r hubspotfake.Request) {
		mu.Lock()
		defer mu.Unlock()
		arrived[key{r.Path, r.N}] = time.Now()
	})
	d.hs.TruncateEvery(20)
	f := figures{}
	for _, args := range [][]string{{"sync"}, {"sync", "--full"}} {
		code, stdout, stderr := d.command(5*time.Minute, args...)
		if code != 0 {
			t.Errorf("crmsync %v: exit %d\n%s\n%s", args, code, stdout, stderr)
		}
		diff := diffStores(ref.store, d.snapshot())
		if !diff.same() {
			t.Errorf("after crmsync %v: %s", args, diff)
		}
		f.addStore(diff)
	}
	if n, err := d.rdb.Get(context.Background(), d.ns+":rejects-total:hs").Int(); err == nil && n > 0 {
		t.Errorf("%d records set aside: a cut answer is not a bad record", n)
	}
	// The fake cuts every 20th answer with status 200, in the order of
	// its request log: find them, and when their path was asked again.
	oks := 0
	mu.Lock()
	for _, r := range d.hs.Requests() {
		if r.Status != 200 {
			continue
		}
		if oks++; oks%20 != 0 {
			continue
		}
		if again, ok := arrived[key{r.Path, r.N + 1}]; ok {
			f.recovery = max(f.recovery, again.Sub(arrived[key{r.Path, r.N}]))
		}
	}
	mu.Unlock()
	t.Logf("truncated-bodies: %d answers cut of %d", d.hs.Truncated(), d.hs.Total())
	if d.hs.Truncated() == 0 {
		t.Error("the fake cut no answer")
	}
	f.report(t, "truncated-bodies")
}

// TestChaosCSVQuote syncs a CSV source whose accounts.csv has a row with
// an unterminated quote a third of the way in (in full mode, two such
// rows): the good rows after it must be stored, or the number of rows
// lost must be named in the output.
func TestChaosCSVQuote(t *testing.T) {
	gate(t)
	t.Parallel()
	p := portfolio{Label: "Csv", Companies: 120, Contacts: 2, Deals: 1, Owners: 10}
	broken := []int{p.Companies / 3}
	if full() {
		p.Companies = 3000
		broken = []int{p.Companies / 3, 2 * p.Companies / 3}
	}
	d := newDeployment(t, "csv-quote", p, setup{csv: true})
	writeCSV(t, filepath.Join(d.dir, "data"), p, broken...)
	code, stdout, stderr := d.command(3*time.Minute, "sync")
	if code != 0 {
		t.Errorf("crmsync sync: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stored := d.snapshot().countPrefix("accounts#")
	good := p.Companies - len(broken)
	f := figures{recovery: noRecovery}
	switch lost := good - stored; {
	case lost < 0:
		f.extra = -lost
		f.note("%d accounts stored, more than the %d good rows", stored, good)
	case lost > 0:
		named := regexp.MustCompile(fmt.Sprintf(`\b%d\b[^\n]*\brows?\b|\brows?\b[^\n]*\b%d\b`, lost, lost))
		if named.MatchString(stdout + stderr) {
			t.Logf("csv-quote: %d good rows lost, and the output says so", lost)
			break
		}
		f.lost = lost
		f.note("%d of %d good account rows not stored, and the output does not name that number", lost, good)
	}
	t.Logf("csv-quote: %d of %d good account rows stored; crmsync sync said:\n%s", stored, good, stdout)
	f.report(t, "csv-quote")
}
