package monday

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/mondayfake"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// TestDeletionsReachRedis syncs into a real Redis through
// workers.Syncer, the way crmsync does: an item deleted with an
// activity-log entry leaves the store at the next incremental sync; one
// gone without a log entry leaves it at the next periodic full read,
// whose sweep removes what it did not see again.
func TestDeletionsReachRedis(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := newFake(t, mondayfake.Options{Now: clk.Now}, 3)
	st := store.New(redistest.Client(t), redistest.Namespace(t))
	opts := fakeOptions(s)
	opts.BeginSweep = func(ctx context.Context, at time.Time) error { return st.Records.BeginSweep(ctx, "mon", at) }
	y := &workers.Syncer{
		Sources: map[string]connectors.Connector{"mon": newConnector(t, opts)},
		Records: st.Records, Syncs: st.Syncs,
		Metrics: workers.NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.DiscardHandler),
	}
	has := func(id string) bool {
		t.Helper()
		_, ok, err := st.Records.Client(ctx, "mon:"+id)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	clk.Add(time.Hour)
	if _, err := y.Sync(ctx, "mon", false); err != nil {
		t.Fatal(err)
	}
	if !has("9500000001") || !has("9500000002") {
		t.Fatal("accounts missing after the first sync")
	}
	clk.Add(24 * time.Hour)
	if err := s.Delete(mondayfake.BoardAccounts, "9500000001"); err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(mondayfake.BoardAccounts, "9500000002"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	if _, err := y.Sync(ctx, "mon", false); err != nil {
		t.Fatal(err)
	}
	if has("9500000001") || !has("9500000002") {
		t.Errorf("after an incremental sync: logged delete present %v, unlogged present %v; want the logged one gone", has("9500000001"), has("9500000002"))
	}
	clk.Add(DefaultFullEvery)
	stats, err := y.Sync(ctx, "mon", false)
	if err != nil {
		t.Fatal(err)
	}
	if has("9500000002") || stats.Swept == 0 || !has("9500000003") {
		t.Errorf("after the periodic full read (swept %d): the unlogged delete is present %v", stats.Swept, has("9500000002"))
	}
}
