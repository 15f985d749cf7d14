package sellsy

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/sellsyfake"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// TestPeriodicFullReadSweepsRedis syncs into a real Redis through
// workers.Syncer, the way crmsync does: a company deleted in Sellsy
// (which no search reports) stays until the periodic full read, which
// opens a sweep and removes it at the end of the sync.
func TestPeriodicFullReadSweepsRedis(t *testing.T) {
	ctx := context.Background()
	s := seededFake(t, sellsyfake.Options{})
	st := store.New(redistest.Client(t), redistest.Namespace(t))
	connector := func(later time.Duration) connectors.Connector {
		opts := fakeOptions(s)
		opts.Now = func() time.Time { return time.Now().Add(later) }
		opts.BeginSweep = func(ctx context.Context, at time.Time) error { return st.Records.BeginSweep(ctx, "sy", at) }
		return newConnector(t, opts)
	}
	y := &workers.Syncer{
		Sources: map[string]connectors.Connector{"sy": connector(0)},
		Records: st.Records, Syncs: st.Syncs,
		Metrics: workers.NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.DiscardHandler),
	}
	if _, err := y.Sync(ctx, "sy", false); err != nil {
		t.Fatal(err)
	}
	gone := id("company", 4)
	if _, ok, err := st.Records.Client(ctx, gone); err != nil || !ok {
		t.Fatalf("company 4 after the first sync: ok %v, err %v", ok, err)
	}
	// Company 4 goes, with its contacts (7, 8) and deals (7, 8).
	for _, d := range []struct {
		kind string
		id   int
	}{{sellsyfake.KindCompanies, 4}, {sellsyfake.KindContacts, 7}, {sellsyfake.KindContacts, 8},
		{sellsyfake.KindOpportunities, 7}, {sellsyfake.KindOpportunities, 8}} {
		if err := s.Delete(d.kind, d.id); err != nil {
			t.Fatal(err)
		}
	}
	stats, err := y.Sync(ctx, "sy", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.Records.Client(ctx, gone); !ok || stats.Swept != 0 {
		t.Fatalf("company 4 after an incremental sync: present %v, swept %d; want it kept until the full read", ok, stats.Swept)
	}
	y.Sources["sy"] = connector(DefaultFullEvery + time.Hour)
	stats, err = y.Sync(ctx, "sy", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.Records.Client(ctx, gone); err != nil || ok {
		t.Errorf("company 4 after the full read: present %v (%v); want it swept", ok, err)
	}
	if stats.Swept < 1 {
		t.Errorf("swept %d records, want company 4 at least", stats.Swept)
	}
	kept, ok, err := st.Records.Client(ctx, id("company", 5))
	if err != nil || !ok || len(kept.Contacts) != fakeContactsPer || len(kept.Deals) != fakeDealsPer || kept.Owner == nil {
		t.Errorf("company 5 after the full read = %+v (%v, %v); want it whole", kept, ok, err)
	}
}
