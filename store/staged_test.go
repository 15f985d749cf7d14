package store

import (
	"context"
	"maps"
	"testing"
	"time"
)

func TestStagedCandidatesAndCooldowns(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) { testStaged(t, open(t)) })
	}
}

// testStaged: a pass stages matches (a retried shard overwrites them),
// reads them all back across scan pages, and gives back only the
// cooldowns it acquired itself.
func testStaged(t *testing.T, s *Store) {
	ctx := context.Background()
	want := map[string]string{}
	heads := map[string][]byte{}
	for i := range 2500 {
		f := "r|crm:" + time.Duration(i).String()
		want[f], heads[f] = f+"-head", []byte(f+"-head")
	}
	for range 2 { // a retried shard stages the same matches again
		if err := s.Passes.StageCandidates(ctx, "p1", heads); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]string{}
	err := s.Passes.StagedHeads(ctx, "p1", func(f string, b []byte) error {
		got[f] = string(b)
		return nil
	})
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("staged: %d matches, %v; want the %d staged", len(got), err, len(want))
	}
	if ttl := s.rdb.PTTL(ctx, s.key("pass", "p1", "heads")).Val(); ttl <= 0 || ttl > PassTTL {
		t.Errorf("staged heads expire in %v, want within %v", ttl, PassTTL)
	}

	for _, acct := range []string{"a", "b"} {
		if ok, err := s.Passes.AcquireCooldown(ctx, "r:x", acct, "p1", time.Hour); err != nil || !ok {
			t.Fatalf("acquire %s: %v %v", acct, ok, err)
		}
	}
	if ok, err := s.Passes.AcquireCooldown(ctx, "r:x", "c", "p0", time.Hour); err != nil || !ok {
		t.Fatalf("acquire c: %v %v", ok, err)
	}
	if err := s.Passes.ReleaseCooldowns(ctx, "p1", [][2]string{{"r:x", "a"}, {"r:x", "c"}}); err != nil {
		t.Fatal(err)
	}
	for acct, cooling := range map[string]bool{"a": false, "b": true, "c": true} {
		if _, ok, err := s.Passes.Cooldown(ctx, "r:x", acct); err != nil || ok != cooling {
			t.Errorf("cooldown of %s after release = %v, %v; want %v", acct, ok, err, cooling)
		}
	}
}

func TestActivateRule(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			if done, err := s.Passes.RuleActivated(ctx, "quiet"); err != nil || done {
				t.Fatalf("activated before any pass: %v %v", done, err)
			}
			for _, pass := range []string{"p1", "p1", "p2"} {
				if by, err := s.Passes.ActivateRule(ctx, "quiet", pass); err != nil || by != "p1" {
					t.Errorf("ActivateRule(%s) = %q, %v; want p1, the first pass", pass, by, err)
				}
			}
			if done, err := s.Passes.RuleActivated(ctx, "quiet"); err != nil || !done {
				t.Errorf("activated after a pass: %v %v", done, err)
			}
		})
	}
}
