package app

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// clientList is a portfolio held in memory.
type clientList []model.Client

func (l clientList) EachClient(_ context.Context, _ int, fn func(model.Client) error) error {
	for _, c := range l {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// snapshotFake is the store's snapshots of some months, counting reads;
// fail makes reads fail.
type snapshotFake struct {
	months insights.SnapshotMap
	reads  int
	fail   error
}

func (f *snapshotFake) SnapshotsKept(_ context.Context, months []string) ([]bool, error) {
	out := make([]bool, len(months))
	for i, m := range months {
		out[i] = f.months.Kept(m)
	}
	return out, nil
}

func (f *snapshotFake) SnapshotsOf(_ context.Context, months, ids []string) ([][][]byte, error) {
	f.reads++
	if f.fail != nil {
		return nil, f.fail
	}
	out := make([][][]byte, len(months))
	for i, m := range months {
		out[i] = make([][]byte, len(ids))
		for j, id := range ids {
			if s, ok := f.months.Snapshot(m, id); ok {
				out[i][j], _ = s.MarshalBinary()
			}
		}
	}
	return out, nil
}

// TestSnapshotReader: a scan of 1,234 accounts through snapshotReader
// finds the evolution of the same scan with every snapshot in memory,
// reading the snapshots once per batch of 500 accounts, on the scan's
// last read only; a failed read fails the scan.
func TestSnapshotReader(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ends := insights.MonthEnds(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), 3, time.UTC)
	var clients clientList
	snaps := insights.SnapshotMap{"2026-09": {}, "2026-10": {}}
	for i := range 1234 {
		c := model.Client{Account: model.Account{Ref: model.NewRef("crm", fmt.Sprintf("%05d", i)), Lifecycle: model.Customer},
			Deals: []model.Deal{{Won: true, Amount: float64(100 + i%50), ClosedAt: now.AddDate(0, -i%14, 0)}}}
		clients = append(clients, c)
		if i%3 == 0 {
			snaps["2026-09"][c.Account.ID] = insights.Snapshot{DaysInactive: uint16(i % 200)}
		}
		if i%5 == 0 {
			snaps["2026-10"][c.Account.ID] = insights.Snapshot{DaysInactive: uint16(i % 120)}
		}
	}
	opts := insights.ScanOptions{Now: now, Segmentation: rules.DefaultSegmentation(), Ends: ends, Snapshots: snaps}
	want, err := insights.Scan(t.Context(), clients, opts)
	if err != nil {
		t.Fatal(err)
	}
	fake := &snapshotFake{months: snaps}
	r, err := newSnapshotReader(t.Context(), clients, fake, ends)
	if err != nil {
		t.Fatal(err)
	}
	opts.Snapshots = r
	got, err := insights.Scan(t.Context(), r, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Evolution, want.Evolution) {
		t.Errorf("evolution\n%+v\nwant\n%+v", got.Evolution, want.Evolution)
	}
	if !want.Evolution[1].HasSnapshots || want.Evolution[0].HasSnapshots || want.Evolution[1].Snapshots == 0 {
		t.Fatalf("the test's months: %+v", want.Evolution)
	}
	if fake.reads != 3 {
		t.Errorf("read the snapshots %d times, want 3 (1,234 accounts, 500 at a time)", fake.reads)
	}

	boom := errors.New("redis down")
	fake.fail = boom
	if r, err = newSnapshotReader(t.Context(), clients, fake, ends); err != nil {
		t.Fatal(err)
	}
	opts.Snapshots = r
	if _, err := insights.Scan(t.Context(), r, opts); !errors.Is(err, boom) {
		t.Errorf("scan with the snapshots unreadable: %v, want %v", err, boom)
	}
}
