package chaos

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/slackfake"
)

// reference is what a run of a portfolio without faults delivers and
// stores: what every chaos run of that portfolio is held to.
type reference struct {
	emails map[string]int // by emailID
	posts  map[slackfake.Key]int
	store  snapshot
}

// totals returns the numbers of emails and Slack posts expected.
func (r *reference) totals() (emails, posts int) {
	for _, n := range r.emails {
		emails += n
	}
	for _, n := range r.posts {
		posts += n
	}
	return emails, posts
}

// references caches the reference run of each portfolio: the scenarios
// of a run share them.
var references = struct {
	sync.Mutex
	m map[string]*refEntry
}{m: map[string]*refEntry{}}

type refEntry struct {
	once sync.Once
	ref  *reference
	err  error
}

// referenceFor returns the reference run of p, running it (in t) when no
// test of this run did yet.
func referenceFor(t *testing.T, p portfolio) *reference {
	t.Helper()
	references.Lock()
	e := references.m[p.key()]
	if e == nil {
		e = &refEntry{}
		references.m[p.key()] = e
	}
	references.Unlock()
	e.once.Do(func() {
		e.err = fmt.Errorf("the reference run of %s failed in %s", p.key(), t.Name())
		e.ref = runReference(t, p)
		e.err = nil
	})
	if e.err != nil {
		t.Fatal(e.err)
	}
	return e.ref
}

// runReference syncs p with `crmsync sync`, then runs `crmsync run` until
// its first pass is delivered: a clean run, no pass before the sync ended.
func runReference(t *testing.T, p portfolio) *reference {
	start := time.Now()
	d := newDeployment(t, "reference-"+p.key(), p, setup{})
	if code, stdout, stderr := d.command(5*time.Minute, "sync"); code != 0 {
		t.Fatalf("reference %s: crmsync sync: exit %d\n%s\n%s", p.key(), code, stdout, stderr)
	}
	synced := time.Since(start)
	ref := &reference{store: d.snapshot()}
	if n := ref.store.countPrefix("accounts#"); n != p.Companies {
		t.Fatalf("reference %s: %d accounts stored, want %d", p.key(), n, p.Companies)
	}
	d.run()
	_, err := waitUntil(4*time.Minute, "the reference's first pass to be delivered", func() (bool, string) {
		rs := d.reports()
		wantE, wantS := 0, 0
		for _, r := range rs {
			wantE += r.Enqueued["email"]
			wantS += r.Enqueued["slack"]
		}
		e, s := d.accepted()
		busy, shards, state, err := queueState(d.insp, d.ns)
		desc := fmt.Sprintf("%d reports, %d of %d emails, %d of %d Slack posts; %s", len(rs), e, wantE, s, wantS, state)
		return err == nil && len(rs) > 0 && busy+len(shards) == 0 && e == wantE && s == wantS, desc
	})
	if err != nil {
		t.Fatalf("reference %s: %v", p.key(), err)
	}
	delivered := time.Since(start)
	d.stopAll()
	ref.emails, ref.posts = d.delivered()
	e, s := ref.totals()
	drifting := 0
	for k := range ref.posts {
		if strings.Contains(k.Text, "drifting ") {
			drifting++
		}
	}
	// A post sent twice has the same text and blocks in the same channel:
	// a rep's digests of two passes share their header (how many clients
	// they list) and differ in the clients, which only the blocks hold.
	for k, n := range samePosts(d.sl.Posts()) {
		if n != 1 {
			t.Fatalf("reference %s: %d copies of the Slack post %q to %s", p.key(), n, k.Text, k.Channel)
		}
	}
	for k, n := range ref.emails {
		if n != 1 {
			t.Fatalf("reference %s: %d copies of the email %s", p.key(), n, k)
		}
	}
	if e == 0 || drifting == 0 || s == drifting {
		t.Fatalf("reference %s: %d emails, %d Slack posts of which %d drifting: the portfolio must make both rules fire", p.key(), e, s, drifting)
	}
	first := ""
	if rs := d.reports(); len(rs) > 0 {
		first = fmt.Sprintf(", first pass at %.1fs", rs[0].StartedAt.Sub(start).Seconds())
	}
	t.Logf("reference %s: %d emails, %d Slack posts (%d drifting), %d store entries; synced at %.1fs%s, delivered at %.1fs",
		p.key(), e, s, drifting, len(ref.store), synced.Seconds(), first, delivered.Seconds())
	return ref
}

