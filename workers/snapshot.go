package workers

import (
	"context"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/store"
)

// snapshotBook keeps each month's account snapshots (the store's Passes).
type snapshotBook interface {
	SaveSnapshots(ctx context.Context, month string, sm store.SnapshotMonth) error
	SnapshotDay(ctx context.Context, month, day string) (same bool, err error)
}

// saveSnapshots records what the batch's accounts are at this pass in the
// snapshots of the pass's month (in Evaluator.Location), replacing those
// an earlier pass of the month wrote: the month's last pass leaves its
// month-end picture, which the evolution's activity-based series read
// (package insights). Flags are the rules firing for each account.
func (e *Evaluator) saveSnapshots(ctx context.Context, pp *passPlan, batch []scored, fires []map[string]fire) error {
	if pp.dryRun || len(batch) == 0 {
		return nil
	}
	names := e.Rules.Names()
	sm := store.SnapshotMonth{Rules: names, Accounts: make(map[string][]byte, len(batch)), Compare: pp.compareSnapshots}
	var flagged []string
	all := make([]byte, 0, len(batch)*insights.SnapshotSize) // one array for the batch's snapshots
	for j := range batch {
		flagged = flagged[:0]
		for _, n := range names {
			if f, ok := fires[j][n]; ok && f != notFiring {
				flagged = append(flagged, n)
			}
		}
		s := &batch[j]
		n := len(all)
		var err error
		if all, err = insights.NewSnapshot(s.c.Account.Lifecycle, &s.f, insights.FlagBits(names, flagged)).AppendBinary(all); err != nil {
			return err
		}
		sm.Accounts[s.c.Account.ID] = all[n:len(all):len(all)]
	}
	return e.Passes.SaveSnapshots(ctx, pp.now.In(e.location()).Format("2006-01"), sm)
}

// snapshotDay records the day of pass doc as the latest its month's
// snapshots are saved, and sets doc.SnapshotCompare when an earlier pass
// saved them the same day.
func (e *Evaluator) snapshotDay(ctx context.Context, doc *passDoc) error {
	now := doc.Now.In(e.location())
	same, err := e.Passes.SnapshotDay(ctx, now.Format("2006-01"), now.Format(time.DateOnly))
	doc.SnapshotCompare = same
	return err
}

// location is the time zone months are cut in.
func (e *Evaluator) location() *time.Location {
	if e.Location == nil {
		return time.UTC
	}
	return e.Location
}
