package workers

import (
	"cmp"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/notify"
)

// spoolOf spools n flags whose revenue_12m cycles through 7 values, the
// first with a message not before 09:00 in Paris.
func spoolOf(t *testing.T, n int) *PreviewFlags {
	t.Helper()
	sp, err := newFlagSpool()
	if err != nil {
		t.Fatal(err)
	}
	pf := &PreviewFlags{spool: sp}
	t.Cleanup(func() { pf.Close() })
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		fl := Flag{Rule: "quiet", AccountID: fmt.Sprintf("crm:%05d", i), Features: map[string]any{"revenue_12m": float64(i % 7), "days_inactive": 90 + i%3}}
		if i == 0 {
			fl.Messages = []notify.Message{
				{LedgerKey: "k1", Channel: notify.Email, NotBefore: time.Date(2026, 11, 20, 9, 0, 0, 0, paris)},
				{LedgerKey: "k2", Channel: notify.Slack, Blocks: json.RawMessage(`[{"text":"<mailto:a@b.example|a@b.example> & co"}]`)},
			}
		}
		if err := sp.add(&fl); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.flush(); err != nil {
		t.Fatal(err)
	}
	return pf
}

func TestPreviewFlagsReadBackWithPerPassChanges(t *testing.T) {
	pf := spoolOf(t, 3)
	pf.spool.adjust[0] = &flagAdjust{drop: []string{"k1", "k2"}, holds: []string{"deferred over"}, deferred: true}
	pf.spool.digests = []Flag{{Rule: DigestRule, AccountID: "digest:rep@x.example"}}
	for pass := range 2 { // as often as asked
		flags, err := pf.Flags()
		if err != nil {
			t.Fatal(err)
		}
		if len(flags) != 4 || flags[3].AccountID != "digest:rep@x.example" {
			t.Fatalf("pass %d: %d flags, want 3 and the digest last: %+v", pass, len(flags), flags)
		}
		f := flags[0]
		if len(f.Messages) != 0 || len(f.Deferred) != 2 || len(f.HeldBack) != 1 {
			t.Fatalf("pass %d: deferred flag has messages %v, deferred %v, held back %v", pass, f.Messages, f.Deferred, f.HeldBack)
		}
		if got := f.Deferred[0].NotBefore.Format("15:04 MST"); got != "09:00 CET" {
			t.Errorf("pass %d: not before %s, want 09:00 CET", pass, got)
		}
		if got, want := string(f.Deferred[1].Blocks), `[{"text":"<mailto:a@b.example|a@b.example> & co"}]`; got != want {
			t.Errorf("pass %d: blocks read back as %s, want %s", pass, got, want)
		}
	}
}

func TestPreviewFlagsEachSortedMergesChunks(t *testing.T) {
	for _, n := range []int{10, 2*sortChunk + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			pf := spoolOf(t, n)
			byRevenue := func(a, b *Flag) int {
				ra, rb := a.Features["revenue_12m"].(float64), b.Features["revenue_12m"].(float64)
				return cmp.Or(cmp.Compare(rb, ra), cmp.Compare(a.AccountID, b.AccountID))
			}
			odd := func(f *Flag) bool { return f.AccountID[len(f.AccountID)-1]%2 == 1 }
			var got []Flag
			err := pf.EachSorted(odd, byRevenue, func(f Flag) error {
				got = append(got, f)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n/2 {
				t.Fatalf("%d flags, want %d", len(got), n/2)
			}
			for i := 1; i < len(got); i++ {
				if byRevenue(&got[i-1], &got[i]) >= 0 {
					t.Fatalf("flag %d (%s) is not after %s", i, got[i].AccountID, got[i-1].AccountID)
				}
			}
		})
	}
}
