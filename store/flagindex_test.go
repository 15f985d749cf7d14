package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
)

// TestFlaggedIndex follows the accounts of a rule's flagged index through
// flags set and cleared and outcomes opened and closed: an account stays
// while it has either, and RuleStates finds every state through it.
func TestFlaggedIndex(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			rule := "quiet:90%"
			t0 := time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC)
			flag := FlagState{Since: t0}
			out := Outcome{At: t0, Until: t0.Add(30 * 24 * time.Hour), Group: GroupMessaged, Pass: "p1"}
			ids := []string{"crm:1", "crm:2", "crm:3", "crm:4"}
			steps := []struct {
				name      string
				update    RuleUpdate
				wantIndex []string
				wantFlags []bool // per id of ids
				wantOpen  []bool
			}{
				{
					name:      "flags set, an outcome opened",
					update:    RuleUpdate{Set: map[string]FlagState{"crm:1": flag, "crm:3": flag}, Open: map[string]Outcome{"crm:3": out, "crm:4": out}},
					wantIndex: []string{"crm:1", "crm:3", "crm:4"},
					wantFlags: []bool{true, false, true, false},
					wantOpen:  []bool{false, false, true, true},
				},
				{
					name:      "a flag cleared while its outcome is open stays",
					update:    RuleUpdate{Clear: []string{"crm:1", "crm:3"}},
					wantIndex: []string{"crm:3", "crm:4"},
					wantFlags: []bool{false, false, false, false},
					wantOpen:  []bool{false, false, true, true},
				},
				{
					name:      "closed outcomes leave",
					update:    RuleUpdate{Closed: []Closed{{AccountID: "crm:3", Outcome: out}, {AccountID: "crm:4", Outcome: out, Reengaged: true}}},
					wantIndex: []string{},
					wantFlags: []bool{false, false, false, false},
					wantOpen:  []bool{false, false, false, false},
				},
			}
			for _, st := range steps {
				st.update.Rule = rule
				if err := s.Passes.SaveRuleStates(ctx, []RuleUpdate{st.update}); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if got := s.rdb.ZRange(ctx, s.Passes.flaggedKey(rule), 0, -1).Val(); !slices.Equal(got, st.wantIndex) {
					t.Errorf("%s: index %v, want %v", st.name, got, st.wantIndex)
				}
				flags, opened, err := s.Passes.RuleStates(ctx, []string{rule, "other"}, ids)
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				for i := range ids {
					if (flags[0][i] != nil) != st.wantFlags[i] || (opened[0][i] != nil) != st.wantOpen[i] || flags[1][i] != nil || opened[1][i] != nil {
						t.Errorf("%s: %s has flag %v, outcome %v; want %v, %v", st.name, ids[i], flags[0][i], opened[0][i], st.wantFlags[i], st.wantOpen[i])
					}
				}
			}
		})
	}
}

// TestRuleStatesLeavesOutAccountsNotAsked reads the states of some of
// the accounts of an id range: flagged accounts between them, which were
// not asked for, are left out.
func TestRuleStatesLeavesOutAccountsNotAsked(t *testing.T) {
	ctx := context.Background()
	s := miniStore(t)
	flag := FlagState{Since: time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC)}
	set := map[string]FlagState{"a": flag, "b": flag, "c": flag, "d": flag}
	if err := s.Passes.SaveRuleStates(ctx, []RuleUpdate{{Rule: "r", Set: set}}); err != nil {
		t.Fatal(err)
	}
	flags, _, err := s.Passes.RuleStates(ctx, []string{"r"}, []string{"d", "a", "zz"})
	if err != nil {
		t.Fatal(err)
	}
	if len(flags[0]) != 3 || flags[0][0] == nil || flags[0][1] == nil || flags[0][2] != nil {
		t.Errorf("states of d, a, zz = %v; want d's, a's, none", flags[0])
	}
}

// TestMigrateIndexesFlags migrates a layout 6 store, whose rules' states
// have no flagged index: the pass finds them all afterwards.
func TestMigrateIndexesFlags(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			mustStore(t, s, model.Batch{Accounts: []model.Account{account("a1", ""), account("a2", ""), account("a3", "")}}, nil)
			rule := "quiet:90%"
			esc := ruleEscaper.Replace(rule)
			_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, s.key("flags", esc), "crm:a1", `{"since":"2026-11-02T07:00:00Z"}`)
				p.HSet(ctx, s.key("outcomes", esc), "crm:a2", `{"at":"2026-11-02T07:00:00Z","until":"2026-12-02T07:00:00Z","group":"messaged"}`)
				p.HSet(ctx, s.key("flags", "other"), "crm:a3", `{"since":"2026-11-02T07:00:00Z"}`)
				p.Set(ctx, s.key("schema"), "6", 0)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Records.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			ids := []string{"crm:a1", "crm:a2", "crm:a3"}
			flags, opened, err := s.Passes.RuleStates(ctx, []string{rule, "other"}, ids)
			if err != nil {
				t.Fatal(err)
			}
			if flags[0][0] == nil || opened[0][1] == nil || flags[1][2] == nil {
				t.Errorf("after Migrate: flags %v %v, outcomes %v; want a1's and a3's flags and a2's outcome", flags[0], flags[1], opened[0])
			}
			if v := s.rdb.Get(ctx, s.key("schema")).Val(); v != schemaVersion {
				t.Errorf("schema = %q, want %q", v, schemaVersion)
			}
		})
	}
}
