package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

func TestSnapshots(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) { testSnapshots(t, open(t)) })
	}
}

// testSnapshots: a month's snapshots, more than one HSET's worth, read
// back as saved, with their rules; saving again replaces; months apart.
func testSnapshots(t *testing.T, s *Store) {
	ctx := context.Background()
	want := SnapshotMonth{Rules: []string{"inactive-90-days", "high-value-churning"}, Accounts: map[string][]byte{}}
	for i := range 2*snapshotBatch + 7 {
		want.Accounts[fmt.Sprintf("crm:%05d", i)] = []byte(fmt.Sprintf("snapshot%05d", i))
	}
	if err := s.Passes.SaveSnapshots(ctx, "2026-11", want); err != nil {
		t.Fatal(err)
	}
	again := SnapshotMonth{Rules: []string{"inactive-90-days"}, Accounts: map[string][]byte{"crm:00001": []byte("replaced")}}
	if err := s.Passes.SaveSnapshots(ctx, "2026-11", again); err != nil {
		t.Fatal(err)
	}
	want.Rules, want.Accounts["crm:00001"] = again.Rules, again.Accounts["crm:00001"]
	got, err := s.Passes.Snapshots(ctx, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Rules, want.Rules) || !maps.EqualFunc(got.Accounts, want.Accounts, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Errorf("read %d snapshots, rules %v; want %d, rules %v", len(got.Accounts), got.Rules, len(want.Accounts), want.Rules)
	}
	for _, k := range []string{s.snapshotKey("2026-11"), s.snapshotRulesKey("2026-11")} {
		if ttl := s.rdb.TTL(ctx, k).Val(); ttl <= SnapshotTTL-time.Minute || ttl > SnapshotTTL {
			t.Errorf("%s: TTL %v, want %v", k, ttl, SnapshotTTL)
		}
	}
	kept, err := s.Passes.SnapshotsKept(ctx, []string{"2026-11", "2026-10"})
	if err != nil || !slices.Equal(kept, []bool{true, false}) {
		t.Errorf("kept %v, %v; want [true false]", kept, err)
	}
	of, err := s.Passes.SnapshotsOf(ctx, []string{"2026-11", "2026-10"}, []string{"crm:00001", "crm:99999", "crm:00002"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%q", of); got != `[["replaced" "" "snapshot00002"] ["" "" ""]]` {
		t.Errorf("snapshots of three accounts: %s", got)
	}
	if of[0][1] != nil || of[1][0] != nil {
		t.Error("an account without a snapshot: not nil")
	}
	if _, err := s.Passes.Snapshots(ctx, "2026-10"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a month without snapshots: err = %v, want ErrNotFound", err)
	}
	for _, month := range []string{"", "2026-13", "2026-1", "2026/11"} {
		if err := s.Passes.SaveSnapshots(ctx, month, want); err == nil {
			t.Errorf("save month %q: no error", month)
		}
		if _, err := s.Passes.Snapshots(ctx, month); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("read month %q: err = %v, want a bad month", month, err)
		}
	}
}

func TestSnapshotDay(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) { testSnapshotDay(t, open(t)) })
	}
}

// testSnapshotDay: a month's first pass of a day writes every snapshot;
// a later pass the same day compares them and writes only what changed.
func testSnapshotDay(t *testing.T, s *Store) {
	ctx := context.Background()
	for i, step := range []struct {
		month, day string
		same       bool
	}{
		{"2026-11", "2026-11-20", false},
		{"2026-11", "2026-11-20", true},
		{"2026-12", "2026-12-01", false}, // another month
		{"2026-11", "2026-11-21", false},
		{"2026-11", "2026-11-21", true},
	} {
		same, err := s.Passes.SnapshotDay(ctx, step.month, step.day)
		if err != nil || same != step.same {
			t.Errorf("step %d: SnapshotDay(%s, %s) = %v, %v; want %v", i, step.month, step.day, same, err, step.same)
		}
	}
	if ttl := s.rdb.TTL(ctx, s.snapshotDayKey("2026-11")).Val(); ttl <= SnapshotTTL-time.Minute || ttl > SnapshotTTL {
		t.Errorf("TTL %v, want %v", ttl, SnapshotTTL)
	}
	k := s.snapshotKey("2026-11")
	first := SnapshotMonth{Accounts: map[string][]byte{"crm:1": []byte("a"), "crm:2": []byte("b")}}
	if err := s.Passes.SaveSnapshots(ctx, "2026-11", first); err != nil {
		t.Fatal(err)
	}
	later := map[string][]byte{"crm:1": []byte("a"), "crm:2": []byte("B"), "crm:3": []byte("c")}
	fields, err := s.Passes.changedSnapshots(ctx, k, later)
	if err != nil {
		t.Fatal(err)
	}
	changed := map[any]any{}
	for i := 0; i+1 < len(fields); i += 2 {
		changed[fields[i]] = string(fields[i+1].([]byte))
	}
	if fmt.Sprint(changed) != "map[crm:2:B crm:3:c]" {
		t.Errorf("changed %v, want crm:2 and crm:3 only", changed)
	}
	if err := s.Passes.SaveSnapshots(ctx, "2026-11", SnapshotMonth{Accounts: later, Compare: true}); err != nil {
		t.Fatal(err)
	}
	if got := s.rdb.HGetAll(ctx, k).Val(); fmt.Sprint(got) != "map[crm:1:a crm:2:B crm:3:c]" {
		t.Errorf("stored %v after a compared save", got)
	}
}

func TestFlags(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) { testFlags(t, open(t)) })
	}
}

// testFlags: Flags lists every account's state of one rule.
func testFlags(t *testing.T, s *Store) {
	ctx := context.Background()
	firing := FlagState{Since: t0, FiredAt: t0, Pass: "p1"}
	pending := FlagState{Since: t0.Add(time.Hour)}
	set := map[string]FlagState{"crm:1": firing, "crm:2": pending}
	for i := range 1500 {
		set[fmt.Sprintf("shop:%04d", i)] = firing
	}
	if err := s.Passes.SaveRuleStates(ctx, []RuleUpdate{{Rule: "a:rule", Set: set}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Passes.SaveRuleStates(ctx, []RuleUpdate{{Rule: "other", Set: map[string]FlagState{"crm:3": firing}}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Passes.Flags(ctx, "a:rule")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(got, set, func(a, b FlagState) bool {
		return a.Since.Equal(b.Since) && a.FiredAt.Equal(b.FiredAt) && a.Pass == b.Pass
	}) {
		t.Errorf("flags: %d accounts, want %d", len(got), len(set))
	}
	if got, err := s.Passes.Flags(ctx, "nothing"); err != nil || len(got) != 0 {
		t.Errorf("a rule without flags: %v, %v", got, err)
	}
}
