package store

import (
	"context"
	"testing"
	"time"
)

func TestOutcomes(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			t0 := time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC)
			o := func(g string) Outcome {
				return Outcome{At: t0, Until: t0.Add(30 * 24 * time.Hour), Group: g, Pass: "p1"}
			}
			rule := "quiet:90%" // ':' and '%' are escaped in keys
			err := s.Passes.UpdateOutcomes(ctx, rule, map[string]Outcome{"a": o(GroupMessaged), "b": o(GroupHoldout), "c": o(GroupMessaged)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Passes.OpenOutcomes(ctx, rule, []string{"a", "x", "b"})
			if err != nil || got[0] == nil || got[0].Group != GroupMessaged || !got[0].At.Equal(t0) || got[1] != nil || got[2].Group != GroupHoldout {
				t.Fatalf("open = %+v, %v", got, err)
			}
			closed := []Closed{{AccountID: "a", Outcome: *got[0], Reengaged: true}, {AccountID: "b", Outcome: *got[2]}}
			if err := s.Passes.UpdateOutcomes(ctx, rule, nil, closed); err != nil {
				t.Fatal(err)
			}
			st, err := s.Passes.RuleOutcomes(ctx, rule)
			want := OutcomeStats{Messaged: 1, MessagedReengaged: 1, Holdout: 1, Open: 1}
			if err != nil || st != want {
				t.Errorf("stats = %+v, %v; want %+v", st, err, want)
			}
			if st, _ := s.Passes.RuleOutcomes(ctx, "other"); st != (OutcomeStats{}) {
				t.Errorf("another rule's stats = %+v", st)
			}
		})
	}
}
