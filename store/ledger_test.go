package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// claim claims key for token at at with a one-minute lease and checks the
// result.
func claim(t *testing.T, s *Store, key, token string, at time.Time, want ClaimResult) {
	t.Helper()
	got, err := s.Ledger.Claim(context.Background(), entry(key), token, time.Minute, at)
	if err != nil || got != want {
		t.Fatalf("Claim(%s, %s) = %v, %v; want %v", key, token, got, err, want)
	}
}

// wantStatus checks the status (and, when not empty, the error) of key.
func wantStatus(t *testing.T, s *Store, key, status, errPart string) Entry {
	t.Helper()
	e, err := s.Ledger.Entry(context.Background(), key)
	if err != nil || e.Status != status {
		t.Fatalf("Entry(%s) = %q, %v; want status %q", key, e.Status, err, status)
	}
	if errPart != "" && e.Error != errPart {
		t.Fatalf("Entry(%s).Error = %q, want %q", key, e.Error, errPart)
	}
	return e
}

func testLedgerUnknownOutcomes(t *testing.T, s *Store) {
	tests := []struct {
		name   string
		second string        // token of the second claim
		after  time.Duration // after the first
		want   ClaimResult
		status string
	}{
		{"same token: an earlier attempt never recorded", "t1", time.Second, NowUnknown, StatusUnknown},
		{"same token, even after the lease", "t1", time.Hour, NowUnknown, StatusUnknown},
		{"other token within the lease", "t2", 59 * time.Second, HeldByOther, StatusClaimed},
		{"other token once the lease passed", "t2", time.Minute, NowUnknown, StatusUnknown},
	}
	for i, tt := range tests {
		key := fmt.Sprintf("k%d", i)
		claim(t, s, key, "t1", t0, Claimed)
		claim(t, s, key, tt.second, t0.Add(tt.after), tt.want)
		e := wantStatus(t, s, key, tt.status, "")
		if e.Token != "t1" || !e.ClaimedAt.Equal(t0) {
			t.Errorf("%s: token %s claimed at %v; the first claim's must stay", tt.name, e.Token, e.ClaimedAt)
		}
		if tt.want == NowUnknown {
			// Unknown stays unknown, whoever asks.
			claim(t, s, key, "t1", t0.Add(2*time.Hour), Unknown)
			claim(t, s, key, "t3", t0.Add(2*time.Hour), Unknown)
		}
	}
	// An entry claimed before leases were recorded: claimed_ms + lease.
	claim(t, s, "legacy", "t1", t0, Claimed)
	if err := s.Redis().HDel(context.Background(), s.ledgerKey("legacy"), "lease_ms").Err(); err != nil {
		t.Fatal(err)
	}
	claim(t, s, "legacy", "t2", t0.Add(30*time.Second), HeldByOther)
	claim(t, s, "legacy", "t2", t0.Add(2*time.Minute), NowUnknown)
}

func testLedgerLateOutcomeWins(t *testing.T, s *Store) {
	ctx := context.Background()
	steps := []struct {
		name, key string
		record    func(key string) error // by t1, after its claim became unknown
		wantErr   error
		status    string
		errText   string
	}{
		{"mark sent", "sent", func(k string) error { return s.Ledger.MarkSent(ctx, k, "t1", t0.Add(time.Hour)) }, nil, StatusSent, ""},
		{"reject", "rejected", func(k string) error { return s.Ledger.Reject(ctx, k, "t1", "bad address") }, nil, StatusRejected, "bad address"},
		{"release", "released", func(k string) error { return s.Ledger.Release(ctx, k, "t1", "503") }, nil, StatusUnknown, "not sent: 503"},
		{"mark sent by another", "other", func(k string) error { return s.Ledger.MarkSent(ctx, k, "t2", t0) }, ErrClaimLost, StatusUnknown, ""},
	}
	for _, st := range steps {
		claim(t, s, st.key, "t1", t0, Claimed)
		claim(t, s, st.key, "t1", t0.Add(time.Second), NowUnknown) // the task's retry
		if err := s.Ledger.KeepMessage(ctx, st.key, []byte(`{"to":"ann@x.io"}`)); err != nil {
			t.Fatal(err)
		}
		if err := st.record(st.key); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		e := wantStatus(t, s, st.key, st.status, st.errText)
		_, err := s.Ledger.Message(ctx, st.key)
		if kept := err == nil; kept != (st.status == StatusUnknown) {
			t.Errorf("%s: message kept = %v (%v), want it kept only while unknown", st.name, kept, err)
		}
		if st.status == StatusSent && !e.SentAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("%s: sent at %v", st.name, e.SentAt)
		}
	}
}

