package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/outbox"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// idleApp is the demo's app on a fresh namespace of the real Redis, its
// workers not started: tasks stay where they are put.
func idleApp(t *testing.T) *App {
	t.Helper()
	cfg := demoOnRedis(t, "")
	return newApp(t, cfg, Options{})
}

// enqueueEmails enqueues a delivery task of n emails (at a later time
// when later) and returns it.
func enqueueEmails(t *testing.T, a *App, id string, n int, opts ...asynq.Option) workers.DeliverPayload {
	t.Helper()
	p := workers.DeliverPayload{Pass: "p1"}
	for i := range n {
		to := fmt.Sprintf("c%d.%s@example.com", i, id)
		p.Messages = append(p.Messages, notify.Message{
			LedgerKey: workers.LedgerKey("r", "sample:A1", notify.Email, to, "p1"), Channel: notify.Email,
			Rule: "r", AccountID: "sample:A1", To: to, Subject: "Hi", Text: "Hello " + id,
		})
	}
	task, err := workers.NewDeliverTask(a.ns(), notify.Email, p, append([]asynq.Option{a.ns().TaskID(id)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.EnqueueContext(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChannelHealth(t *testing.T) {
	ctx := context.Background()
	a := idleApp(t)
	got, err := a.channelHealth(ctx)
	if err != nil || len(got) != 2 || got[0] != (ChannelHealth{Channel: "email"}) || got[1] != (ChannelHealth{Channel: "slack"}) {
		t.Fatalf("channelHealth before anything = %+v, %v", got, err)
	}
	since := time.Now().Truncate(time.Millisecond).UTC()
	if _, err := a.Store.Ledger.PauseChannel(ctx, "email", "sendgrid mail send: 401 Unauthorized", since); err != nil {
		t.Fatal(err)
	}
	enqueueEmails(t, a, "t1", 2)
	enqueueEmails(t, a, "t2", 2)
	enqueueEmails(t, a, "t3", 1, asynq.ProcessIn(time.Hour))
	got, err = a.channelHealth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []ChannelHealth{
		{Channel: "email", Paused: true, Reason: "sendgrid mail send: 401 Unauthorized", Since: since, Queued: 3},
		{Channel: "slack"},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("channelHealth = %+v\nwant %+v", got, want)
	}
}

// TestResendFromItsTask: a worker crashed after claiming a message, and
// its task was archived (asynq's recoverer, its retries spent) without
// anything recording it: history shows it unknown once the claim's lease
// passed, and a resend finds its message in the archived task.
func TestResendFromItsTask(t *testing.T) {
	ctx := context.Background()
	a := idleApp(t)
	p := enqueueEmails(t, a, "crashed", 2)
	taskID := string(a.ns()) + ":crashed"
	if err := a.inspector.ArchiveTask(a.ns().Queue(workers.QueueEmail), taskID); err != nil {
		t.Fatal(err)
	}
	m := p.Messages[1]
	e := store.Entry{Key: m.LedgerKey, Rule: m.Rule, AccountID: m.AccountID, Recipient: m.To, Channel: "email"}
	if _, err := a.Store.Ledger.Claim(ctx, e, taskID, workers.ClaimLease, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	unknown, err := a.UnknownEntries(ctx, "A1")
	if err != nil || len(unknown) != 1 || unknown[0].Key != m.LedgerKey {
		t.Fatalf("UnknownEntries = %+v, %v; want the stale claim", unknown, err)
	}
	got, err := a.Resend(ctx, m.LedgerKey)
	if err != nil || got != workers.ResentWritten { // the outbox writes
		t.Fatalf("Resend = %q, %v", got, err)
	}
	sent, err := outbox.Read(a.Outbox.Path(notify.Email))
	if err != nil || len(sent) != 1 || sent[0].LedgerKey != m.LedgerKey || sent[0].Text != "Hello crashed" {
		t.Fatalf("outbox = %+v, %v; want the message from its task, once", sent, err)
	}
	// A message never claimed is not of unknown outcome: nothing to resend.
	if _, err := a.Resend(ctx, p.Messages[0].LedgerKey); err == nil {
		t.Fatal("resent a message that was never claimed")
	}
}
