package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/redistest"
)

// stores returns the two stores the ledger's scripts run on: miniredis
// (embedded mode) and a real Redis.
func stores(t *testing.T) map[string]func(t *testing.T) *Store {
	return map[string]func(t *testing.T) *Store{
		"miniredis": miniStore,
		"redis":     func(t *testing.T) *Store { return New(redistest.Client(t), redistest.Namespace(t)) },
	}
}

func TestLedgerWritten(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) { testLedgerWritten(t, open(t)) })
	}
}

// testLedgerWritten: a message written to the outbox is recorded written,
// and is as final as a sent one: never claimed, reclaimed, abandoned or
// released again.
func testLedgerWritten(t *testing.T, s *Store) {
	ctx := context.Background()
	claim(t, s, "w", "t1", t0, Claimed)
	steps := []struct {
		name    string
		do      func() error
		wantErr error
	}{
		{"mark written", func() error { return s.Ledger.MarkWritten(ctx, "w", "t1", t0.Add(time.Second)) }, nil},
		{"mark written again", func() error { return s.Ledger.MarkWritten(ctx, "w", "t1", t0.Add(2*time.Second)) }, nil},
		{"mark sent by the same holder", func() error { return s.Ledger.MarkSent(ctx, "w", "t1", t0.Add(3*time.Second)) }, nil},
		{"mark written by another", func() error { return s.Ledger.MarkWritten(ctx, "w", "t2", t0) }, ErrClaimLost},
		{"release", func() error { return s.Ledger.Release(ctx, "w", "t1", "x") }, ErrClaimLost},
		{"resolve sent", func() error { return s.Ledger.ResolveSent(ctx, "w", t0, t0) }, nil},
	}
	for _, st := range steps {
		if err := st.do(); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if e := wantStatus(t, s, "w", StatusWritten, ""); !e.SentAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("%s: written at %v, want the first record's %v", st.name, e.SentAt, t0.Add(time.Second))
		}
	}
	claim(t, s, "w", "t3", t0.Add(time.Hour), AlreadySent)
	if res, err := s.Ledger.Reclaim(ctx, "w", "t3", time.Minute, t0.Add(time.Hour)); err != nil || res != AlreadySent {
		t.Fatalf("Reclaim = %v, %v; want AlreadySent", res, err)
	}
	if st, err := s.Ledger.Abandon(ctx, entry("w"), "t1", "gave up", nil, t0.Add(time.Hour)); err != nil || st != "" {
		t.Fatalf("Abandon = %q, %v; want the written entry left alone", st, err)
	}
	wantStatus(t, s, "w", StatusWritten, "")
	if h, err := s.Ledger.History(ctx, "crm:a1"); err != nil || len(h) != 1 || h[0].Status != StatusWritten {
		t.Fatalf("History = %+v, %v; want the one written entry", h, err)
	}
}

func TestDelivered(t *testing.T) {
	for _, tt := range []struct {
		status string
		want   bool
	}{
		{StatusSent, true}, {StatusWritten, true}, {StatusClaimed, false}, {StatusFailed, false},
		{StatusRejected, false}, {StatusDead, false}, {StatusUnknown, false}, {StatusResolved, false},
	} {
		if got := Delivered(tt.status); got != tt.want {
			t.Errorf("Delivered(%q) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestLedgerPassEntries(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) { testLedgerPassEntries(t, open(t)) })
	}
}

// testLedgerPassEntries: the entries of a pass, whatever their status, and
// none of another pass whose name shares its prefix or of a pass named
// with glob characters.
func testLedgerPassEntries(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, c := range []struct{ key, pass string }{
		{"r|crm:a1|email|ann@x.io|manual@1", "manual@1"},
		{"r|digest|slack|bob@x.io|manual@1#1", "manual@1"},
		{"r|crm:a1|slack|bob@x.io|resolved@manual@1", "manual@1"},
		{"r|crm:a1|email|ann@x.io|manual@12", "manual@12"},
		{"r|crm:a1|email|ann@x.io|m[a]n*", "m[a]n*"},
	} {
		e := entry(c.key)
		e.Pass = c.pass
		if _, err := s.Ledger.Claim(ctx, e, "t1", time.Minute, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Ledger.MarkWritten(ctx, "r|crm:a1|email|ann@x.io|manual@1", "t1", t0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pass string
		want []string
	}{
		{"manual@1", []string{"r|crm:a1|email|ann@x.io|manual@1", "r|crm:a1|slack|bob@x.io|resolved@manual@1", "r|digest|slack|bob@x.io|manual@1#1"}},
		{"manual@12", []string{"r|crm:a1|email|ann@x.io|manual@12"}},
		{"m[a]n*", []string{"r|crm:a1|email|ann@x.io|m[a]n*"}},
		{"man", nil},
	}
	for _, tt := range tests {
		es, err := s.Ledger.PassEntries(ctx, tt.pass)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, e := range es {
			keys = append(keys, e.Key)
			if tt.pass == "manual@1" && e.Key == tt.want[0] && e.Status != StatusWritten {
				t.Errorf("%s: status %q, want written", e.Key, e.Status)
			}
		}
		slices.Sort(keys)
		if !slices.Equal(keys, tt.want) {
			t.Errorf("PassEntries(%q) = %q, want %q", tt.pass, keys, tt.want)
		}
	}
	if _, err := s.Ledger.PassEntries(ctx, ""); err == nil {
		t.Error("PassEntries with no pass: want an error")
	}
}
