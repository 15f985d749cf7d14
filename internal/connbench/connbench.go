// Package connbench holds the CRM connectors' benchmark scaffolding: a
// full pull decoded only or synced into a real Redis, and the figures of
// a benchmark of the pacing under a vendor's rate limit.
package connbench

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/gcfloor"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// SyncFake runs the sub-benchmarks of a full pull of a connector's fake:
// "decode" drops the pages (Decode), "redis" stores them in a real Redis
// through workers.Syncer (SyncRedis). Each gets its own connector from
// newConnector; source names it. Both run with the GC floor of
// cmd/crmsync (internal/gcfloor), so that they compare as the binary
// runs.
func SyncFake(b *testing.B, source string, newConnector func(testing.TB) connectors.Connector) {
	gcfloor.Start(b.Context(), gcfloor.DefaultFloor)
	b.Run("decode", func(b *testing.B) { Decode(b, newConnector(b)) })
	b.Run("redis", func(b *testing.B) { SyncRedis(b, source, newConnector(b)) })
}

// Decode pulls c in full b.N times, dropping the pages, and reports the
// records and rejects handed over per second.
func Decode(b *testing.B, c connectors.Connector) {
	records := 0
	for b.Loop() {
		err := c.Pull(b.Context(), nil, func(_ context.Context, p connectors.Page) error {
			records += p.Len() + len(p.Rejects)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// SyncRedis syncs c in full b.N times the way crmsync does, through
// workers.Syncer as source, each time into an empty namespace of a real Redis
// (internal/redistest), and reports the records and rejects stored per
// second.
func SyncRedis(b *testing.B, source string, c connectors.Connector) {
	rdb := redistest.Client(b)
	y := &workers.Syncer{
		Sources: map[string]connectors.Connector{source: c},
		Metrics: workers.NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.DiscardHandler),
	}
	records := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		fresh := store.New(rdb, redistest.Namespace(b)) // an empty store each time
		y.Records, y.Syncs = fresh.Records, fresh.Syncs
		b.StartTimer()
		st, err := y.Sync(b.Context(), source, true)
		if err != nil {
			b.Fatal(err)
		}
		records += st.Records() + st.Rejects
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// Rate gathers the figures of a rate benchmark over its pulls: the work
// they spent against the vendor's limit (requests, complexity points),
// the time they took, the fastest schedule the limit admits for that
// work, and the refusals.
type Rate struct {
	Busy    time.Duration // time spent pulling
	Fastest time.Duration // the limit's fastest schedule for Work
	Work    int           // requests or points spent
	Refused int           // answers refusing work over the limit
}

// Pull runs a full pull of c that drops its pages, adding its duration
// to Busy.
func (r *Rate) Pull(b *testing.B, c connectors.Connector) {
	start := time.Now()
	if err := c.Pull(b.Context(), nil, func(context.Context, connectors.Page) error { return nil }); err != nil {
		b.Fatal(err)
	}
	r.Busy += time.Since(start)
}

// Spent adds the n units of work of a pull to a limit admitting perWindow
// of them per window: the first perWindow at once, then perWindow more
// each window, so the fastest schedule takes floor((n-1)/perWindow)
// windows.
func (r *Rate) Spent(n, perWindow int, window time.Duration) {
	r.Work += n
	r.Fastest += time.Duration((n-1)/perWindow) * window
}

// Report reports unit+"/pull" and unit+"/s" (the work per pull and per
// second), "%allowed" (the fastest schedule over the time the pulls took)
// and refusals (the count of refused answers under that name), and fails
// the benchmark when there were refusals.
func (r *Rate) Report(b *testing.B, unit, refusals string) {
	b.ReportMetric(float64(r.Work)/float64(b.N), unit+"/pull")
	b.ReportMetric(float64(r.Work)/r.Busy.Seconds(), unit+"/s")
	b.ReportMetric(100*r.Fastest.Seconds()/r.Busy.Seconds(), "%allowed")
	b.ReportMetric(float64(r.Refused), refusals)
	if r.Refused != 0 {
		b.Errorf("%d answers refused work over the limit (%s), want none", r.Refused, refusals)
	}
}