// figures are what a scenario reports.
type figures struct {
	lost, dup, extra int
	// unknown counts emails that did not arrive and that crmsync history
	// shows as unknown: claimed when the process died, so crmsync cannot
	// tell whether they went, and by design does not send them again
	// unless an operator asks. Not a failure; reported.
	unknown    int
	recovery   time.Duration // < 0: no fault to recover from
	problems   []string
	lostEmails []string // emailIDs
}

// noRecovery marks figures of a scenario without a fault.
const noRecovery = -1

// compareMessages counts, against ref, the expected messages that did not
// arrive, the copies beyond the first, and the messages ref did not send.
func compareMessages(ref *reference, emails map[string]int, posts map[slackfake.Key]int) figures {
	var f figures
	count := func(kind, id string, want, got int) {
		switch {
		case got < want:
			f.lost += want - got
			f.note("lost %s %s", kind, id)
			if kind == "email" {
				f.lostEmails = append(f.lostEmails, id)
			}
		case want > 0 && got > want:
			f.dup += got - want
			f.note("%d copies of %s %s", got, kind, id)
		case want == 0 && got > 0:
			f.extra += got
			f.note("unexpected %s %s (%d)", kind, id, got)
		}
	}
	for _, id := range union(ref.emails, emails) {
		count("email", id, ref.emails[id], emails[id])
	}
	keys := map[string]slackfake.Key{}
	for k := range ref.posts {
		keys[k.Channel+" "+k.Text] = k
	}
	for k := range posts {
		keys[k.Channel+" "+k.Text] = k
	}
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		k := keys[id]
		count("Slack post", fmt.Sprintf("%q to %s", k.Text, k.Channel), ref.posts[k], posts[k])
	}
	return f
}

func union(a, b map[string]int) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// note records a problem; the first few are quoted in the failure.
func (f *figures) note(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// add sums other into f (the recovery is left alone).
func (f *figures) add(other figures) {
	f.lost += other.lost
	f.dup += other.dup
	f.extra += other.extra
	f.unknown += other.unknown
	f.problems = append(f.problems, other.problems...)
	f.lostEmails = append(f.lostEmails, other.lostEmails...)
}

// compare counts what the deployment's fakes accepted against ref (see
// compareMessages and classifyLost).
func (d *deployment) compare(ref *reference) figures {
	emails, posts := d.delivered()
	f := compareMessages(ref, emails, posts)
	d.classifyLost(&f)
	return f
}

// classifyLost looks up in crmsync history each email that did not
// arrive: one shown as unknown is counted as unknown, not lost.
func (d *deployment) classifyLost(f *figures) {
	for i, id := range f.lostEmails {
		if i == 20 {
			break // enough to tell
		}
		parts := strings.Split(id, "|") // rule|account|channel|recipient
		if len(parts) < 2 {
			continue
		}
		entries, err := d.history(parts[1])
		if err != nil {
			f.note("%v", err)
			continue
		}
		for _, e := range entries {
			if emailID(e.Key) != id || e.Status != "unknown" {
				continue
			}
			f.lost--
			f.unknown++
			for j, p := range f.problems {
				if p == "lost email "+id {
					f.problems[j] = "unknown email " + id + " (not sent, unknown in history)"
				}
			}
		}
	}
}

// report logs the scenario's line and fails it when anything was lost,
// duplicated or unexpected.
func (f figures) report(t *testing.T, name string) {
	t.Helper()
	rec := "n/a"
	if f.recovery >= 0 {
		rec = fmt.Sprintf("%.1fs", f.recovery.Seconds())
	}
	t.Logf("chaos: %s lost=%d dup=%d extra=%d unknown=%d recovery=%s", name, f.lost, f.dup, f.extra, f.unknown, rec)
	if f.unknown > 0 {
		for _, p := range f.problems {
			if strings.HasPrefix(p, "unknown email ") {
				t.Logf("%s: %s", name, p)
			}
		}
	}
	if f.lost+f.dup+f.extra > 0 {
		shown := f.problems
		if len(shown) > 8 {
			shown = append(shown[:8:8], fmt.Sprintf("and %d more", len(f.problems)-8))
		}
		t.Errorf("%s: %d lost, %d duplicates, %d unexpected:\n  %s", name, f.lost, f.dup, f.extra, strings.Join(shown, "\n  "))
	}
}

// samePosts counts posts by channel, text and blocks.
func samePosts(posts []slackfake.Post) map[samePost]int {
	out := map[samePost]int{}
	for _, p := range posts {
		out[samePost{p.Channel, p.Text, p.RawBlocks}]++
	}
	return out
}

// samePost is what makes two posts the same message.
type samePost struct{ Channel, Text, Blocks string }
