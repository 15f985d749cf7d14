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
			opened := map[string]Outcome{"a": o(GroupMessaged), "b": o(GroupHoldout), "c": o(GroupMessaged)}
			flag := FlagState{Since: t0}
			err := s.Passes.SaveRuleStates(ctx, []RuleUpdate{{Rule: rule, Open: opened}, {Rule: "other", Set: map[string]FlagState{"x": flag}}})
			if err != nil {
				t.Fatal(err)
			}
			flags, open, err := s.Passes.RuleStates(ctx, []string{rule, "other"}, []string{"a", "x", "b"})
			if err != nil {
				t.Fatal(err)
			}
			got := open[0]
			if got[0] == nil || got[0].Group != GroupMessaged || !got[0].At.Equal(t0) || got[1] != nil || got[2].Group != GroupHoldout {
				t.Fatalf("open = %+v", got)
			}
			if open[1][0] != nil || open[1][1] != nil || flags[0][1] != nil || flags[1][0] != nil || flags[1][1] == nil || *flags[1][1] != flag {
				t.Fatalf("another rule's states = %+v %+v; flags %+v", open[1], flags[1], flags[0])
			}
			closed := []Closed{{AccountID: "a", Outcome: *got[0], Reengaged: true}, {AccountID: "b", Outcome: *got[2]}}
			if err := s.Passes.SaveRuleStates(ctx, []RuleUpdate{{Rule: rule, Closed: closed}, {Rule: "other", Clear: []string{"x"}}}); err != nil {
				t.Fatal(err)
			}
			if flags, _, err := s.Passes.RuleStates(ctx, []string{"other"}, []string{"x"}); err != nil || flags[0][0] != nil {
				t.Fatalf("cleared flag = %+v, %v", flags, err)
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
