package workers_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/slackfake"
	"github.com/crmsync/crmsync/internal/waitfor"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/slack"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// statuses counts the ledger statuses of msgs.
func (r *rig) statuses(tb testing.TB, msgs []notify.Message) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, m := range msgs {
		e, err := r.store.Ledger.Entry(context.Background(), m.LedgerKey)
		switch {
		case err == nil:
			out[e.Status]++
		case errors.Is(err, store.ErrNotFound):
			out["none"]++
		default:
			tb.Fatal(err)
		}
	}
	return out
}

// wantAll fails unless every one of msgs has status st.
func (r *rig) wantAll(tb testing.TB, what string, msgs []notify.Message, st string) {
	tb.Helper()
	if got := r.statuses(tb, msgs); got[st] != len(msgs) {
		tb.Errorf("%s: ledger statuses %v, want all %d %s", what, got, len(msgs), st)
	}
}

func emailKeys(msgs []notify.Message) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for _, m := range msgs {
			if !yield(m.LedgerKey) {
				return
			}
		}
	}
}

func slackKeys(msgs []notify.Message) func(yield func(slackfake.Key) bool) {
	return func(yield func(slackfake.Key) bool) {
		for _, m := range msgs {
			if !yield(slackKey(m)) {
				return
			}
		}
	}
}

// paused reports whether the channel is paused.
func (r *rig) paused(tb testing.TB, ch notify.Channel) bool {
	tb.Helper()
	_, ok, err := r.store.Ledger.ChannelPause(context.Background(), string(ch))
	if err != nil {
		tb.Fatal(err)
	}
	return ok
}

// TestDeliveryWrongSlackTokenThenFixed: Slack refuses the token while a
// pass is delivered. The Slack channel pauses (no nudge is rejected, none
// posted), emails go on; once the token works again, every nudge is
// posted exactly once.
func TestDeliveryWrongSlackTokenThenFixed(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	emails, nudges := flagged("wrong-token", 1000)
	r.slack.SetToken("xoxb-the-right-one-was-rotated")
	r.enqueue(t, ctx, notify.Email, "wrong-token", emails, 1)
	r.enqueue(t, ctx, notify.Slack, "wrong-token", nudges, 1)
	for range 2 {
		r.startServer(t, 8)
	}
	waitfor.Until(t, 30*time.Second, "the emails to go and Slack to pause", func() (bool, string) {
		return r.email.Accepted() == len(emails) && r.paused(t, notify.Slack),
			fmt.Sprintf("%d emails, slack paused %v", r.email.Accepted(), r.paused(t, notify.Slack))
	})
	time.Sleep(time.Second) // tasks come back, find the channel paused, wait again
	if n := r.slack.Accepted(); n != 0 {
		t.Fatalf("%d nudges posted with a refused token", n)
	}
	if got := r.statuses(t, nudges); got[store.StatusRejected] != 0 || got[store.StatusSent] != 0 {
		t.Fatalf("nudges while paused: %v; want none rejected, none sent", got)
	}
	probes := r.slack.Calls("/auth.test")
	if probes == 0 {
		t.Error("the paused channel's token was never probed")
	}

	r.slack.SetToken(e2eSlackToken)
	r.waitDrained(t, time.Minute)
	checkOnce(t, "slack", r.slack.Keys(), slackKeys(nudges))
	checkOnce(t, "sendgrid", r.email.LedgerKeys(), emailKeys(emails))
	r.wantAll(t, "nudges", nudges, store.StatusSent)
	if r.paused(t, notify.Slack) {
		t.Error("Slack still paused after the fix")
	}
}

// TestDeliverySendGridKeyRevokedThenRestored: SendGrid answers 401 while
// a pass is delivered: email pauses, nothing is rejected; once the key
// works again every email goes out exactly once.
func TestDeliverySendGridKeyRevokedThenRestored(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	emails, nudges := flagged("revoked-key", 1000)
	r.email.SetAPIKey("SG.rotated-key")
	r.enqueue(t, ctx, notify.Email, "revoked-key", emails, 1)
	r.enqueue(t, ctx, notify.Slack, "revoked-key", nudges, 1)
	for range 2 {
		r.startServer(t, 8)
	}
	waitfor.Until(t, 30*time.Second, "the nudges to go and email to pause", func() (bool, string) {
		return r.slack.Accepted() == len(nudges) && r.paused(t, notify.Email),
			fmt.Sprintf("%d nudges, email paused %v", r.slack.Accepted(), r.paused(t, notify.Email))
	})
	time.Sleep(time.Second)
	if got := r.statuses(t, emails); got[store.StatusRejected] != 0 || r.email.Accepted() != 0 {
		t.Fatalf("emails while paused: %v, %d accepted; want none rejected or sent", got, r.email.Accepted())
	}
	if r.email.Probes() == 0 {
		t.Error("the paused channel's key was never probed")
	}

	r.email.SetAPIKey(e2eAPIKey)
	r.waitDrained(t, time.Minute)
	checkOnce(t, "sendgrid", r.email.LedgerKeys(), emailKeys(emails))
	checkOnce(t, "slack", r.slack.Keys(), slackKeys(nudges))
	r.wantAll(t, "emails", emails, store.StatusSent)
}

