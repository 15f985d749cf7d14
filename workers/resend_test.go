package workers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// unknownEmail returns an email whose earlier attempt left its outcome
// unknown, and a Deliverer of its channel sending through snd.
func unknownEmail(t *testing.T, s *store.Store, snd notify.Sender) (*notify.Message, *Deliverer) {
	t.Helper()
	msgs := messages(1, notify.Email)
	claimAs(t, s, &msgs[0], "task-1", time.Now())
	d := newDeliverer(s, snd)
	if err := d.Deliver(context.Background(), "task-1", msgs); err != nil {
		t.Fatal(err)
	}
	return &msgs[0], d
}

func TestResend(t *testing.T) {
	ctx := context.Background()
	s, _ := miniStore(t)
	snd := &recordingSender{}
	m, d := unknownEmail(t, s, snd)
	got, err := d.Resend(ctx, m, "resend-1")
	if err != nil || got != Resent || snd.count(m.LedgerKey) != 1 {
		t.Fatalf("Resend = %q, %v; sent %d", got, err, snd.count(m.LedgerKey))
	}
	if e := entryStatus(t, s, m.LedgerKey); e.Status != store.StatusSent || e.Token != "resend-1" {
		t.Fatalf("entry after a resend = %+v", e)
	}
	// A resend never applies to a sent entry.
	if got, err := d.Resend(ctx, m, "resend-2"); err != nil || got != ResendSent || snd.count(m.LedgerKey) != 1 {
		t.Fatalf("second Resend = %q, %v; sent %d", got, err, snd.count(m.LedgerKey))
	}
}

// blockingSender holds every send until released, to make resends
// overlap.
type blockingSender struct {
	recordingSender
	release chan struct{}
}

func (b *blockingSender) Send(ctx context.Context, m *notify.Message) error {
	<-b.release
	return b.recordingSender.Send(ctx, m)
}

func TestConcurrentResendsSendOnce(t *testing.T) {
	s, _ := miniStore(t)
	snd := &blockingSender{release: make(chan struct{})}
	close(snd.release) // the setup's Deliver sends nothing anyway
	m, _ := unknownEmail(t, s, &recordingSender{})
	snd.release = make(chan struct{})
	d := newDeliverer(s, snd)
	var wg sync.WaitGroup
	results := make([]string, 6)
	for i := range results {
		wg.Go(func() {
			r, err := d.Resend(context.Background(), m, fmt.Sprintf("resend-%d", i))
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(snd.release)
	wg.Wait()
	count := map[string]int{}
	for _, r := range results {
		count[r]++
	}
	if snd.count(m.LedgerKey) != 1 || count[Resent] != 1 || count[ResendHeld]+count[ResendSent] != 5 {
		t.Fatalf("sent %d times, results %v; want one send", snd.count(m.LedgerKey), count)
	}
}

func TestResendRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(t *testing.T, s *store.Store, m *notify.Message)
		fail    error
		want    string
		wantErr error
		status  string
	}{
		{name: "suppressed since", prepare: func(t *testing.T, s *store.Store, m *notify.Message) {
			s.Suppressions.Suppress(ctx, m.To, "unsubscribed", time.Now())
		}, want: ResendBlocked, status: store.StatusUnknown},
		{name: "failed, its task retries it", prepare: func(t *testing.T, s *store.Store, m *notify.Message) {
			s.Ledger.Reclaim(ctx, m.LedgerKey, "x", ClaimLease, time.Now())
			s.Ledger.Release(ctx, m.LedgerKey, "x", "503")
		}, wantErr: store.ErrNotUnknown, status: store.StatusFailed},
		{name: "provider down: still unknown", fail: errors.New("503"), want: ResendLeft, wantErr: errors.New(""), status: store.StatusUnknown},
		{name: "timed out: still unknown", fail: fmt.Errorf("timeout: %w", notify.ErrOutcomeUnknown), want: ResendLeft, status: store.StatusUnknown},
		{name: "bad address: rejected", fail: fmt.Errorf("400: %w", notify.ErrPermanent), want: ResendRefused, status: store.StatusRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := miniStore(t)
			m, _ := unknownEmail(t, s, &recordingSender{})
			if tt.prepare != nil {
				tt.prepare(t, s, m)
			}
			snd := &recordingSender{fail: map[string]error{m.To: tt.fail}}
			d := newDeliverer(s, snd)
			d.recordWait = time.Millisecond
			got, err := d.Resend(ctx, m, "resend-1")
			if got != tt.want || (err != nil) != (tt.wantErr != nil) || err != nil && tt.wantErr.Error() != "" && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Resend = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if st := entryStatus(t, s, m.LedgerKey).Status; st != tt.status {
				t.Errorf("status %q, want %q", st, tt.status)
			}
			if tt.status == store.StatusUnknown {
				if _, err := s.Ledger.Message(ctx, m.LedgerKey); err != nil {
					t.Errorf("message no longer kept: %v", err)
				}
			}
		})
	}
}

func TestResendSlackFoundIsNotPostedAgain(t *testing.T) {
	ctx := context.Background()
	s, _ := miniStore(t)
	msgs := messages(1, notify.Slack)
	m := &msgs[0]
	snd := &findingSender{}
	claimAs(t, s, m, "task-1", time.Now().Add(-2*ClaimLease)) // the attempt died…
	snd.Send(ctx, m)                                          // …after it posted
	d := newDeliverer(s, snd)
	d.Channel = notify.Slack
	got, err := d.Resend(ctx, m, "resend-1")
	if err != nil || got != ResendFound || snd.count(m.LedgerKey) != 1 {
		t.Fatalf("Resend = %q, %v; posted %d times", got, err, snd.count(m.LedgerKey))
	}
	if st := entryStatus(t, s, m.LedgerKey).Status; st != store.StatusSent {
		t.Errorf("status %q, want sent", st)
	}
}

func TestResendWhilePaused(t *testing.T) {
	ctx := context.Background()
	s, _ := miniStore(t)
	m, _ := unknownEmail(t, s, &recordingSender{})
	s.Ledger.PauseChannel(ctx, "email", "401", time.Now())
	snd := &lockedSender{}
	snd.set(true)
	d := newDeliverer(s, snd)
	d.Pauses = s.Ledger
	if _, err := d.Resend(ctx, m, "resend-1"); !errors.As(err, new(*PausedError)) || snd.count(m.LedgerKey) != 0 {
		t.Fatalf("Resend on a paused channel = %v", err)
	}
}
