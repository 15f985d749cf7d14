package workers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// recordingSender is a notify.Sender that records what it sends and fails
// the way it is told to.
type recordingSender struct {
	mu   sync.Mutex
	sent map[string]int // ledger key → times sent
	fail map[string]error
}

func (r *recordingSender) Send(_ context.Context, m *notify.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fail[m.To]; err != nil {
		return err
	}
	if r.sent == nil {
		r.sent = map[string]int{}
	}
	r.sent[m.LedgerKey]++
	return nil
}

func (r *recordingSender) sentKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Keys(r.sent))
}

func (r *recordingSender) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent[key]
}

func testStore(t *testing.T) *store.Store {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return store.New(rdb, "test")
}

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func messages(n int, ch notify.Channel) []notify.Message {
	var out []notify.Message
	for i := range n {
		to := fmt.Sprintf("c%d@example.com", i)
		out = append(out, notify.Message{
			LedgerKey: LedgerKey("r", fmt.Sprintf("s:%d", i), ch, to, "p1"),
			Channel:   ch, Rule: "r", AccountID: fmt.Sprintf("s:%d", i), Pass: "p1", To: to, Text: "hi",
		})
	}
	return out
}

func newDeliverer(s *store.Store, snd notify.Sender) *Deliverer {
	return &Deliverer{Channel: notify.Email, Sender: snd, Ledger: s.Ledger, Suppressions: s.Suppressions, Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
}

func TestDeliverSendsEachMessageOnce(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	snd := &recordingSender{}
	d := newDeliverer(s, snd)
	msgs := messages(5, notify.Email)
	if err := d.Deliver(ctx, "task-1", msgs); err != nil {
		t.Fatal(err)
	}
	// A re-run of the same batch by another task (a retried evaluation) and
	// by the same task (an asynq retry) sends nothing new.
	for _, token := range []string{"task-2", "task-1"} {
		if err := d.Deliver(ctx, token, msgs); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range msgs {
		if n := snd.count(m.LedgerKey); n != 1 {
			t.Errorf("%s sent %d times, want 1", m.LedgerKey, n)
		}
	}
	hist, err := s.Ledger.History(ctx, msgs[0].AccountID)
	if err != nil || len(hist) != 1 || hist[0].Status != "sent" {
		t.Fatalf("history = %+v, %v; want one sent entry", hist, err)
	}
}

func TestDeliverRetriesTransientFailures(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	msgs := messages(3, notify.Email)
	snd := &recordingSender{fail: map[string]error{msgs[1].To: errors.New("provider down")}}
	d := newDeliverer(s, snd)
	err := d.Deliver(ctx, "task-1", msgs)
	if err == nil || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("Deliver error = %v, want a retryable error", err)
	}
	snd.mu.Lock()
	snd.fail = nil
	snd.mu.Unlock()
	if err := d.Deliver(ctx, "task-1", msgs); err != nil {
		t.Fatalf("retry: %v", err)
	}
	for _, m := range msgs {
		if n := snd.count(m.LedgerKey); n != 1 {
			t.Errorf("%s sent %d times, want 1", m.To, n)
		}
	}
}

func TestDeliverDropsPermanentFailures(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	msgs := messages(2, notify.Email)
	snd := &recordingSender{fail: map[string]error{msgs[0].To: fmt.Errorf("bad address: %w", notify.ErrPermanent)}}
	d := newDeliverer(s, snd)
	if err := d.Deliver(ctx, "task-1", msgs); err != nil {
		t.Fatalf("a permanent failure must not fail the batch (no blind retry): %v", err)
	}
	if snd.count(msgs[1].LedgerKey) != 1 {
		t.Fatal("the other message of the batch was not sent")
	}
	hist, err := s.Ledger.History(ctx, msgs[0].AccountID)
	if err != nil || len(hist) != 1 || hist[0].Status != store.StatusRejected || hist[0].Error == "" {
		t.Fatalf("history = %+v, %v; want one rejected entry with its reason", hist, err)
	}
	// A retry of the batch (another message failed) never resends it.
	snd.mu.Lock()
	delete(snd.fail, msgs[0].To)
	snd.mu.Unlock()
	if err := d.Deliver(ctx, "task-1", msgs); err != nil || snd.count(msgs[0].LedgerKey) != 0 {
		t.Fatalf("retry: %v, rejected message sent %d times; want never", err, snd.count(msgs[0].LedgerKey))
	}
}

func TestDeliverChecksSuppressionsAtSendTime(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	msgs := messages(2, notify.Email)
	// Unsubscribed after the message was planned, before it was sent.
	if err := s.Suppressions.Suppress(ctx, "C0@EXAMPLE.COM", "unsubscribed", time.Now()); err != nil {
		t.Fatal(err)
	}
	snd := &recordingSender{}
	if err := newDeliverer(s, snd).Deliver(ctx, "task-1", msgs); err != nil {
		t.Fatal(err)
	}
	if snd.count(msgs[0].LedgerKey) != 0 || snd.count(msgs[1].LedgerKey) != 1 {
		t.Fatalf("sent = %v; the suppressed address must get nothing", snd.sent)
	}
}

func TestDeliverChecksTheFrequencyCapAtSendTime(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	msgs := messages(2, notify.Email)
	msgs[1].To = msgs[0].To // a second message to the same person, from another pass
	msgs[1].LedgerKey = LedgerKey("r", msgs[1].AccountID, notify.Email, msgs[1].To, "p2")
	snd := &recordingSender{}
	d := newDeliverer(s, snd)
	d.Cap = FrequencyCap{Max: 1, Per: 24 * time.Hour}
	if err := d.Deliver(ctx, "task-1", msgs); err != nil {
		t.Fatal(err)
	}
	if snd.count(msgs[0].LedgerKey) != 1 || snd.count(msgs[1].LedgerKey) != 0 {
		t.Fatalf("sent = %v; want the first only, the cap is 1 a day", snd.sent)
	}
	// A retry of the first is not counted against itself.
	if err := d.Deliver(ctx, "task-1", msgs[:1]); err != nil {
		t.Fatal(err)
	}
}

func TestDeadLetterRecordsUnsentMessages(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	msgs := messages(3, notify.Email)
	snd := &recordingSender{fail: map[string]error{msgs[1].To: errors.New("503"), msgs[2].To: errors.New("503")}}
	d := newDeliverer(s, snd)
	if err := d.Deliver(ctx, "task-1", msgs); err == nil {
		t.Fatal("want a retryable error")
	}
	task, err := NewDeliverTask("test", notify.Email, DeliverPayload{Pass: "p1", Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	d.DeadLetter(ctx, task, errors.New("deliver email: 2 of 3 failed: 503"))
	for i, want := range []string{store.StatusSent, store.StatusDead, store.StatusDead} {
		hist, err := s.Ledger.History(ctx, msgs[i].AccountID)
		if err != nil || len(hist) != 1 || hist[0].Status != want {
			t.Fatalf("message %d: history %+v, %v; want %s", i, hist, err, want)
		}
	}
	// Nothing sends a dead letter again.
	snd.mu.Lock()
	snd.fail = nil
	snd.mu.Unlock()
	if err := d.Deliver(ctx, "task-2", msgs); err != nil || snd.count(msgs[1].LedgerKey) != 0 {
		t.Fatalf("a dead letter was sent again: %v", err)
	}
}

// cancellingSender sends, then the task's context is cancelled (a
// shutdown) before the ledger is written.
type cancellingSender struct {
	recordingSender
	cancel context.CancelFunc
}

func (c *cancellingSender) Send(ctx context.Context, m *notify.Message) error {
	err := c.recordingSender.Send(ctx, m)
	c.cancel()
	return err
}

func TestSendIsRecordedEvenWhenTheTaskIsCancelled(t *testing.T) {
	s := testStore(t)
	msgs := messages(1, notify.Email)
	ctx, cancel := context.WithCancel(context.Background())
	snd := &cancellingSender{cancel: cancel}
	d := newDeliverer(s, snd)
	d.Deliver(ctx, "task-1", msgs)
	// asynq re-queues the task under the same id: it must not send again.
	if err := d.Deliver(context.Background(), "task-1", msgs); err != nil {
		t.Fatal(err)
	}
	if n := snd.count(msgs[0].LedgerKey); n != 1 {
		t.Fatalf("sent %d times, want 1", n)
	}
}
