package store

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func init() {
	coreTests = append(coreTests, coreTest{"GatesInBatches", testGatesInBatches})
}

// testGatesInBatches checks that each batch form of a pass's checks
// answers what its single form answers, pair by pair.
func testGatesInBatches(t *testing.T, s *Store) {
	ctx := context.Background()
	now := time.Now()
	if err := s.Passes.Snooze(ctx, "r:1", "crm:a1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Passes.AcquireCooldown(ctx, "r:1", "crm:a2", "p0", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Suppressions.Suppress(ctx, "Ann@X.io", "bounce", now); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k1", "k2"} {
		e := Entry{Key: k, Rule: "r", AccountID: "crm:a1", Recipient: "ann@x.io", Channel: "email"}
		if _, err := s.Ledger.Claim(ctx, e, "t", time.Minute, now); err != nil {
			t.Fatal(err)
		}
	}
	pairs := []RuleAccount{{"r:1", "crm:a1"}, {"r:1", "crm:a2"}, {"r:2", "crm:a1"}}

	snoozed, err := s.Passes.SnoozedMany(ctx, pairs)
	if err != nil {
		t.Fatal(err)
	}
	cool, err := s.Passes.Cooldowns(ctx, pairs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pairs {
		until, ok, err := s.Passes.Snoozed(ctx, p.Rule, p.Account)
		if err != nil || ok == snoozed[i].IsZero() || !until.Equal(snoozed[i]) {
			t.Errorf("%v: SnoozedMany = %v, Snoozed = %v %v %v", p, snoozed[i], until, ok, err)
		}
		_, ok, err = s.Passes.Cooldown(ctx, p.Rule, p.Account)
		if err != nil || ok == cool[i].IsZero() {
			t.Errorf("%v: Cooldowns = %v, Cooldown running = %v %v", p, cool[i], ok, err)
		}
	}

	free, err := s.Passes.CooldownsFree(ctx, "p1", pairs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Passes.AcquireCooldowns(ctx, "p1", pairs, []time.Duration{time.Hour, time.Hour, time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true}; !reflect.DeepEqual(got, want) {
		t.Errorf("AcquireCooldowns = %v, want %v", got, want)
	}
	if again, _ := s.Passes.AcquireCooldowns(ctx, "p1", pairs, []time.Duration{time.Hour, time.Hour, time.Minute}); !reflect.DeepEqual(again, got) {
		t.Errorf("AcquireCooldowns retried by the same pass = %v, want %v", again, got)
	}
	if !reflect.DeepEqual(free, got) {
		t.Errorf("CooldownsFree before AcquireCooldowns = %v, want what it answered: %v", free, got)
	}
	for _, pass := range []string{"p1", "p2"} {
		free, err := s.Passes.CooldownsFree(ctx, pass, pairs)
		want := []bool{pass == "p1", false, pass == "p1"} // p1 holds two, p0 one
		if err != nil || !reflect.DeepEqual(free, want) {
			t.Errorf("CooldownsFree(%s) after = %v %v, want %v", pass, free, err, want)
		}
	}

	emails := []string{"ann@x.io", "bob@x.io", " ANN@x.io "}
	sup, err := s.Suppressions.SuppressedMany(ctx, emails)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true}; !reflect.DeepEqual(sup, want) {
		t.Errorf("SuppressedMany = %v, want %v", sup, want)
	}

	hist, err := s.Ledger.HistoryByRecipients(ctx, []string{"ann@x.io", "nobody@x.io"})
	if err != nil {
		t.Fatal(err)
	}
	one, err := s.Ledger.HistoryByRecipient(ctx, "ann@x.io")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || len(hist[1]) != 0 || !reflect.DeepEqual(hist[0], one) || len(one) != 2 {
		t.Errorf("HistoryByRecipients = %+v, HistoryByRecipient = %+v", hist, one)
	}
}
