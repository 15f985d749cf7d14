package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/internal/hubspotfake"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/sendgridfake"
	"github.com/crmsync/crmsync/internal/slackfake"
)

// Credentials the fakes accept.
const (
	hubspotToken    = "pat-na1-chaos-0000"
	sendgridKey     = "SG.chaos-key"
	slackToken      = "xoxb-chaos-right"
	fallbackChannel = "#sales-alerts"
)

// rulesYAML is the rule file of every deployment: an email to the primary
// contact and a DM to the owner for a customer quiet for 90 days, and a
// DM to the owner for an A-class account quiet for 60 to 89 days (which
// depends on the ABC ranking of the whole portfolio, so a pass over a
// half-synced one shows). An account gets one DM at most, and there are no
// channel posts: Slack paces posts per channel.
const rulesYAML = `rules:
  - name: quiet-customer
    description: Customer without activity for 90 days
    when: account.lifecycle == "customer" && days_inactive >= 90
    severity: info
    cooldown: 30d
    actions:
      - email: {to: primary_contact, template: reengage-90d}
      - slack: {to: owner, text: "quiet {{ .Account.Name }}"}
  - name: key-account-drifting
    description: A-class account without activity for 60 days
    when: abc == "A" && days_inactive >= 60 && days_inactive < 90
    severity: critical
    cooldown: 30d
    actions:
      - slack: {to: owner, text: "drifting {{ .Account.Name }}"}
`

// setup tunes a deployment.
type setup struct {
	redisURL   string // "": the shared test Redis (redistest), with a fresh namespace
	slackToken string // the token the config gives Slack; default the one the fake accepts
	evaluate   string // evaluate.schedule; default "@every 10s"
	csv        bool   // a csv source (files written by the test in dir/data) instead of HubSpot
}

// deployment is one crmsync deployment: a config in its own folder and
// Redis namespace, its own vendor fakes (SendGrid and Slack behind a
// proxy the test can hook), and the crmsync processes started from it.
type deployment struct {
	t     *testing.T
	name  string
	dir   string
	p     portfolio
	setup setup

	redisURL, ns string
	rdb          *redis.Client
	insp         *asynq.Inspector

	hs               *hubspotfake.Server
	sg               *sendgridfake.Server
	sl               *slackfake.Server
	hsProxy, sgProxy *proxy
	slProxy          *proxy
	cfg              string
	procs            []*proc
	seq              int
	// settled is the last settle error, repeated after the processes'
	// logs when the test fails, where CI's tail shows it.
	settled error
}

