package workers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/sendgridfake"
	"github.com/crmsync/crmsync/internal/slackfake"
	"github.com/crmsync/crmsync/internal/waitfor"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/sendgrid"
	"github.com/crmsync/crmsync/notify/slack"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// Credentials of the fakes, and the shape of the Slack workspace: nudges
// go to channels C0CH000… and to reps DM'd through users.lookupByEmail.
const (
	e2eAPIKey       = "SG.e2e-key.0123456789abcdefghijklmnopqrstuvwxyz"
	e2eSlackToken   = "xoxb-e2e-0000-s3cr3t"
	e2eSlackChannel = 200
	e2eSlackReps    = 50
	e2eRule         = "inactive-90-days"
)

// rig is a real-Redis store with the SendGrid and Slack fakes that real
// senders deliver to.
type rig struct {
	rdb   *redis.Client
	ns    workers.Namespace
	store *store.Store
	email *sendgridfake.Server
	slack *slackfake.Server
	// idle is how many idle connections to each fake the senders keep;
	// 0: Go's default of 2, with which most sends of many workers dial a
	// new connection.
	idle int
}

// client returns c, keeping r.idle idle connections to its server.
func (r *rig) client(c *http.Client) *http.Client {
	if r.idle == 0 {
		return c
	}
	t := c.Transport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = r.idle
	return &http.Client{Transport: t, Timeout: c.Timeout}
}

// newRig takes a fresh namespace of the real Redis and starts both
// fakes; it skips when there is no Redis.
func newRig(tb testing.TB) *rig {
	tb.Helper()
	return newRigOn(tb, redistest.Client(tb), redistest.Namespace(tb))
}

// newRigOn is newRig on the Redis of rdb, in namespace ns.
func newRigOn(tb testing.TB, rdb *redis.Client, ns string) *rig {
	tb.Helper()
	r := &rig{
		rdb:   rdb,
		ns:    workers.Namespace(ns),
		store: store.New(rdb, ns),
		email: sendgridfake.New(tb, e2eAPIKey),
		slack: slackfake.New(tb, e2eSlackToken),
	}
	for i := range e2eSlackChannel {
		r.slack.AddChannels(channelID(i))
	}
	for i := range e2eSlackReps {
		r.slack.AddUser(repEmail(i), fmt.Sprintf("U1R%02d", i), false)
	}
	return r
}

func channelID(i int) string { return fmt.Sprintf("C0CH%03d", i) }

func repEmail(i int) string { return fmt.Sprintf("rep%02d@example.com", i) }

// deliverer returns a Deliverer of channel ch as app wires it, sending
// through a real sender pointed at the rig's fake. The Slack sender paces
// posts to a channel 1µs apart instead of Slack's 1s, or the channels of
// the test would take minutes.
func (r *rig) deliverer(tb testing.TB, ch notify.Channel, m *workers.Metrics) *workers.Deliverer {
	tb.Helper()
	var snd notify.Sender
	var err error
	switch ch {
	case notify.Email:
		snd, err = sendgrid.New(sendgrid.Config{
			APIKey: e2eAPIKey, BaseURL: r.email.URL(), FromEmail: "success@example.com", FromName: "Example Success",
			UnsubscribeGroupID: 1234,
		}, r.client(r.email.Client()))
	case notify.Slack:
		snd, err = slack.NewSender(slack.SenderConfig{
			Token: e2eSlackToken, BaseURL: r.slack.URL(), FallbackChannel: channelID(0), PerChannelEvery: time.Microsecond,
		}, r.client(r.slack.Client()))
	}
	if err != nil {
		tb.Fatal(err)
	}
	return &workers.Deliverer{
		Channel: ch, Sender: snd, Ledger: r.store.Ledger, Suppressions: r.store.Suppressions, Metrics: m, Logger: discard(),
		Pauses: r.store.Ledger, Queue: asynq.NewInspectorFromRedisClient(r.rdb), NS: r.ns,
		Cap:        workers.FrequencyCap{Max: 2, Per: 30 * 24 * time.Hour}, // crmsync's default
		PauseRetry: 200 * time.Millisecond, ProbeEvery: 300 * time.Millisecond,
	}
}

