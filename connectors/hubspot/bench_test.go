package hubspot

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/connbench"
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

// BenchmarkRateLimit runs full syncs against a portal announcing
// HubSpot's Professional limit, 190 requests per rolling 10 seconds (and
// 5 searches per second), enforced by the fake; the portal needs about 300
// such requests. Sub-benchmarks:
//
//   - before: the pacing of a fixed Burst of 100 per 10 s (the former
//     default), the rate-limit headers hidden from the connector (about
//     30 s a pull);
//   - after: the default Burst, the pace following the headers (about 10 s
//     a pull).
//
// Each reports (skipped with -short):
//
//   - %rate: the share of the announced rate used: the requests sent in
//     the pull's whole 10 s windows over 190 per window (100/190 = 53%
//     for a fixed 100 per 10 s);
//   - %allowed: the fastest schedule the limit admits for the requests
//     sent (190 at once, 190 more every 10 s) over the time taken
//     (connbench.Rate), a figure that jumps with the number of windows;
//   - req/pull, req/s and 429s (target 0).
func BenchmarkRateLimit(b *testing.B) {
	if testing.Short() {
		b.Skip("takes minutes")
	}
	const limit = 190
	b.Run("before", func(b *testing.B) { benchPacing(b, limit, 100, true) })
	b.Run("after", func(b *testing.B) { benchPacing(b, limit, 0, false) })
}

// benchPacing pulls a portal limited to limit requests per 10 s b.N
// times with Burst at burst (0: DefaultBurst), hiding the rate-limit
// headers from the connector when hide is set.
func benchPacing(b *testing.B, limit, burst int, hide bool) {
	f := newFake(b, hubspotfake.Options{Burst: limit, SearchPerSecond: hubspotfake.DefaultSearch, Daily: -1})
	f.Seed(10_000, 1, 1)
	var r connbench.Rate
	var share float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if i > 0 {
			time.Sleep(hubspotfake.BurstWindow) // start each run with HubSpot's window empty
			f.ResetCounters()
		}
		var base http.RoundTripper = f.Client().Transport
		if hide {
			base = hideLimits{base}
		}
		st := &stamps{base: base}
		c := newConnector(b, f, func(o *Options) {
			o.Burst, o.SearchPerSecond = burst, DefaultSearchPerSecond
			o.HTTPClient = &http.Client{Transport: st}
		})
		b.StartTimer()
		r.Pull(b, c)
		r.Spent(len(st.times), limit, hubspotfake.BurstWindow)
		r.Refused += f.TooMany()
		share += st.share(limit, hubspotfake.BurstWindow)
	}
	b.ReportMetric(100*share/float64(b.N), "%rate")
	r.Report(b, "req", "429s")
}

// hideLimits removes the burst window's rate-limit headers from answers,
// as the connector read them before it paced by them.
type hideLimits struct{ base http.RoundTripper }

func (h hideLimits) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.base.RoundTrip(r)
	if err == nil {
		for _, k := range []string{headerMax, headerRemaining, headerInterval} {
			resp.Header.Del(k)
		}
	}
	return resp, err
}
