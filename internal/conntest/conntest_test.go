package conntest

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

func TestCollected(t *testing.T) {
	tests := []struct {
		name                string
		pages               []connectors.Page
		accounts, deletions int
		rejects             int
		last                connectors.Watermark
	}{
		{name: "no pages", last: nil},
		{
			name: "records, deletions and rejects of every page, last watermark",
			pages: []connectors.Page{
				{Batch: model.Batch{Accounts: []model.Account{{Name: "a"}}}, Watermark: connectors.Watermark{"k": "1"}},
				{Batch: model.Batch{Accounts: []model.Account{{Name: "b"}}, Deleted: []model.Deletion{{}}},
					Rejects: []model.Reject{{}}, Watermark: connectors.Watermark{"k": "2"}},
			},
			accounts: 2, deletions: 1, rejects: 1, last: connectors.Watermark{"k": "2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Collected
			for _, p := range tt.pages {
				if err := c.Add(context.Background(), p); err != nil {
					t.Fatal(err)
				}
			}
			if len(c.Pages) != len(tt.pages) || len(c.Batch.Accounts) != tt.accounts ||
				len(c.Batch.Deleted) != tt.deletions || len(c.Rejects) != tt.rejects {
				t.Errorf("collected %d pages, %d accounts, %d deletions, %d rejects; want %d, %d, %d, %d",
					len(c.Pages), len(c.Batch.Accounts), len(c.Batch.Deleted), len(c.Rejects),
					len(tt.pages), tt.accounts, tt.deletions, tt.rejects)
			}
			if got := c.Last(); !maps.Equal(got, tt.last) || (got == nil) != (tt.last == nil) {
				t.Errorf("Last() = %v, want %v", got, tt.last)
			}
		})
	}
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(start)
	c.Add(90 * time.Second)
	if got, want := c.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("Now() = %s, want %s", got, want)
	}
}

// recorder is a testing.TB that notes failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Logf(string, ...any)   {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }

func TestGrowth(t *testing.T) {
	tests := []struct {
		name     string
		idle     int
		k, n     int
		limit    int
		wantFail bool
	}{
		{name: "within the limit", idle: 5, k: 10, n: 8, limit: 3},
		{name: "over the limit", idle: 5, k: 10, n: 9, limit: 3, wantFail: true},
		{name: "half the full pull", idle: 5, k: 10, n: 50, limit: 100, wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			g := Growth{Full: 100}
			g.Check(r, 0, tt.idle, 0)
			if r.failed {
				t.Fatal("the idle pull failed the check")
			}
			g.Check(r, tt.k, tt.n, tt.limit)
			if r.failed != tt.wantFail {
				t.Errorf("failed = %t, want %t", r.failed, tt.wantFail)
			}
		})
	}
}

func (r *recorder) Fatal(...any) { r.failed = true }

func TestNew(t *testing.T) {
	newC := func(n int) (*int, error) {
		if n < 0 {
			return nil, errors.New("negative")
		}
		return &n, nil
	}
	tests := []struct {
		opts     int
		wantFail bool
	}{{opts: 3}, {opts: -1, wantFail: true}}
	for _, tt := range tests {
		r := &recorder{TB: t}
		c := New(r, newC, tt.opts)
		if r.failed != tt.wantFail || !tt.wantFail && *c != tt.opts {
			t.Errorf("New(%d): failed %t, want %t", tt.opts, r.failed, tt.wantFail)
		}
	}
}