// handlers returns the delivery handlers of one crmsync process.
func (r *rig) handlers(tb testing.TB) workers.Handlers {
	m := workers.NewMetrics(prometheus.NewRegistry())
	return workers.Handlers{Email: r.deliverer(tb, notify.Email, m), Slack: r.deliverer(tb, notify.Slack, m)}
}

// startServer starts an asynq server of concurrency workers delivering
// through its own handlers, configured as crmsync runs it but polling
// faster; it is shut down when the test ends.
func (r *rig) startServer(tb testing.TB, concurrency int) *asynq.Server {
	tb.Helper()
	return r.startServerWith(tb, concurrency, r.handlers(tb))
}

// startServerWith is startServer delivering through h.
func (r *rig) startServerWith(tb testing.TB, concurrency int, h workers.Handlers) *asynq.Server {
	tb.Helper()
	cfg := workers.ServerConfig(r.ns, concurrency, discard(), h.DeadLetter)
	cfg.TaskCheckInterval = 10 * time.Millisecond
	cfg.DelayedTaskCheckInterval = 100 * time.Millisecond
	srv := asynq.NewServerFromRedisClient(r.rdb, cfg)
	mux := asynq.NewServeMux()
	mux.Handle(workers.TypeDeliverEmail, h.Email)
	mux.Handle(workers.TypeDeliverSlack, h.Slack)
	if err := srv.Start(mux); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Shutdown)
	return srv
}

// flagged returns the messages of a pass over n flagged accounts: emails
// to n/2 distinct contacts, and nudges about the other n/2, four in five
// to a channel and one in five to a rep's DM. Every text and every email
// address is unique to the pass, so that passes never meet the frequency
// cap.
func flagged(pass string, n int) (emails, nudges []notify.Message) {
	for i := range n / 2 {
		acct, to := fmt.Sprintf("crm:%d", i), fmt.Sprintf("contact%05d.%s@example.com", i, pass)
		emails = append(emails, notify.Message{
			LedgerKey: workers.LedgerKey(e2eRule, acct, notify.Email, to, pass),
			Channel:   notify.Email, Rule: e2eRule, AccountID: acct, Pass: pass,
			To: to, ToName: "Contact " + acct, ReplyTo: "sam@example.com",
			Subject: "Shall we catch up?", Text: "Hello,\nit has been a while.", HTML: "<p>Hello,</p><p>it has been a while.</p>",
		})
	}
	for i := n / 2; i < n; i++ {
		acct := fmt.Sprintf("crm:%d", i)
		to := channelID(i % e2eSlackChannel)
		if i%5 == 0 {
			to = repEmail(i % e2eSlackReps)
		}
		text := fmt.Sprintf("Account %s went quiet (pass %s)", acct, pass)
		blocks, _ := json.Marshal([]any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}})
		nudges = append(nudges, notify.Message{
			LedgerKey: workers.LedgerKey(e2eRule, acct, notify.Slack, to, pass),
			Channel:   notify.Slack, Rule: e2eRule, AccountID: acct, Pass: pass, To: to, Text: text, Blocks: blocks,
		})
	}
	return emails, nudges
}

// slackKey is where the fake Slack sees m: the rep's DM or the channel.
func slackKey(m notify.Message) slackfake.Key {
	var rep int
	if _, err := fmt.Sscanf(m.To, "rep%02d@example.com", &rep); err == nil {
		return slackfake.Key{Channel: slackfake.DM(fmt.Sprintf("U1R%02d", rep)), Text: m.Text}
	}
	return slackfake.Key{Channel: m.To, Text: m.Text}
}

// enqueue enqueues msgs of channel ch in batches of workers.BatchSize,
// copies times each under a different task id, as retried evaluations
// would.
func (r *rig) enqueue(tb testing.TB, ctx context.Context, ch notify.Channel, pass string, msgs []notify.Message, copies int) int {
	tb.Helper()
	client := asynq.NewClientFromRedisClient(r.rdb)
	n := 0
	for start := 0; start < len(msgs); start += workers.BatchSize {
		p := workers.DeliverPayload{Pass: pass, Messages: msgs[start:min(start+workers.BatchSize, len(msgs))]}
		for c := range copies {
			id := fmt.Sprintf("deliver:%s:%s:%d:copy-%d", pass, ch, start, c)
			task, err := workers.NewDeliverTask(r.ns, ch, p, r.ns.TaskID(id))
			if err != nil {
				tb.Fatal(err)
			}
			if _, err := client.EnqueueContext(ctx, task); err != nil {
				tb.Fatal(err)
			}
			n++
		}
	}
	return n
}