// newDeployment seeds fresh fakes with p and writes the deployment's
// config and rule file.
func newDeployment(t *testing.T, name string, p portfolio, s setup) *deployment {
	t.Helper()
	d := &deployment{t: t, name: name, dir: t.TempDir(), p: p, setup: s}
	t.Cleanup(func() { // registered first: runs after every process's log tail
		if t.Failed() && d.settled != nil {
			t.Logf("%s did not settle: %v", name, d.settled)
		}
	})
	if s.redisURL == "" {
		d.redisURL, d.ns = redistest.URL(t), redistest.Namespace(t)
	} else {
		d.redisURL, d.ns = s.redisURL, "chaos-"+name
	}
	d.rdb = client(t, d.redisURL)
	d.insp = asynq.NewInspectorFromRedisClient(d.rdb)

	d.hs = hubspotfake.New(hubspotfake.Options{PrivateToken: hubspotToken, Burst: -1, SearchPerSecond: -1})
	t.Cleanup(d.hs.Close)
	seedHubSpot(d.hs, p)
	d.sg = sendgridfake.New(t, sendgridKey)
	d.sl = slackfake.New(t, slackToken)
	addSlackUsers(d.sl, p)
	d.sgProxy = newProxy(t, d.sg.URL())
	d.slProxy = newProxy(t, strings.TrimSuffix(d.sl.URL(), "/"))

	if err := os.WriteFile(filepath.Join(d.dir, "rules.yaml"), []byte(rulesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.csv {
		if err := os.Mkdir(filepath.Join(d.dir, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	d.writeConfig(cmpOr(s.slackToken, slackToken))
	return d
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// writeConfig (re)writes crmsync.yaml with the Slack token given.
func (d *deployment) writeConfig(slack string) {
	d.t.Helper()
	source := fmt.Sprintf(`  - name: hs
    type: hubspot
    base_url: %s
    auth: {token: %s}
    limits: {burst: 1000, search_per_second: 100}
    schedule: "@every 1h"
`, d.hs.URL(), hubspotToken)
	if d.setup.csv {
		source = "  - name: files\n    type: csv\n    path: data\n    schedule: \"@every 1h\"\n"
	}
	cfg := fmt.Sprintf(`redis: {url: %q, namespace: %s}
sources:
%snotify:
  email:
    api_key: %s
    base_url: %s
    from: {email: success@chaos-vendor.example, name: Chaos Customer Success}
    unsubscribe_group_id: 4242
  slack:
    token: %s
    base_url: %s/
    fallback_channel: %q
evaluate: {schedule: %q}
rule_files: [rules.yaml]
http: {listen: "127.0.0.1:0"}
`, d.redisURL, d.ns, source, sendgridKey, d.sgProxy.URL(), slack, d.slProxy.URL(), fallbackChannel, cmpOr(d.setup.evaluate, "@every 10s"))
	d.cfg = filepath.Join(d.dir, "crmsync.yaml")
	if err := os.WriteFile(d.cfg, []byte(cfg), 0o600); err != nil {
		d.t.Fatal(err)
	}
}

// run starts a `crmsync run` process.
func (d *deployment) run() *proc {
	d.t.Helper()
	d.seq++
	p := startProc(d.t, d.dir, fmt.Sprintf("run-%d", d.seq), "run", "-c", d.cfg, "--log-format", "json")
	d.procs = append(d.procs, p)
	return p
}

// start starts a one-shot crmsync command (sync, history, ...).
func (d *deployment) start(args ...string) *proc {
	d.t.Helper()
	d.seq++
	name := fmt.Sprintf("%s-%d", args[0], d.seq)
	p := startProc(d.t, d.dir, name, append(append([]string{}, args...), "-c", d.cfg, "--log-format", "json")...)
	d.procs = append(d.procs, p)
	return p
}

// command runs a one-shot crmsync command (sync, history, ...) to its end.
func (d *deployment) command(timeout time.Duration, args ...string) (code int, stdout, stderr string) {
	d.t.Helper()
	p := d.start(args...)
	name := p.name
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
		d.t.Errorf("%s: still running after %s; killed", name, timeout)
	}
	return p.exitCode(), p.stdout(), p.stderr()
}

// stopAll stops every process gracefully.
func (d *deployment) stopAll() {
	for _, p := range d.procs {
		p.stop()
	}
}

// logs returns the JSON log records with message msg of every process.
func (d *deployment) logs(msg string) []logLine {
	var out []logLine
	for _, p := range d.procs {
		out = append(out, p.logs(msg)...)
	}
	return out
}

// delivered returns what the fakes accepted: emails by identity (their
// ledger key without the pass), Slack posts by (channel, text).
func (d *deployment) delivered() (emails map[string]int, posts map[slackfake.Key]int) {
	emails = map[string]int{}
	for k, n := range d.sg.LedgerKeys() {
		emails[emailID(k)] += n
	}
	return emails, d.sl.Keys()
}

// emailID is a ledger key without its last part, the pass that opened its
// cooldown period: what identifies an email across runs.
func emailID(ledgerKey string) string {
	if i := strings.LastIndexByte(ledgerKey, '|'); i >= 0 {
		return ledgerKey[:i]
	}
	return ledgerKey
}

func (d *deployment) snapshot() snapshot {
	d.t.Helper()
	snap, err := snapshotStore(context.Background(), d.rdb, d.ns)
	if err != nil {
		d.t.Fatalf("reading the store of %s: %v", d.name, err)
	}
	return snap
}

func (d *deployment) reports() []passReport {
	d.t.Helper()
	rs, err := reports(context.Background(), d.rdb, d.ns)
	if err != nil {
		d.t.Errorf("reading the reports of %s: %v", d.name, err)
	}
	return rs
}

// accepted sums what the fakes accepted.
func (d *deployment) accepted() (emails, posts int) { return d.sg.Accepted(), d.sl.Accepted() }

// settle waits until the deployment delivered at least what ref expects
// with its queues idle, or until nothing happened for 25 s, over two ticks
// (what is missing will not come: a message whose outcome is unknown is
// never resent by itself), or timeout. Nothing happened: the fakes
// accepted nothing new, the delivery and sync queues stayed idle, and no
// evaluation shard stayed pending or running for more than 10 s (a tick's
// shards come and go in a second or so; an orphaned one would still
// deliver).
func (d *deployment) settle(ref *reference, timeout time.Duration) error {
	wantE, wantS := ref.totals()
	var quietSince time.Time
	var lastE, lastS int
	shardSeen := map[string]time.Time{}
	_, err := waitUntil(timeout, d.name+" to deliver and go idle", func() (bool, string) {
		busy, shards, state, err := queueState(d.insp, d.ns)
		if err != nil {
			quietSince = time.Time{}
			return false, "queues: " + err.Error()
		}
		e, s := d.accepted()
		desc := fmt.Sprintf("%d of %d emails, %d of %d Slack posts accepted; %s", e, wantE, s, wantS, state)
		if busy == 0 && len(shards) == 0 && e >= wantE && s >= wantS {
			if quietSince.IsZero() {
				quietSince = time.Now()
			}
			return time.Since(quietSince) > time.Second, desc
		}
		if busy > 0 || stuckShard(shardSeen, shards, 10*time.Second) || e != lastE || s != lastS {
			quietSince, lastE, lastS = time.Time{}, e, s
			return false, desc
		}
		if quietSince.IsZero() {
			quietSince = time.Now()
		}
		return time.Since(quietSince) > 25*time.Second, desc
	})
	d.settled = err
	return err
}

// stuckShard records when each of shards was first seen busy and reports
// whether one has been busy for longer than max.
func stuckShard(seen map[string]time.Time, shards []string, max time.Duration) bool {
	now, stuck := time.Now(), false
	for _, id := range shards {
		if _, ok := seen[id]; !ok {
			seen[id] = now
		}
		stuck = stuck || now.Sub(seen[id]) > max
	}
	return stuck
}

// historyEntry is what the tests read of `crmsync history --format json`.
type historyEntry struct {
	Key     string `json:"key"`
	Channel string `json:"channel"`
	Status  string `json:"status"`
	Error   string `json:"error"`
}

// history runs `crmsync history --account ID --format json`.
func (d *deployment) history(account string) ([]historyEntry, error) {
	code, stdout, stderr := d.command(time.Minute, "history", "--account", account, "--format", "json")
	if code != 0 {
		return nil, fmt.Errorf("crmsync history --account %s: exit %d: %s", account, code, stderr)
	}
	var out []historyEntry
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		return nil, fmt.Errorf("crmsync history --account %s: %w: %s", account, err, stdout)
	}
	return out, nil
}
