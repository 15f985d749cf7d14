package salesforce_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/salesforce"
	"github.com/crmsync/crmsync/internal/connbench"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/salesforcefake"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// benchAccounts is the size of the benchmarks' org: each account has two
// contacts and one opportunity.
const benchAccounts = 100_000

// benchOrg starts a seeded fake and a connector on it with the
// allocation reserve off.
func benchOrg(b *testing.B) *salesforce.Connector {
	b.Helper()
	fake := salesforcefake.New(salesforcefake.Options{DailyLimit: 1 << 30})
	b.Cleanup(fake.Close)
	fake.Seed(benchAccounts, 2, 1)
	c, err := salesforce.New(salesforce.Options{
		Source:       "sf",
		LoginURL:     fake.URL(),
		Auth:         salesforce.Auth{ClientID: salesforcefake.DefaultClientID, ClientSecret: salesforcefake.DefaultClientSecret},
		DailyReserve: -1,
		HTTPClient:   fake.Client(),
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// benchPull runs a full pull per iteration through fn (reset by setup
// outside the timer) and reports records per second.
func benchPull(b *testing.B, c *salesforce.Connector, setup func(), fn connectors.PageFunc) {
	records := 0
	count := func(ctx context.Context, p connectors.Page) error {
		records += p.Len() + len(p.Rejects)
		return fn(ctx, p)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		setup()
		b.StartTimer()
		if err := c.Pull(b.Context(), nil, count); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkDecode(b *testing.B) {
	c := benchOrg(b)
	benchPull(b, c, func() {}, func(context.Context, connectors.Page) error { return nil })
}

// BenchmarkSyncRedis syncs the org in full into a real Redis the way
// crmsync does: through workers.Syncer, each page stored with its
// watermark, the full sync's sweep marking every record.
func BenchmarkSyncRedis(b *testing.B) {
	connbench.SyncRedis(b, "sf", benchOrg(b))
}

// BenchmarkResyncRedis times `crmsync sync --full` over a store that
// already holds the org: every record is stored again and marked, and the
// sweep then checks every stored record against what was seen.
func BenchmarkResyncRedis(b *testing.B) {
	st := store.New(redistest.Client(b), redistest.Namespace(b))
	y := &workers.Syncer{
		Sources: map[string]connectors.Connector{"sf": benchOrg(b)},
		Records: st.Records, Syncs: st.Syncs,
		Metrics: workers.NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.DiscardHandler),
	}
	if _, err := y.Sync(b.Context(), "sf", true); err != nil {
		b.Fatal(err)
	}
	records := 0
	b.ResetTimer()
	for range b.N {
		st, err := y.Sync(b.Context(), "sf", true)
		if err != nil {
			b.Fatal(err)
		}
		records += st.Records() + st.Rejects
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
