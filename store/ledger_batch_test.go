package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestLedgerBatch(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("MarkAndClaim", func(t *testing.T) { testMarkAndClaim(t, open(t)) })
			t.Run("ClaimAll", func(t *testing.T) { testClaimAll(t, open(t)) })
		})
	}
}

// testMarkAndClaim: one step records what became of each send, as the
// single marks do (a mark whose claim the token lost is refused), then
// claims the next message.
func testMarkAndClaim(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, k := range []string{"sent", "written", "failed", "rejected", "unknown", "late"} {
		claim(t, s, k, "t1", t0, Claimed)
	}
	claim(t, s, "late", "t2", t0.Add(2*time.Minute), NowUnknown) // t1's lease passed: unknown, still t1's
	claim(t, s, "lost", "t2", t0, Claimed)                       // never t1's
	marks := []Mark{
		{Key: "sent", Status: StatusSent},
		{Key: "written", Status: StatusWritten},
		{Key: "failed", Status: StatusFailed, Reason: "503"},
		{Key: "rejected", Status: StatusRejected, Reason: "bad address"},
		{Key: "unknown", Status: StatusUnknown, Reason: "timeout", Msg: []byte(`{"to":"ann@x.io"}`)},
		{Key: "late", Status: StatusRejected, Reason: "bad address"},
		{Key: "lost", Status: StatusSent},
	}
	at := t0.Add(time.Second)
	ok, res, err := s.Ledger.MarkAndClaim(ctx, "t1", at, marks, []Entry{entry("next"), entry("sent")}, time.Minute, at)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, true, true, true, true, false}; !slices.Equal(ok, want) {
		t.Errorf("recorded %v, want %v (a late known outcome wins over unknown; another's claim is not marked)", ok, want)
	}
	if want := []ClaimResult{Claimed, AlreadySent}; !slices.Equal(res, want) {
		t.Errorf("claims %v, want %v: marks come before the claims of the step", res, want)
	}
	if e := wantStatus(t, s, "sent", StatusSent, ""); !e.SentAt.Equal(at) {
		t.Errorf("sent at %v, want %v", e.SentAt, at)
	}
	wantStatus(t, s, "written", StatusWritten, "")
	wantStatus(t, s, "failed", StatusFailed, "503")
	wantStatus(t, s, "rejected", StatusRejected, "bad address")
	wantStatus(t, s, "unknown", StatusUnknown, "timeout")
	wantStatus(t, s, "late", StatusRejected, "bad address")
	wantStatus(t, s, "lost", StatusClaimed, "")
	if m, err := s.Ledger.Message(ctx, "unknown"); err != nil || string(m) != `{"to":"ann@x.io"}` {
		t.Errorf("kept message %q, %v", m, err)
	}
	wantStatus(t, s, "next", StatusClaimed, "")

	// Another token's marks are refused, and change nothing.
	ok, err = s.Ledger.MarkAll(ctx, "t9", at, []Mark{{Key: "next", Status: StatusSent}})
	if err != nil || !slices.Equal(ok, []bool{false}) {
		t.Errorf("MarkAll by another token = %v, %v; want refused", ok, err)
	}
	if err := s.Ledger.MarkSent(ctx, "next", "t9", at); !errors.Is(err, ErrClaimLost) {
		t.Errorf("MarkSent by another token = %v, want ErrClaimLost", err)
	}
	wantStatus(t, s, "next", StatusClaimed, "")
	if _, err := s.Ledger.MarkAll(ctx, "t1", at, []Mark{{Key: "next", Status: StatusClaimed}}); err == nil {
		t.Error("MarkAll took claimed for an outcome")
	}
}

// testClaimAll: each entry of one step gets what Claim would give it, and
// UnclaimAll gives back only the claims of that step.
func testClaimAll(t *testing.T, s *Store) {
	ctx := context.Background()
	claim(t, s, "sent", "t0", t0, Claimed)
	if err := s.Ledger.MarkSent(ctx, "sent", "t0", t0); err != nil {
		t.Fatal(err)
	}
	claim(t, s, "held", "t0", t0, Claimed)
	claim(t, s, "mine", "t1", t0, Claimed)
	claim(t, s, "unknown", "t1", t0, Claimed)
	claim(t, s, "unknown", "t1", t0, NowUnknown)
	at := t0.Add(time.Second)
	es := []Entry{entry("new"), entry("sent"), entry("held"), entry("mine"), entry("unknown")}
	res, err := s.Ledger.ClaimAll(ctx, es, "t1", time.Minute, at)
	if err != nil {
		t.Fatal(err)
	}
	if want := []ClaimResult{Claimed, AlreadySent, HeldByOther, NowUnknown, Unknown}; !slices.Equal(res, want) {
		t.Fatalf("ClaimAll = %v, want %v", res, want)
	}
	n, err := s.Ledger.UnclaimAll(ctx, []string{"new", "held", "mine"}, "t1", at, "lost answer")
	if err != nil || n != 1 {
		t.Fatalf("UnclaimAll = %d, %v; want the one claim of that step given back", n, err)
	}
	wantStatus(t, s, "new", StatusFailed, "lost answer")
	wantStatus(t, s, "held", StatusClaimed, "")
	if h, err := s.Ledger.History(ctx, "crm:a1"); err != nil || len(h) != 5 {
		t.Errorf("History = %d entries, %v; want the 5 entries indexed", len(h), err)
	}
}
