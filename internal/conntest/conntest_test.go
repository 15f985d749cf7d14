package conntest

import (
	"context"
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
