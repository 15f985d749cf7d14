package workers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/store"
)

// BenchmarkPassCaps measures a whole pass on a real Redis over 2,000
// quiet accounts that all fire (an email and a nudge each, all to one rep):
// without per-pass caps the shards enqueue what they plan; with the
// default caps they stage it and the last shard picks what goes (200
// emails, 5 nudges per rep, the rest deferred or folded). Each iteration
// is the first pass of a fresh rule, so nothing is in cooldown.
func BenchmarkPassCaps(b *testing.B) {
	const accounts = 2000
	s := store.New(redistest.Client(b), redistest.Namespace(b))
	for i := range accounts {
		storeValued(b, s, fmt.Sprint(i), float64(1000+i))
	}
	for _, tt := range []struct {
		name   string
		limits PassLimits
	}{
		{"no-caps", PassLimits{}},
		{"default-caps", PassLimits{Emails: 200, SlackPerRep: 5, SlackPerChannel: 10}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for i := range b.N {
				rule := fmt.Sprintf("quiet-%s-%d", tt.name, i)
				q := &taskRecorder{}
				e := newEvaluatorRules(b, s, q, &Planner{}, strings.Replace(capRules, "name: quiet", "name: "+rule, 1))
				e.Limits = tt.limits
				rep, err := e.Evaluate(b.Context(), "bench-"+rule, evalNow)
				if err != nil {
					b.Fatal(err)
				}
				if rep.Flags[rule] != accounts {
					b.Fatalf("flagged %d, want %d", rep.Flags[rule], accounts)
				}
			}
			b.ReportMetric(float64(b.N*accounts)/b.Elapsed().Seconds(), "accounts/s")
		})
	}
}
