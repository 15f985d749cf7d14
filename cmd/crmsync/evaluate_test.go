package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/outbox"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// evaluateSetup writes the demo's config on a fresh namespace of the real
// Redis (see demoOnRedis) and returns its path and the store.
func evaluateSetup(t *testing.T) (string, *store.Store) {
	t.Helper()
	path, cfg := demoOnRedis(t)
	return path, store.New(redistest.Client(t), cfg.Redis.Namespace)
}

// outboxSlack reads the Slack messages in the outbox of config.
func outboxSlack(t *testing.T, config string) []notify.Message {
	t.Helper()
	msgs, err := outbox.Read(filepath.Join(filepath.Dir(config), "outbox", "slack.jsonl"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return msgs
}

var deferredLine = regexp.MustCompile(`deferred (\d+) emails to later passes`)

// TestEvaluateEndToEnd runs `crmsync evaluate` on a real Redis twice, as
// cron would: the first pass writes what the per-pass cap allows and
// defers the rest; the second, right after, writes exactly what the first
// deferred and nothing for the accounts the first one reached (cooldown).
// A dry run then writes nothing.
func TestEvaluateEndToEnd(t *testing.T) {
	path, st := evaluateSetup(t)
	ctx := context.Background()
	asOf := "2026-11-20T09:00:00Z"

	code, stdout, stderr := runCLI(t, "evaluate", "-c", path, "--now", asOf)
	if code != exitOK {
		t.Fatalf("first evaluate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Log("\n" + stdout)
	for _, want := range []string{"sync sample: ", "Pass manual@", "emails written", "Slack written", "inactive-90-days", "high-value-churning",
		"held back", "Slack messages per rep", "Outbox mode: messages were written to"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	m := deferredLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("the sample flags more emails than limits.per_pass.emails; the report names no deferral:\n%s", stdout)
	}
	deferred, _ := strconv.Atoi(m[1])
	first := outboxEmails(t, path)
	if len(first) == 0 || len(first) > config.DefaultPerPassEmails {
		t.Fatalf("first pass wrote %d emails, want some and at most %d", len(first), config.DefaultPerPassEmails)
	}
	for _, msg := range append(first, outboxSlack(t, path)...) {
		if !strings.HasPrefix(msg.Pass, "manual@") {
			t.Fatalf("message of pass %q, want a manual pass", msg.Pass)
		}
		if e, err := st.Ledger.Entry(ctx, msg.LedgerKey); err != nil || e.Status != store.StatusWritten {
			t.Fatalf("ledger entry of %s: %q, %v; want written", msg.LedgerKey, e.Status, err)
		}
	}

	code, stdout, stderr = runCLI(t, "evaluate", "-c", path, "--now", asOf)
	if code != exitOK {
		t.Fatalf("second evaluate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	all := outboxEmails(t, path)
	second := all[len(first):]
	if len(second) != deferred {
		t.Errorf("second pass wrote %d emails, want the %d the first deferred:\n%s", len(second), deferred, stdout)
	}
	reached := map[string]bool{}
	for _, msg := range first {
		reached[msg.Rule+"|"+msg.AccountID] = true
	}
	for _, msg := range second {
		if reached[msg.Rule+"|"+msg.AccountID] {
			t.Errorf("%s emailed again for %s: its cooldown holds", msg.AccountID, msg.Rule)
		}
		if msg.Pass == first[0].Pass {
			t.Errorf("second pass's email carries the first pass %s", msg.Pass)
		}
	}

	slackBefore := len(outboxSlack(t, path))
	code, stdout, stderr = runCLI(t, "evaluate", "-c", path, "--now", asOf, "--dry-run", "--no-sync")
	if code != exitOK || !strings.Contains(stdout, "Dry run: nothing is sent") || !strings.Contains(stdout, "emails to send") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n, s := len(outboxEmails(t, path)), len(outboxSlack(t, path)); n != len(all) || s != slackBefore {
		t.Fatalf("dry run wrote to the outbox: %d emails (was %d), %d Slack messages (was %d)", n, len(all), s, slackBefore)
	}
}

// TestEvaluateDryRunSendsNothing: a dry run on a fresh store syncs, shows
// what would be sent, and leaves no ledger entry, cooldown or message.
func TestEvaluateDryRunSendsNothing(t *testing.T) {
	path, st := evaluateSetup(t)
	code, stdout, stderr := runCLI(t, "evaluate", "-c", path, "--now", "2026-11-20T09:00:00Z", "--dry-run")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Dry run", "Pass dry run", "emails to send", "inactive-90-days"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, stdout)
		}
	}
	if n := len(outboxEmails(t, path)) + len(outboxSlack(t, path)); n != 0 {
		t.Errorf("dry run wrote %d messages", n)
	}
	ctx := context.Background()
	if h, err := st.Ledger.History(ctx, "sample:A00042"); err != nil || len(h) != 0 {
		t.Errorf("dry run left ledger entries: %+v, %v", h, err)
	}
	if _, cooling, err := st.Passes.Cooldown(ctx, "high-value-churning", "sample:A00042"); err != nil || cooling {
		t.Errorf("dry run started a cooldown (%v)", err)
	}
}

// TestEvaluateWaitsForNoRunningPass: while another pass holds the pass
// lock (a scheduled pass of `run` on the same Redis), evaluate does not
// run over it: its pass is skipped, it says so and exits 1.
func TestEvaluateWaitsForNoRunningPass(t *testing.T) {
	path, st := evaluateSetup(t)
	if code, _, stderr := runCLI(t, "sync", "-c", path); code != exitOK {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
	ctx := context.Background()
	ns := workers.Namespace(st.Namespace())
	// A scheduled pass that holds the lock and whose task is still to run.
	running := "evaluate@1"
	task, err := workers.NewEvaluateTask(ns, workers.EvaluatePayload{Pass: running, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asynq.NewClientFromRedisClient(st.Redis()).EnqueueContext(ctx, task, asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := st.Passes.LockPass(ctx, running, time.Hour); err != nil || !ok {
		t.Fatalf("lock: %v, %v", ok, err)
	}
	code, stdout, stderr := runCLI(t, "evaluate", "-c", path, "--no-sync")
	if code != exitFailure || !strings.Contains(stderr, "another evaluation pass was running") {
		t.Fatalf("exit %d, want 1 saying another pass runs\n%s\n%s", code, stdout, stderr)
	}
	if n := len(outboxEmails(t, path)) + len(outboxSlack(t, path)); n != 0 {
		t.Errorf("a skipped pass wrote %d messages", n)
	}
	if ok, holder, err := st.Passes.LockPass(ctx, running, time.Hour); err != nil || !ok {
		t.Errorf("the running pass lost its lock to %q (%v)", holder, err)
	}
}

func TestEvaluateUsageAndFailures(t *testing.T) {
	path, _ := evaluateSetup(t)
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"config required", []string{"evaluate"}, exitUsage, "-c FILE is required"},
		{"bad --now", []string{"evaluate", "-c", path, "--now", "yesterday"}, exitUsage, "RFC 3339"},
		{"bad --timeout", []string{"evaluate", "-c", path, "--timeout", "0s"}, exitUsage, "positive duration"},
		{"stray argument", []string{"evaluate", "-c", path, "extra"}, exitUsage, `unexpected argument "extra"`},
		{"never synced", []string{"evaluate", "-c", path, "--no-sync"}, exitFailure, "sample never completed a sync"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, want %d with %q\n%s\n%s", code, tt.code, tt.want, stdout, stderr)
			}
		})
	}
}

// TestEvaluateEmbeddedWarns: without redis.url, evaluate still works,
// in memory, and warns that cron runs would send again.
func TestEvaluateEmbeddedWarns(t *testing.T) {
	path, err := app.PrepareDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "evaluate", "-c", path, "--now", "2026-11-20T09:00:00Z", "--dry-run")
	if code != exitOK || !strings.Contains(stderr, "lost at exit") || !strings.Contains(stderr, "set redis.url") || !strings.Contains(stdout, "inactive-90-days") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestEvaluateQuietHours: emails due in quiet hours are scheduled for
// their end, reported, and left queued for the next run or evaluate;
// evaluate does not wait for them, and Slack nudges go at once.
func TestEvaluateQuietHours(t *testing.T) {
	path, st := evaluateSetup(t)
	b, _ := os.ReadFile(path)
	b = []byte(strings.Replace(string(b), "limits:\n", "limits:\n  quiet_hours: {weekends: true}\n", 1))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// A Saturday a week or two ahead: every contact's weekend.
	sat := time.Now().UTC().AddDate(0, 0, 7).Truncate(24 * time.Hour)
	for sat.Weekday() != time.Saturday {
		sat = sat.AddDate(0, 0, 1)
	}
	now := sat.Add(12 * time.Hour)
	code, stdout, stderr := runCLI(t, "evaluate", "-c", path, "--now", now.Format(time.RFC3339))
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`\d+ emails scheduled for Mon \d{4}-\d\d-\d\d 00:00 CET \(quiet hours\)`).MatchString(stdout) {
		t.Errorf("report names no email scheduled for Monday:\n%s", stdout)
	}
	if n := len(outboxEmails(t, path)); n != 0 {
		t.Errorf("%d emails written on a quiet Saturday", n)
	}
	if len(outboxSlack(t, path)) == 0 {
		t.Error("no Slack nudge written: quiet hours concern emails only")
	}
	info, err := asynq.NewInspectorFromRedisClient(st.Redis()).GetQueueInfo(workers.Namespace(st.Namespace()).Queue(workers.QueueEmail))
	if err != nil || info.Scheduled == 0 {
		t.Fatalf("email queue: %+v, %v; want the quiet-hours emails scheduled", info, err)
	}
}