// waitDrained waits until the delivery queues hold no pending, active,
// retrying or scheduled task.
func (r *rig) waitDrained(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	insp := asynq.NewInspectorFromRedisClient(r.rdb)
	waitfor.Until(tb, timeout, "the delivery queues to drain", func() (bool, string) {
		left, state := 0, ""
		for _, q := range []string{r.ns.Queue(workers.QueueEmail), r.ns.Queue(workers.QueueSlack)} {
			info, err := insp.GetQueueInfo(q)
			if err != nil {
				return false, err.Error()
			}
			left += info.Pending + info.Active + info.Retry + info.Scheduled
			state += fmt.Sprintf("%s: %+v; ", q, info)
		}
		return left == 0, fmt.Sprintf("%d tasks left (%s)", left, state)
	})
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestDeliveryEndToEndExactlyOnce delivers a pass over 10,000 flagged
// accounts (5,000 emails, 5,000 Slack nudges) through the real SendGrid and
// Slack senders to their fakes, with three asynq servers on a real Redis.
// Every batch is enqueued twice under different task ids, as a retried
// evaluation would, and one server is shut down once deliveries are under
// way. Each message must reach its provider exactly once.
func TestDeliveryEndToEndExactlyOnce(t *testing.T) {
	const accounts, pass = 10_000, "e2e-pass"
	r := newRig(t)
	ctx := t.Context()
	emails, nudges := flagged(pass, accounts)
	r.enqueue(t, ctx, notify.Email, pass, emails, 2)
	r.enqueue(t, ctx, notify.Slack, pass, nudges, 2)

	start := time.Now()
	var servers []*asynq.Server
	for range 3 {
		servers = append(servers, r.startServer(t, 8))
	}
	for r.email.Accepted()+r.slack.Accepted() < accounts/10 {
		time.Sleep(time.Millisecond)
	}
	servers[0].Shutdown() // one worker goes away mid-run
	atShutdown := r.email.Accepted() + r.slack.Accepted()
	r.waitDrained(t, 90*time.Second) // retries of the copies back off
	t.Logf("%d messages delivered in %s; server 0 shut down after %d", accounts, time.Since(start).Round(time.Millisecond), atShutdown)
	if atShutdown >= accounts {
		t.Errorf("server 0 was shut down after every message was delivered (%d): not mid-run", atShutdown)
	}

	checkOnce(t, "sendgrid", r.email.LedgerKeys(), func(yield func(string) bool) {
		for _, m := range emails {
			if !yield(m.LedgerKey) {
				return
			}
		}
	})
	checkOnce(t, "slack", r.slack.Keys(), func(yield func(slackfake.Key) bool) {
		for _, m := range nudges {
			if !yield(slackKey(m)) {
				return
			}
		}
	})
}

// checkOnce fails unless got counts each of want exactly once and nothing
// else.
func checkOnce[K comparable](t *testing.T, provider string, got map[K]int, want func(yield func(K) bool)) {
	t.Helper()
	left := maps.Clone(got)
	missing, twice := 0, 0
	for k := range want {
		switch n := left[k]; {
		case n == 0:
			if missing++; missing <= 3 {
				t.Errorf("%s: %v never received", provider, k)
			}
		case n > 1:
			if twice++; twice <= 3 {
				t.Errorf("%s: %v received %d times, want once", provider, k, n)
			}
		}
		delete(left, k)
	}
	if missing+twice > 0 {
		t.Errorf("%s: %d messages missing, %d received more than once", provider, missing, twice)
	}
	for k, n := range left {
		t.Errorf("%s: unexpected message %v received %d times", provider, k, n)
	}
}
