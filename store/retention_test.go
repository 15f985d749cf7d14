package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestReportRetention: saving a report beyond the kept count drops the
// oldest passes' reports and per-pass keys, and nothing of the kept ones;
// the latest report and the recent list still answer.
func TestReportRetention(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			r := Retained{Passes: s.Passes, Reports: 3}
			passes := []string{"p1", "p2", "p3", "p4", "p5:x"}
			for _, p := range passes {
				savePassKeys(t, s, p)
				if err := r.SaveReport(ctx, p, []byte(`{"pass":"`+p+`"}`)); err != nil {
					t.Fatal(err)
				}
			}
			for i, p := range passes {
				kept := i >= len(passes)-3
				_, err := s.Passes.Report(ctx, p)
				if gone := errors.Is(err, ErrNotFound); gone == kept || (err != nil && !gone) {
					t.Errorf("Report(%s) = %v; kept = %v", p, err, kept)
				}
				n, err := s.rdb.Exists(ctx, passKeys(s, p)...).Result()
				if want := map[bool]int64{true: int64(len(passKeys(s, p))), false: 0}[kept]; err != nil || n != want {
					t.Errorf("%s: %d of its per-pass keys exist, %v; want %d", p, n, err, want)
				}
			}
			idx, err := s.rdb.ZRange(ctx, s.key("reports", "index"), 0, -1).Result()
			if err != nil || !slices.Equal(idx, passes[2:]) {
				t.Errorf("index = %v, %v; want %v", idx, err, passes[2:])
			}
			pass, data, err := s.Passes.LatestReport(ctx)
			if err != nil || pass != "p5:x" || string(data) != `{"pass":"p5:x"}` {
				t.Errorf("LatestReport = %s, %s, %v; want p5:x", pass, data, err)
			}
			recent, _, err := s.Passes.RecentReports(ctx, 10)
			if err != nil || len(recent) != 3 {
				t.Errorf("RecentReports = %v, %v; want the 3 kept", recent, err)
			}
		})
	}
}

// TestReportRetentionKeepsLatest: keep 0 or less keeps the latest report,
// even when it sorts before the one it replaces and both are saved within
// a millisecond, and saving a pass again does not count it twice.
func TestReportRetentionKeepsLatest(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			for _, p := range []string{"b", "a", "a"} {
				if err := s.Passes.SaveReportKeeping(ctx, p, []byte(p), 0); err != nil {
					t.Fatal(err)
				}
			}
			pass, data, err := s.Passes.LatestReport(ctx)
			if err != nil || pass != "a" || string(data) != "a" {
				t.Errorf("LatestReport = %s, %s, %v; want a", pass, data, err)
			}
			if _, err := s.Passes.Report(ctx, "b"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Report(b) = %v, want ErrNotFound", err)
			}
			if n, err := s.rdb.ZCard(ctx, s.key("reports", "index")).Result(); err != nil || n != 1 {
				t.Errorf("index holds %d, %v; want 1", n, err)
			}
		})
	}
}

// savePassKeys writes the per-pass keys a pass leaves: plan, shard
// results, staged matches and a digest, and the whole staged matches an
// earlier crmsync kept besides their heads.
func savePassKeys(t *testing.T, s *Store, pass string) {
	t.Helper()
	ctx := context.Background()
	err := errors.Join(
		s.Passes.SavePassPlan(ctx, pass, []byte("plan")),
		s.Passes.StageCandidates(ctx, pass, map[string][]byte{"r|a": []byte("h")}),
		s.rdb.HSet(ctx, s.key("pass", pass, "staged"), "r|a", "m").Err(),
		s.Passes.AddDigestItems(ctx, pass, map[string][][]byte{"rule|rep": {[]byte("item")}}),
	)
	if _, e := s.Passes.SaveShardResult(ctx, pass, 0, []byte("shard")); e != nil {
		err = errors.Join(err, e)
	}
	if err != nil {
		t.Fatal(fmt.Errorf("pass %s: %w", pass, err))
	}
}

func passKeys(s *Store, pass string) []string {
	return []string{s.key("report", pass), s.key("pass", pass, "plan"), s.key("pass", pass, "shards"),
		s.key("pass", pass, "staged"), s.key("pass", pass, "heads"), s.key("pass", pass, "digests"), s.key("pass", pass, "digest", "rule|rep")}
}
