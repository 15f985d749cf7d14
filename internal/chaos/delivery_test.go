package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Channels as the chaos tests name them.
const (
	chEmail = "email"
	chSlack = "slack"
)

// onAccepted calls fn with every email and Slack post the fakes accept,
// after the fake accepted it and before its answer is relayed to crmsync
// (from the proxies' goroutines; fn may block to hold the answer back).
func (d *deployment) onAccepted(fn func(channel string, ex *exchange)) {
	d.sgProxy.setHook(func(ex *exchange) {
		if ex.Path == "/v3/mail/send" && ex.Status == 202 {
			fn(chEmail, ex)
		}
	})
	d.slProxy.setHook(func(ex *exchange) {
		if ex.Path == "/chat.postMessage" && bytes.Contains(ex.Body, []byte(`"ok":true`)) {
			fn(chSlack, ex)
		}
	})
}

// message names the message an exchange carried: an email's ledger key
// and account, a Slack post's channel and text.
func message(channel string, ex *exchange) (id, account string) {
	if channel == chEmail {
		var m struct {
			CustomArgs map[string]string `json:"custom_args"`
		}
		json.Unmarshal(ex.ReqBody, &m)
		return m.CustomArgs["crmsync_ledger_key"], m.CustomArgs["crmsync_account"]
	}
	v, _ := url.ParseQuery(string(ex.ReqBody))
	if v.Get("channel") == "" { // a JSON body
		var m map[string]any
		json.Unmarshal(ex.ReqBody, &m)
		return fmt.Sprintf("%q to %v", m["text"], m["channel"]), ""
	}
	return fmt.Sprintf("%q to %s", v.Get("text"), v.Get("channel")), ""
}

// fault is what happened at a fault moment and when delivery came back.
type fault struct {
	mu        sync.Mutex
	at        time.Time // when the fault was injected
	resumed   time.Time // from when accepted messages count as recovery
	recovered time.Time // first message accepted after resumed
	last      time.Time // last message accepted after resumed
	id        string    // the message accepted when the fault was injected
	account   string
	hit       chan struct{} // closed at the fault
}

func newFault() *fault { return &fault{hit: make(chan struct{})} }

// watch injects inject once the fakes accepted the nth message of
// channel, holding that message's answer back until inject returns; then
// it records the first message accepted after resume was called.
func (f *fault) watch(d *deployment, channel string, n int, inject func()) {
	seen := 0
	d.onAccepted(func(ch string, ex *exchange) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case f.at.IsZero() && ch == channel:
			if seen++; seen == n {
				f.id, f.account = message(ch, ex)
				inject()
				f.at = time.Now()
				close(f.hit)
			}
		case !f.resumed.IsZero():
			f.last = time.Now()
			if f.recovered.IsZero() {
				f.recovered = f.last
			}
		}
	})
}

// resume marks the moment from which accepted messages show recovery.
func (f *fault) resume() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumed = time.Now()
}

// complete is the time from the fault to the last message accepted.
func (f *fault) complete() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last.IsZero() {
		return 0
	}
	return f.last.Sub(f.at)
}

// recovery is the time from the fault to the first message accepted
// after resume, or the time from the fault to now when none was.
func (f *fault) recovery() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recovered.IsZero() {
		return time.Since(f.at)
	}
	return f.recovered.Sub(f.at)
}

// TestChaosDelivery breaks delivery mid-way: crmsync killed once a fake
// accepted a message but before the answer reached it (its outcome is
// unknown to crmsync), and Redis stopped for 20 s at such a moment. Every
// message must then arrive exactly once; the email of unknown outcome is
// "unknown" in crmsync history and is not sent again.
func TestChaosDelivery(t *testing.T) {
	gate(t)
	t.Parallel()
	t.Run("kill-deliver-email", func(t *testing.T) {
		t.Parallel()
		testKillDelivery(t, chEmail)
	})
	if full() {
		t.Run("kill-deliver-slack", func(t *testing.T) {
			t.Parallel()
			testKillDelivery(t, chSlack)
		})
	}
	t.Run("redis-stop-delivery", func(t *testing.T) {
		t.Parallel()
		testRedisStop(t)
	})
}

