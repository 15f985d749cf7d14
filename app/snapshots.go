package app

import (
	"context"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
)

// snapshotBatch is how many accounts' snapshots snapshotReader reads at
// a time.
const snapshotBatch = 500

// snapshotStore is where the monthly snapshots are kept (store.Passes).
type snapshotStore interface {
	SnapshotsKept(ctx context.Context, months []string) ([]bool, error)
	SnapshotsOf(ctx context.Context, months, ids []string) ([][][]byte, error)
}

// snapshotReader is a portfolio read with its monthly snapshots: it
// hands insights.Scan the accounts snapshotBatch at a time and, when the
// scan first asks for a snapshot of a batch, reads those of the batch's
// accounts for every month kept (one HMGET per month). It holds one
// batch, never a month's snapshots of the whole portfolio (about 80
// bytes per account and month when they were read whole).
type snapshotReader struct {
	src    insights.Source
	store  snapshotStore
	months []string        // the months kept, of those asked for
	kept   map[string]bool // by month

	ctx   context.Context // the read in progress
	ids   []string        // the accounts of the batch being handed over
	snaps map[string]map[string]insights.Snapshot
	err   error // of reading the batch's snapshots
}

// newSnapshotReader returns src read with the snapshots of the months
// ending at ends.
func newSnapshotReader(ctx context.Context, src insights.Source, st snapshotStore, ends []time.Time) (*snapshotReader, error) {
	months := make([]string, len(ends))
	for i, end := range ends {
		months[i] = insights.MonthOf(end)
	}
	kept, err := st.SnapshotsKept(ctx, months)
	if err != nil {
		return nil, err
	}
	r := &snapshotReader{src: src, store: st, kept: map[string]bool{}}
	for i, m := range months {
		if kept[i] && !r.kept[m] {
			r.kept[m] = true
			r.months = append(r.months, m)
		}
	}
	return r, nil
}

// EachClient reads the portfolio, handing its accounts to fn a batch at
// a time once the batch is read.
func (r *snapshotReader) EachClient(ctx context.Context, batch int, fn func(model.Client) error) error {
	r.ctx = ctx
	buf := make([]model.Client, 0, snapshotBatch)
	flush := func() error {
		r.ids, r.snaps = r.ids[:0], nil
		for i := range buf {
			r.ids = append(r.ids, buf[i].Account.ID)
		}
		for _, c := range buf {
			if err := fn(c); err != nil {
				return err
			}
			if r.err != nil {
				return r.err
			}
		}
		buf = buf[:0]
		return nil
	}
	err := r.src.EachClient(ctx, batch, func(c model.Client) error {
		if buf = append(buf, c); len(buf) == snapshotBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// Kept reports whether snapshots of month were kept.
func (r *snapshotReader) Kept(month string) bool { return r.kept[month] }

// Snapshot returns the snapshot of id in month, reading those of the
// batch on the first call for it.
func (r *snapshotReader) Snapshot(month, id string) (insights.Snapshot, bool) {
	if r.snaps == nil && r.err == nil {
		r.err = r.read()
	}
	s, ok := r.snaps[month][id]
	return s, ok
}

// read reads the snapshots of the batch's accounts.
func (r *snapshotReader) read() error {
	raw, err := r.store.SnapshotsOf(r.ctx, r.months, r.ids)
	if err != nil {
		return err
	}
	r.snaps = make(map[string]map[string]insights.Snapshot, len(r.months))
	for i, m := range r.months {
		snaps := map[string]insights.Snapshot{}
		for j, b := range raw[i] {
			if b == nil {
				continue
			}
			var s insights.Snapshot
			if err := s.UnmarshalBinary(b); err != nil {
				return fmt.Errorf("snapshot %s of %s: %w", m, r.ids[j], err)
			}
			snaps[r.ids[j]] = s
		}
		r.snaps[m] = snaps
	}
	return nil
}
