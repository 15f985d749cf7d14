package chaos

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestChaosSlackToken runs a deployment whose Slack token is wrong until
// the pass has been delivered by email and Slack has refused the token,
// then restarts it with the right token: every Slack message must arrive
// exactly once after the fix (none rejected for good on the way), every
// email exactly once. Recovery runs from the restart with the fixed
// token to the first Slack post accepted.
func TestChaosSlackToken(t *testing.T) {
	gate(t)
	t.Parallel()
	p := mainPortfolio()
	ref := referenceFor(t, p)
	d := newDeployment(t, "slack-token", p, setup{slackToken: "xoxb-chaos-wrong"})
	if code, stdout, stderr := d.command(5*time.Minute, "sync"); code != 0 {
		t.Fatalf("crmsync sync: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var (
		mu                 sync.Mutex
		refused            int
		fixed, firstPosted time.Time
	)
	d.slProxy.setHook(func(ex *exchange) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case bytes.Contains(ex.Body, []byte(`"invalid_auth"`)):
			refused++
		case ex.Path == "/chat.postMessage" && !fixed.IsZero() && firstPosted.IsZero():
			firstPosted = time.Now()
		}
	})
	run := d.run()
	wantE, _ := ref.totals()
	if _, err := waitUntil(3*time.Minute, "the emails to go and Slack to refuse the token", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		e, s := d.accepted()
		return e >= wantE && refused > 0, fmt.Sprintf("%d of %d emails, %d Slack posts accepted, %d Slack calls refused", e, wantE, s, refused)
	}); err != nil {
		t.Fatal(err)
	}
	// Let the refused messages reach whatever state crmsync keeps them in
	// (retry, paused channel, or rejected for good).
	time.Sleep(5 * time.Second)
	run.stop()
	d.writeConfig(slackToken)
	mu.Lock()
	fixed = time.Now()
	mu.Unlock()
	d.run()
	if err := d.settle(ref, 4*time.Minute); err != nil {
		t.Error(err)
	}
	f := d.compare(ref)
	mu.Lock()
	f.recovery = time.Since(fixed)
	if !firstPosted.IsZero() {
		f.recovery = firstPosted.Sub(fixed)
	}
	t.Logf("slack-token: %d Slack calls refused before the fix", refused)
	mu.Unlock()
	f.report(t, "slack-token")
}
