package hubspot

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/hubspotfake"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// benchPortal is the portal of the throughput benchmarks: 100,000
// companies with 2 contacts and 1 deal each, on a fake without rate
// limits; seeding it stays out of the timings.
func benchPortal(b *testing.B) *hubspotfake.Server {
	f := newFake(b, hubspotfake.Options{Daily: -1})
	f.Seed(100_000, 2, 1)
	f.SetRecording(false)
	return f
}

// BenchmarkDecode pulls the portal in full with a PageFunc that does
// nothing: the floor a sync into Redis is measured against.
func BenchmarkDecode(b *testing.B) {
	f := benchPortal(b)
	c := newConnector(b, f, nil)
	records := 0
	for b.Loop() {
		err := c.Pull(b.Context(), nil, func(_ context.Context, p connectors.Page) error {
			records += p.Len()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSyncRedis syncs the portal in full into a real Redis the way
// crmsync does: through workers.Syncer, each page stored with its
// watermark, the full sync's sweep marking every record.
func BenchmarkSyncRedis(b *testing.B) {
	rdb := redistest.Client(b)
	f := benchPortal(b)
	y := &workers.Syncer{
		Sources: map[string]connectors.Connector{"hs": newConnector(b, f, nil)},
		Metrics: workers.NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.DiscardHandler),
	}
	records := 0
	for b.Loop() {
		b.StopTimer()
		fresh := store.New(rdb, redistest.Namespace(b)) // an empty store each time
		y.Records, y.Syncs = fresh.Records, fresh.Syncs
		b.StartTimer()
		st, err := y.Sync(b.Context(), "hs", true)
		if err != nil {
			b.Fatal(err)
		}
		records += st.Records()
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRateLimit runs a full sync against HubSpot's real limit of 100
// requests per rolling 10 seconds (and 5 searches per second), enforced
// by the fake; the portal needs a little over 300 such requests, so it
// takes about 30 s (skipped with -short). It reports:
//
//   - used%: the fastest schedule the limit allows for the requests sent
//     (100 at once, then 100 more every 10 s) over the time taken, so
//     100% means the limiter never held back a request HubSpot would have
//     taken;
//   - req/10s: requests sent per 10 s, initial burst included;
//   - 429s: answers 429 (target 0).
func BenchmarkRateLimit(b *testing.B) {
	if testing.Short() {
		b.Skip("takes about 30 s")
	}
	const burst = hubspotfake.DefaultBurst
	f := newFake(b, hubspotfake.Options{Burst: burst, SearchPerSecond: hubspotfake.DefaultSearch, Daily: -1})
	f.Seed(10_000, 1, 1)
	c := newConnector(b, f, func(o *Options) { o.Burst, o.SearchPerSecond = burst, DefaultSearchPerSecond })
	var sent, tooMany int
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		if i > 0 {
			b.StopTimer()
			time.Sleep(hubspotfake.BurstWindow) // start each run with HubSpot's window empty
			f.ResetCounters()
			b.StartTimer()
		}
		start := time.Now()
		if err := c.Pull(b.Context(), nil, func(context.Context, connectors.Page) error { return nil }); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		for _, r := range f.Requests() {
			if !strings.HasSuffix(r.Path, "/search") {
				sent++
			}
		}
		tooMany += f.TooMany()
	}
	runs := time.Duration(b.N)
	fastest := time.Duration((sent/b.N-1)/burst) * hubspotfake.BurstWindow
	b.ReportMetric(100*fastest.Seconds()/(elapsed/runs).Seconds(), "used%")
	b.ReportMetric(float64(sent)/elapsed.Seconds()*10, "req/10s")
	b.ReportMetric(float64(tooMany), "429s")
	b.Logf("%d requests (search excluded) in %v per run; %d answered 429", sent/b.N, (elapsed / runs).Round(time.Millisecond), tooMany)
}
