package workers

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/store"
)

// TestPassSavesSnapshots: a pass leaves each account's month snapshot,
// with the rules firing for it as flag bits, in the month of the
// configured time zone; a preview writes none.
func TestPassSavesSnapshots(t *testing.T) {
	ctx := context.Background()
	s := store.New(redistest.Client(t), redistest.Namespace(t))
	storeQuietClients(t, s, 5)
	e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
	e.ShardSize = 2
	e.Location = time.FixedZone("UTC+14", 14*3600)
	month := evalNow.In(e.Location).Format("2006-01")
	if _, err := e.Preview(ctx, evalNow, PreviewFilter{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Passes.Snapshots(ctx, month); err == nil {
		t.Fatal("a preview wrote snapshots")
	}
	if _, err := e.Evaluate(ctx, "p1", evalNow); err != nil {
		t.Fatal(err)
	}
	sm, err := s.Passes.Snapshots(ctx, month)
	if err != nil || len(sm.Accounts) != 5 || len(sm.Rules) != len(e.Rules.Rules) {
		t.Fatalf("snapshots of %s = %+v, %v", month, sm, err)
	}
	var snap insights.Snapshot
	if err := snap.UnmarshalBinary(sm.Accounts["crm:004"]); err != nil {
		t.Fatal(err)
	}
	if snap.Flags != insights.FlagBits(sm.Rules, []string{"quiet", "also-quiet"}) || snap.DaysInactive < 90 || snap.Class == "" {
		t.Errorf("snapshot of crm:004 = %+v", snap)
	}
}