func testLedgerReclaimAndResolve(t *testing.T, s *Store) {
	ctx := context.Background()
	lease := time.Minute
	unknown := func(key string) {
		claim(t, s, key, "t1", t0, Claimed)
		claim(t, s, key, "t1", t0, NowUnknown)
	}
	// Not found where it would have gone: claimed again, sent once.
	unknown("k")
	if res, err := s.Ledger.Reclaim(ctx, "k", "t2", lease, t0.Add(2*time.Minute)); err != nil || res != Claimed {
		t.Fatalf("Reclaim = %v, %v; want Claimed", res, err)
	}
	e := wantStatus(t, s, "k", StatusClaimed, "")
	if e.Token != "t2" || !e.ClaimedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("reclaimed entry = %+v", e)
	}
	claim(t, s, "k", "t3", t0.Add(2*time.Minute+time.Second), HeldByOther)
	if err := s.Ledger.MarkSent(ctx, "k", "t1", t0); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("the old holder's MarkSent after a reclaim = %v, want ErrClaimLost", err)
	}
	if err := s.Ledger.MarkSent(ctx, "k", "t2", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Ledger.Reclaim(ctx, "k", "t4", lease, t0.Add(time.Hour)); err != nil || res != AlreadySent {
		t.Fatalf("Reclaim of a sent entry = %v, %v; want AlreadySent", res, err)
	}

	// Found where it went: recorded sent.
	unknown("found")
	if err := s.Ledger.ResolveSent(ctx, "found", t0.Add(time.Minute), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if e := wantStatus(t, s, "found", StatusSent, ""); !e.SentAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("resolved entry sent at %v", e.SentAt)
	}
	if err := s.Ledger.ResolveSent(ctx, "found", t0, t0); err != nil {
		t.Errorf("ResolveSent of a sent entry = %v, want nil", err)
	}

	// A claim whose holder died (its lease passed) is resendable too.
	claim(t, s, "stale", "t1", t0, Claimed)
	if res, err := s.Ledger.Reclaim(ctx, "stale", "t2", lease, t0.Add(30*time.Second)); err != nil || res != HeldByOther {
		t.Fatalf("Reclaim of a live claim = %v, %v; want HeldByOther", res, err)
	}
	if res, err := s.Ledger.Reclaim(ctx, "stale", "t2", lease, t0.Add(2*time.Minute)); err != nil || res != Claimed {
		t.Fatalf("Reclaim of a stale claim = %v, %v; want Claimed", res, err)
	}

	// Nothing else is reclaimed or resolved.
	claim(t, s, "failed", "t1", t0, Claimed)
	if err := s.Ledger.Release(ctx, "failed", "t1", "503"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"failed", "missing"} {
		if _, err := s.Ledger.Reclaim(ctx, k, "t2", lease, t0); !errors.Is(err, ErrNotUnknown) {
			t.Errorf("Reclaim(%s) = %v, want ErrNotUnknown", k, err)
		}
		if err := s.Ledger.ResolveSent(ctx, k, t0, t0); !errors.Is(err, ErrNotUnknown) {
			t.Errorf("ResolveSent(%s) = %v, want ErrNotUnknown", k, err)
		}
	}

	// A send whose outcome is unknown (a timeout) keeps its message.
	claim(t, s, "timeout", "t1", t0, Claimed)
	if err := s.Ledger.MarkUnknown(ctx, "timeout", "t2", "timeout", nil); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("MarkUnknown by another token = %v, want ErrClaimLost", err)
	}
	if err := s.Ledger.MarkUnknown(ctx, "timeout", "t1", "timeout", []byte("msg")); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, s, "timeout", StatusUnknown, "timeout")
	if b, err := s.Ledger.Message(ctx, "timeout"); err != nil || string(b) != "msg" {
		t.Fatalf("Message = %q, %v", b, err)
	}
}