// TestDeliveryRecipientErrorsRejectOneMessage: an invalid address and a
// rep without a Slack account (no fallback channel) reject their own
// message; the channel goes on and nothing pauses.
func TestDeliveryRecipientErrorsRejectOneMessage(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	emails, nudges := flagged("recipients", 200)
	emails[3].To = "not an address"
	nudges[0].To = "nobody-in-slack@example.com" // i = 100: a DM
	m := workers.NewMetrics(nil)
	h := workers.Handlers{Email: r.deliverer(t, notify.Email, m), Slack: r.deliverer(t, notify.Slack, m)}
	noFallback := slackSender(t, r, "")
	h.Slack.Sender = noFallback
	r.enqueue(t, ctx, notify.Email, "recipients", emails, 1)
	r.enqueue(t, ctx, notify.Slack, "recipients", nudges, 1)
	r.startServerWith(t, 8, h)
	r.waitDrained(t, time.Minute)
	checkOnce(t, "sendgrid", r.email.LedgerKeys(), emailKeys(append(append([]notify.Message{}, emails[:3]...), emails[4:]...)))
	checkOnce(t, "slack", r.slack.Keys(), slackKeys(nudges[1:]))
	r.wantAll(t, "bad address", emails[3:4], store.StatusRejected)
	r.wantAll(t, "no Slack account", nudges[:1], store.StatusRejected)
	if r.paused(t, notify.Email) || r.paused(t, notify.Slack) {
		t.Error("one recipient's error paused a channel")
	}
}

