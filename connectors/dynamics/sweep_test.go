package dynamics

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// TestExpiredDeltaSweepsRedis syncs into a real Redis through
// workers.Syncer, the way crmsync does: when Dataverse has expired the
// delta tokens, the records deleted meanwhile (which no delta will ever
// report) leave the store at the end of the forced full read.
func TestExpiredDeltaSweepsRedis(t *testing.T) {
	ctx := context.Background()
	f := newFakeOrg(t)
	st := store.New(redistest.Client(t), redistest.Namespace(t))
	opts := f.options()
	opts.BeginSweep = func(ctx context.Context, at time.Time) error { return st.Records.BeginSweep(ctx, "dyn", at) }
	y := &workers.Syncer{
		Sources: map[string]connectors.Connector{"dyn": f.connector(opts)},
		Records: st.Records, Syncs: st.Syncs,
		Metrics: workers.NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.DiscardHandler),
	}
	if _, err := y.Sync(ctx, "dyn", false); err != nil {
		t.Fatal(err)
	}
	const initech = "c3e4f5a6-0000-ed11-b83e-000d3a572421"
	if _, ok, err := st.Records.Client(ctx, "dyn:"+initech); err != nil || !ok {
		t.Fatalf("Initech after the first sync: ok %v, err %v", ok, err)
	}
	f.expireDeltas()
	f.remove("accounts", initech)
	f.remove("contacts", tomID)
	stats, err := y.Sync(ctx, "dyn", false)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Swept < 2 {
		t.Errorf("swept %d records, want Initech and Tom at least", stats.Swept)
	}
	if _, ok, err := st.Records.Client(ctx, "dyn:"+initech); err != nil || ok {
		t.Errorf("Initech after the resync: ok %v, err %v; want it gone", ok, err)
	}
	acme, ok, err := st.Records.Client(ctx, "dyn:"+acmeID)
	if err != nil || !ok {
		t.Fatalf("Acme after the resync: ok %v, err %v", ok, err)
	}
	for _, c := range acme.Contacts {
		if c.ID == "dyn:"+tomID {
			t.Errorf("Tom is still filed under Acme")
		}
	}
	if len(acme.Contacts) != 1 || acme.Owner == nil || acme.Owner.Email != "jsmith@example.com" {
		t.Errorf("Acme = %+v, want Maria and its owner", acme)
	}
}