// testLedgerConcurrentReclaim resends one unknown entry from 8 goroutines
// at once: exactly one may send it.
func testLedgerConcurrentReclaim(t *testing.T, s *Store) {
	claim(t, s, "k", "t1", t0, Claimed)
	claim(t, s, "k", "t1", t0, NowUnknown)
	var mu sync.Mutex
	results := map[ClaimResult]int{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			res, err := s.Ledger.Reclaim(context.Background(), "k", fmt.Sprintf("resend-%d", i), time.Minute, t0.Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			results[res]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if results[Claimed] != 1 || results[HeldByOther] != 7 {
		t.Fatalf("results = %v; want one Claimed, 7 HeldByOther", results)
	}
}

func testLedgerKeptMessage(t *testing.T, s *Store) {
	ctx := context.Background()
	claim(t, s, "k", "t1", t0, Claimed)
	if err := s.Ledger.KeepMessage(ctx, "k", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ledger.Message(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a claimed entry kept its message: %v; want it kept only once unknown", err)
	}
	claim(t, s, "k", "t1", t0, NowUnknown)
	for _, b := range []string{"first", "second"} {
		if err := s.Ledger.KeepMessage(ctx, "k", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := s.Ledger.Message(ctx, "k"); err != nil || string(b) != "first" {
		t.Fatalf("Message = %q, %v; want the first kept", b, err)
	}
	if err := s.Ledger.ResolveSent(ctx, "k", t0, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ledger.Message(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a sent entry still keeps its message: %v", err)
	}
}

func testLedgerAbandon(t *testing.T, s *Store) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(key string)
		token   string // of the task that gives up
		want    string // status written, "" when left alone
		status  string // status after
		kept    bool   // message kept
	}{
		{"never claimed", func(string) {}, "t1", StatusDead, StatusDead, false},
		{"failed", func(k string) {
			claim(t, s, k, "t1", t0, Claimed)
			s.Ledger.Release(ctx, k, "t1", "503")
		}, "t1", StatusDead, StatusDead, false},
		{"claimed by the task", func(k string) { claim(t, s, k, "t1", t0, Claimed) }, "t1", StatusUnknown, StatusUnknown, true},
		{"claimed live by another task", func(k string) { claim(t, s, k, "t2", time.Now(), Claimed) }, "t1", "", StatusClaimed, false},
		{"claimed by another task, lease passed", func(k string) { claim(t, s, k, "t2", t0, Claimed) }, "t1", StatusUnknown, StatusUnknown, true},
		{"unknown", func(k string) {
			claim(t, s, k, "t1", t0, Claimed)
			claim(t, s, k, "t1", t0, NowUnknown)
		}, "t1", "", StatusUnknown, true},
		{"sent", func(k string) {
			claim(t, s, k, "t1", t0, Claimed)
			s.Ledger.MarkSent(ctx, k, "t1", t0)
		}, "t1", "", StatusSent, false},
	}
	for i, tt := range tests {
		key := fmt.Sprintf("k%d", i)
		tt.prepare(key)
		got, err := s.Ledger.Abandon(ctx, entry(key), tt.token, "8 retries failed", []byte("msg"), time.Now())
		if err != nil || got != tt.want {
			t.Fatalf("%s: Abandon = %q, %v; want %q", tt.name, got, err, tt.want)
		}
		wantStatus(t, s, key, tt.status, "")
		if _, err := s.Ledger.Message(ctx, key); (err == nil) != tt.kept {
			t.Errorf("%s: message kept = %v, want %v", tt.name, err == nil, tt.kept)
		}
	}
}

func testLedgerStaleClaimInHistory(t *testing.T, s *Store) {
	ctx := context.Background()
	now := time.Now()
	// Claimed an hour ago by a worker that died: its lease passed.
	if _, err := s.Ledger.Claim(ctx, entry("stale"), "t1", time.Minute, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ledger.Claim(ctx, entry("live"), "t2", time.Minute, now); err != nil {
		t.Fatal(err)
	}
	h, err := s.Ledger.History(ctx, "crm:a1")
	if err != nil || len(h) != 2 {
		t.Fatalf("History = %+v, %v", h, err)
	}
	got := map[string]string{h[0].Key: h[0].Status, h[1].Key: h[1].Status}
	if got["stale"] != StatusUnknown || got["live"] != StatusClaimed {
		t.Fatalf("history statuses = %v; want the stale claim unknown, the live one claimed", got)
	}
	if h, _ := s.Ledger.HistoryByRecipient(ctx, "ann@x.io"); len(h) != 2 || h[1].Status != StatusUnknown {
		t.Fatalf("HistoryByRecipient = %+v", h)
	}
}

func testChannelPause(t *testing.T, s *Store) {
	ctx := context.Background()
	if _, ok, err := s.Ledger.ChannelPause(ctx, "slack"); ok || err != nil {
		t.Fatalf("ChannelPause of a channel never paused = %v, %v", ok, err)
	}
	if first, err := s.Ledger.PauseChannel(ctx, "slack", "invalid_auth", t0); !first || err != nil {
		t.Fatalf("PauseChannel = %v, %v; want first", first, err)
	}
	if first, err := s.Ledger.PauseChannel(ctx, "slack", "token_revoked", t0.Add(time.Minute)); first || err != nil {
		t.Fatalf("PauseChannel again = %v, %v; want not first", first, err)
	}
	p, ok, err := s.Ledger.ChannelPause(ctx, "slack")
	if !ok || err != nil || p.Reason != "token_revoked" || !p.Since.Equal(t0) {
		t.Fatalf("ChannelPause = %+v, %v, %v; want the latest reason since the first pause", p, ok, err)
	}
	if _, ok, _ := s.Ledger.ChannelPause(ctx, "email"); ok {
		t.Fatal("pausing slack paused email")
	}
	if was, err := s.Ledger.ResumeChannel(ctx, "slack"); !was || err != nil {
		t.Fatalf("ResumeChannel = %v, %v", was, err)
	}
	if was, _ := s.Ledger.ResumeChannel(ctx, "slack"); was {
		t.Fatal("ResumeChannel of a running channel says it was paused")
	}
	if _, ok, _ := s.Ledger.ChannelPause(ctx, "slack"); ok {
		t.Fatal("still paused after ResumeChannel")
	}
}

func testClaimProbe(t *testing.T, s *Store) {
	ctx := context.Background()
	probe := func(now bool) bool {
		t.Helper()
		ok, err := s.Ledger.ClaimProbe(ctx, "slack", 100*time.Millisecond, time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !probe(false) {
		t.Fatal("the first probe did not get its turn")
	}
	if probe(false) || probe(true) {
		t.Fatal("a second probe got a turn while the first runs")
	}
	time.Sleep(250 * time.Millisecond) // the first is over, the interval is not
	if probe(false) {
		t.Fatal("a probe got a turn within the interval")
	}
	if !probe(true) {
		t.Fatal("a starting process's probe did not get its turn")
	}
	if ok, _ := s.Ledger.ClaimProbe(ctx, "email", time.Second, time.Hour, false); !ok {
		t.Fatal("probing slack held email's turn")
	}
}

// testUnclaim: only the claim made at the given millisecond by the given
// token, untouched since, is given back.
func testUnclaim(t *testing.T, s *Store) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	claim(t, s, "k", "t1", at, Claimed)
	for _, tt := range []struct {
		token string
		at    time.Time
	}{{"t2", at}, {"t1", at.Add(time.Millisecond)}} {
		if ok, err := s.Ledger.Unclaim(ctx, "k", tt.token, tt.at, "lost"); ok || err != nil {
			t.Fatalf("Unclaim(%s, %s) = %v, %v; want nothing given back", tt.token, tt.at, ok, err)
		}
	}
	if ok, err := s.Ledger.Unclaim(ctx, "k", "t1", at, "lost answer"); !ok || err != nil {
		t.Fatalf("Unclaim of the claim = %v, %v; want given back", ok, err)
	}
	wantStatus(t, s, "k", StatusFailed, "lost answer")
	claim(t, s, "k", "t1", at.Add(time.Second), Claimed) // the retry claims and sends
	if ok, _ := s.Ledger.Unclaim(ctx, "unknown-key", "t1", at, "lost"); ok {
		t.Fatal("Unclaim of a key never claimed gave something back")
	}
}
