package workers

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// writingSender is a recordingSender that says whether it only writes
// messages, like the outbox.
type writingSender struct {
	recordingSender
	writes bool
}

func (w *writingSender) Writes() bool { return w.writes }

// TestDeliverWrittenIsNotSent: what a writing sender (the outbox) accepts
// is recorded, counted and logged as written; what a real sender accepts,
// as sent. Either way it is delivered once and counts for the frequency
// cap.
func TestDeliverWrittenIsNotSent(t *testing.T) {
	tests := []struct {
		name   string
		writes bool
		status string
		log    string
	}{
		{"outbox", true, store.StatusWritten, "message written to outbox"},
		{"sender that says it sends", false, store.StatusSent, "message sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := testStore(t)
			snd := &writingSender{writes: tt.writes}
			var logs bytes.Buffer
			d := newDeliverer(s, snd)
			d.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			d.Cap = FrequencyCap{Max: 1, Per: 24 * time.Hour}
			msgs := messages(2, notify.Email)
			if err := d.Deliver(ctx, "task-1", msgs); err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				e, err := s.Ledger.Entry(ctx, m.LedgerKey)
				if err != nil || e.Status != tt.status || e.SentAt.IsZero() {
					t.Fatalf("%s: entry %+v, %v; want %s", m.LedgerKey, e, err, tt.status)
				}
			}
			if got := testutil.ToFloat64(d.Metrics.Messages.WithLabelValues("email", tt.status)); got != 2 {
				t.Errorf("crmsync_messages_total{outcome=%q} = %v, want 2", tt.status, got)
			}
			other := map[string]string{store.StatusSent: store.StatusWritten, store.StatusWritten: store.StatusSent}[tt.status]
			if got := testutil.ToFloat64(d.Metrics.Messages.WithLabelValues("email", other)); got != 0 {
				t.Errorf("crmsync_messages_total{outcome=%q} = %v, want 0", other, got)
			}
			if n := strings.Count(logs.String(), fmt.Sprintf("msg=%q", tt.log)); n != 2 {
				t.Errorf("%d log lines %q, want 2:\n%s", n, tt.log, logs.String())
			}
			// Again by another task: already delivered, not again.
			if err := d.Deliver(ctx, "task-2", msgs); err != nil {
				t.Fatal(err)
			}
			if n := snd.count(msgs[0].LedgerKey); n != 1 {
				t.Errorf("delivered %d times, want once", n)
			}
			// A new message to the same address: the written one counts
			// for the cap (1 a day), so it is held back.
			next := msgs[0]
			next.LedgerKey = LedgerKey("r", next.AccountID, notify.Email, next.To, "p2")
			if err := d.Deliver(ctx, "task-3", []notify.Message{next}); err != nil {
				t.Fatal(err)
			}
			if n := snd.count(next.LedgerKey); n != 0 {
				t.Errorf("a second email within the cap's day was delivered %d times, want held back", n)
			}
		})
	}
}