// slackSender is a Slack sender to the rig's fake with the given fallback
// channel ("" for none).
func slackSender(tb testing.TB, r *rig, fallback string) notify.Sender {
	tb.Helper()
	s, err := slack.NewSender(slack.SenderConfig{
		Token: e2eSlackToken, BaseURL: r.slack.URL(), FallbackChannel: fallback, PerChannelEvery: time.Microsecond,
	}, r.slack.Client())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// crashingSender is a process that dies between a send and its record, for
// the messages it is told: the send goes through, then the worker panics
// (asynq recovers it as a failure, and the task's retry runs under the
// same id, as after kill -9 and the recoverer).
type crashingSender struct {
	notify.Sender
	mu    sync.Mutex
	crash map[string]bool
}

func (c *crashingSender) Send(ctx context.Context, m *notify.Message) error {
	if err := c.Sender.Send(ctx, m); err != nil {
		return err
	}
	c.mu.Lock()
	crash := c.crash[m.LedgerKey]
	delete(c.crash, m.LedgerKey)
	c.mu.Unlock()
	if crash {
		panic("killed between send and record")
	}
	return nil
}

// finding is a crashingSender of a channel that can look for its posts.
type finding struct {
	*crashingSender
	f finder
}

func (f finding) Find(ctx context.Context, m *notify.Message, since time.Time) (bool, error) {
	return f.f.Find(ctx, m, since)
}

// TestDeliveryCrashBetweenSendAndRecord: workers die right after some
// sends, before recording them. Those emails are never sent again (they
// are unknown, for an operator); those nudges are found in Slack by their
// metadata and recorded sent, not posted twice; every other message goes
// once.
func TestDeliveryCrashBetweenSendAndRecord(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	emails, nudges := flagged("crash", 600)
	crashE, crashS := map[string]bool{}, map[string]bool{} // the plan
	for i := 0; i < len(emails); i += 37 {
		crashE[emails[i].LedgerKey] = true
	}
	for i := 0; i < len(nudges); i += 29 {
		crashS[nudges[i].LedgerKey] = true
	}
	m := workers.NewMetrics(nil)
	h := workers.Handlers{Email: r.deliverer(t, notify.Email, m), Slack: r.deliverer(t, notify.Slack, m)}
	h.Email.Sender = &crashingSender{Sender: h.Email.Sender, crash: maps.Clone(crashE)}
	h.Slack.Sender = finding{&crashingSender{Sender: h.Slack.Sender, crash: maps.Clone(crashS)}, h.Slack.Sender.(finder)}
	h.Slack.InFlight = 500 * time.Millisecond // how long a post of the crashed attempt could take
	r.enqueue(t, ctx, notify.Email, "crash", emails, 1)
	r.enqueue(t, ctx, notify.Slack, "crash", nudges, 1)
	r.startServerWith(t, 8, h)
	waitfor.Until(t, 30*time.Second, "every message to go once", func() (bool, string) {
		return r.email.Accepted() == len(emails) && r.slack.Accepted() == len(nudges),
			fmt.Sprintf("%d emails, %d nudges", r.email.Accepted(), r.slack.Accepted())
	})
	r.waitDrained(t, time.Minute)

	checkOnce(t, "sendgrid", r.email.LedgerKeys(), emailKeys(emails))
	checkOnce(t, "slack", r.slack.Keys(), slackKeys(nudges))
	crashedE, okE := split(emails, crashE)
	crashedS, okS := split(nudges, crashS)
	r.wantAll(t, "emails that crashed", crashedE, store.StatusUnknown)
	r.wantAll(t, "nudges that crashed (found in Slack)", crashedS, store.StatusSent)
	r.wantAll(t, "other emails", okE, store.StatusSent)
	r.wantAll(t, "other nudges", okS, store.StatusSent)
	for _, m := range crashedE {
		if _, err := r.store.Ledger.Message(ctx, m.LedgerKey); err != nil {
			t.Errorf("%s: its message is not kept for a resend: %v", m.LedgerKey, err)
		}
	}
}

// finder is a sender that can look for its posts.
type finder interface {
	Find(ctx context.Context, m *notify.Message, since time.Time) (bool, error)
}

// split splits msgs into those in keys and the others.
func split(msgs []notify.Message, keys map[string]bool) (in, out []notify.Message) {
	for _, m := range msgs {
		if keys[m.LedgerKey] {
			in = append(in, m)
		} else {
			out = append(out, m)
		}
	}
	return in, out
}

// TestDeliveryThroughARedisOutage stops Redis (SIGSTOP) for 12 seconds
// while a pass is delivered, longer than a ledger write's timeout and
// shorter than asynq's lease: no record may be lost and nothing sent twice.
func TestDeliveryThroughARedisOutage(t *testing.T) {
	addr, proc := startRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	r := newRigOn(t, rdb, "outage")
	ctx := t.Context()
	emails, nudges := flagged("outage", 2000)
	r.enqueue(t, ctx, notify.Email, "outage", emails, 1)
	r.enqueue(t, ctx, notify.Slack, "outage", nudges, 1)
	r.email.SetDelay(2 * time.Millisecond) // a pass that takes a while
	r.slack.SetDelay(2 * time.Millisecond)
	for range 2 {
		r.startServer(t, 8)
	}
	waitfor.Until(t, 30*time.Second, "deliveries to start", func() (bool, string) {
		n := r.email.Accepted() + r.slack.Accepted()
		return n > 200, fmt.Sprint(n, " delivered")
	})
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	atStop := r.email.Accepted() + r.slack.Accepted()
	time.Sleep(12 * time.Second)
	if err := proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("Redis stopped for 12s after %d messages", atStop)
	r.email.SetDelay(0)
	r.slack.SetDelay(0)
	r.waitDrained(t, 2*time.Minute)
	checkOnce(t, "sendgrid", r.email.LedgerKeys(), emailKeys(emails))
	checkOnce(t, "slack", r.slack.Keys(), slackKeys(nudges))
	r.wantAll(t, "emails", emails, store.StatusSent)
	r.wantAll(t, "nudges", nudges, store.StatusSent)
}

// startRedis starts a redis-server of its own (which the test may stop
// and resume) on a free port; it skips without redis-server, except under
// CI=true.
func startRedis(t *testing.T) (string, *os.Process) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not on PATH")
		}
		t.Skip("redis-server is not on PATH")
	}
	redistest.URL(t) // skips like the other integration tests without a Redis
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	waitfor.Until(t, 10*time.Second, "redis-server to answer", func() (bool, string) {
		err := c.Ping(context.Background()).Err()
		return err == nil, fmt.Sprint(err)
	})
	return addr, cmd.Process
}
