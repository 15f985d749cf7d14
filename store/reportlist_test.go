package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestRecentReports: the reports come newest saved first (the most time
// left to live), at most n, without the latest-report pointer.
func TestRecentReports(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			if passes, data, err := s.Passes.RecentReports(ctx, 10); err != nil || len(passes) != 0 || len(data) != 0 {
				t.Fatalf("empty store: %v %v %v", passes, data, err)
			}
			// Saved in this order, a day apart: their TTLs say so.
			for i, pass := range []string{"b-old", "a-mid", "c:new"} {
				if err := s.Passes.SaveReport(ctx, pass, []byte(`{"pass":"`+pass+`"}`)); err != nil {
					t.Fatal(err)
				}
				ttl := ReportTTL - time.Duration(2-i)*24*time.Hour
				if err := s.Passes.rdb.PExpire(ctx, s.Passes.key("report", pass), ttl).Err(); err != nil {
					t.Fatal(err)
				}
			}
			tests := []struct {
				n    int
				want []string
			}{
				{0, nil},
				{2, []string{"c:new", "a-mid"}},
				{10, []string{"c:new", "a-mid", "b-old"}},
			}
			for _, tt := range tests {
				passes, data, err := s.Passes.RecentReports(ctx, tt.n)
				if err != nil || !slices.Equal(passes, tt.want) || len(data) != len(tt.want) {
					t.Errorf("n=%d: %v (%d reports), %v; want %v", tt.n, passes, len(data), err, tt.want)
					continue
				}
				for i, p := range passes {
					if string(data[i]) != `{"pass":"`+p+`"}` {
						t.Errorf("report of %s = %s", p, data[i])
					}
				}
			}
		})
	}
}
