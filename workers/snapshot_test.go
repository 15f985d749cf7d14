package workers

import (
	"context"
	"fmt"
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

// TestPassComparesSnapshotsWithinADay: the first pass of a day writes its
// month's snapshots whole, a later pass the same day (in the configured
// time zone) compares them first, and the next day's first pass writes
// them whole again; each leaves the snapshots of its own pass.
func TestPassComparesSnapshotsWithinADay(t *testing.T) {
	ctx := context.Background()
	s := store.New(redistest.Client(t), redistest.Namespace(t))
	storeQuietClients(t, s, 3)
	e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
	e.Location = time.FixedZone("UTC+14", 14*3600)
	local := evalNow.In(e.Location)
	midnight := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, e.Location) // a day after evalNow
	var days []uint16
	for i, step := range []struct {
		now     time.Time
		compare bool
	}{
		{evalNow, false},
		{evalNow.Add(time.Minute), true},
		{midnight.Add(time.Minute), false}, // the next day, still the same month here
		{midnight.Add(time.Hour), true},
	} {
		pass := fmt.Sprintf("p%d", i)
		if _, err := e.Evaluate(ctx, pass, step.now); err != nil {
			t.Fatal(err)
		}
		doc, err := e.loadPlan(ctx, pass)
		if err != nil || doc.SnapshotCompare != step.compare {
			t.Fatalf("pass %d at %v: compare %v, %v; want %v", i, step.now.In(e.Location), doc.SnapshotCompare, err, step.compare)
		}
		sm, err := s.Passes.Snapshots(ctx, step.now.In(e.Location).Format("2006-01"))
		if err != nil {
			t.Fatal(err)
		}
		var snap insights.Snapshot
		if err := snap.UnmarshalBinary(sm.Accounts["crm:001"]); err != nil {
			t.Fatal(err)
		}
		days = append(days, snap.DaysInactive)
	}
	if days[1] != days[0] || days[2] != days[0]+1 || days[3] != days[2] {
		t.Errorf("days inactive after each pass %v, want [d d d+1 d+1]", days)
	}
}
