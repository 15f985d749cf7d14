package csv

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
)

// TestPullSweepsChangedFiles: with BeginSweep set, a change to any file
// opens a sweep and every file is read again, so that the sweep sees
// every record still in the files; unchanged files open none, and a pull
// resumed after a crash goes on inside the sweep already open.
func TestPullSweepsChangedFiles(t *testing.T) {
	fsys := files(map[string]string{
		"accounts.csv": "id,name,created_at\nA1,a,2026-01-01\nA2,b,2026-01-01\n",
		"deals.csv":    "id,account_id,amount,won\nD1,A1,1,false\n",
	})
	c := New("s", fsys, nil)
	sweeps := 0
	c.BeginSweep = func(context.Context, time.Time) error { sweeps++; return nil }
	pages, err := pull(t, c, nil)
	if err != nil || sweeps != 1 || ids(pages) != "A1 A2 D1" {
		t.Fatalf("first pull: %d sweeps, %q, %v", sweeps, ids(pages), err)
	}
	wm := pages[len(pages)-1].Watermark
	if pages, err = pull(t, c, wm); err != nil || sweeps != 1 || len(pages) != 0 {
		t.Errorf("unchanged: %d sweeps, %d pages, %v; want no sweep and nothing read", sweeps, len(pages), err)
	}
	fsys["accounts.csv"].Data = []byte("id,name,created_at\nA1,a,2026-01-01\n")
	pages, err = pull(t, c, wm)
	if err != nil || sweeps != 2 || ids(pages) != "A1 D1" {
		t.Errorf("A2 removed: %d sweeps, %q, %v; want a sweep and every file again", sweeps, ids(pages), err)
	}
	// interrupted after accounts.csv: the resumed pull reads deals.csv only
	c.PageSize = 1
	err = c.Pull(t.Context(), wm, func(_ context.Context, p connectors.Page) error {
		wm = p.Watermark
		return context.Canceled
	})
	if err != context.Canceled || wm["accounts.csv"] == "" || wm["deals.csv"] != "" {
		t.Fatalf("interrupted pull: %v, watermark %v", err, wm)
	}
	pages, err = pull(t, c, wm)
	if err != nil || sweeps != 3 || ids(pages) != "D1" {
		t.Errorf("resumed: %d sweeps (want 3: the interrupted pull's only), %q, %v", sweeps, ids(pages), err)
	}
}