// testKillDelivery kills `crmsync run` once the fake accepted a third of
// the channel's messages, before the answer reaches it, and starts it
// again.
func testKillDelivery(t *testing.T, channel string) {
	p := mainPortfolio()
	ref := referenceFor(t, p)
	d := newDeployment(t, "kill-deliver-"+channel, p, setup{})
	if code, stdout, stderr := d.command(5*time.Minute, "sync"); code != 0 {
		t.Fatalf("crmsync sync: exit %d\n%s\n%s", code, stdout, stderr)
	}
	emails, posts := ref.totals()
	n := map[string]int{chEmail: emails, chSlack: posts}[channel]/3 + 1
	run := d.run()
	f := newFault()
	f.watch(d, channel, n, run.kill)
	select {
	case <-f.hit:
	case <-time.After(3 * time.Minute):
		e, s := d.accepted()
		t.Fatalf("the fakes never accepted %d %s messages (%d emails, %d Slack posts so far)", n, channel, e, s)
	}
	t.Logf("killed crmsync run after the %s fake accepted its message #%d, %s", channel, n, f.id)
	d.run()
	f.resume()
	if err := d.settle(ref, 5*time.Minute); err != nil {
		t.Error(err)
	}
	figs := d.compare(ref)
	figs.recovery = f.recovery()
	t.Logf("kill-deliver-%s: first message %.1fs after the kill, the last %.1fs after it", channel, figs.recovery.Seconds(), f.complete().Seconds())
	if channel == chEmail {
		checkUnknown(t, d, f.id, f.account)
	}
	figs.report(t, "kill-deliver-"+channel)
}

// checkUnknown checks that crmsync history shows the email under key,
// whose sending crmsync never heard back about, as unknown.
func checkUnknown(t *testing.T, d *deployment, key, account string) {
	t.Helper()
	entries, err := d.history(account)
	if err != nil {
		t.Error(err)
		return
	}
	for _, e := range entries {
		if e.Key == key {
			if e.Status != "unknown" {
				t.Errorf("history --account %s: the email whose outcome crmsync never learnt is %q (error %q), want unknown", account, e.Status, e.Error)
			}
			return
		}
	}
	t.Errorf("history --account %s: no entry %s among %d", account, key, len(entries))
}

// testRedisStop stops a private Redis (AOF, fsync always) for 20 s once
// the SendGrid fake accepted a third of the emails, before the answer
// reaches crmsync, then starts it again on its files.
func testRedisStop(t *testing.T) {
	const outage = 20 * time.Second
	p := mainPortfolio()
	ref := referenceFor(t, p)
	r := startRedis(t)
	d := newDeployment(t, "redis-stop", p, setup{redisURL: r.URL()})
	if code, stdout, stderr := d.command(5*time.Minute, "sync"); code != 0 {
		t.Fatalf("crmsync sync: exit %d\n%s\n%s", code, stdout, stderr)
	}
	emails, _ := ref.totals()
	run := d.run()
	f := newFault()
	f.watch(d, chEmail, emails/3+1, r.stop)
	select {
	case <-f.hit:
	case <-time.After(3 * time.Minute):
		e, s := d.accepted()
		t.Fatalf("the fakes never accepted %d emails (%d emails, %d Slack posts so far)", emails/3+1, e, s)
	}
	t.Logf("stopped Redis after the SendGrid fake accepted %s", f.id)
	time.Sleep(outage) // the outage lasts 20 s by definition
	if err := r.start(); err != nil {
		t.Fatalf("restarting Redis: %v", err)
	}
	f.resume()
	if !run.running() {
		t.Errorf("crmsync run exited during the Redis outage (status %d); starting it again", run.exitCode())
		d.run()
	}
	if err := d.settle(ref, 5*time.Minute); err != nil {
		t.Error(err)
	}
	figs := d.compare(ref)
	figs.recovery = f.recovery()
	t.Logf("redis-stop-delivery: first message %.1fs after Redis stopped (%s outage), the last %.1fs after it", figs.recovery.Seconds(), outage, f.complete().Seconds())
	figs.report(t, "redis-stop-delivery")
}
