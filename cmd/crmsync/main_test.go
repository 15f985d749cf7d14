package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/internal/redistest"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// demoOnRedis writes the demo's config (the bundled sample, the example
// rules, the outbox) into a temporary folder, pointed at a fresh namespace
// of the real Redis, and returns its path and the loaded config.
func demoOnRedis(t *testing.T) (string, *config.Config) {
	t.Helper()
	path, err := app.PrepareDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte(redistest.ConfigLine(t)), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

func TestExitCodes(t *testing.T) {
	good := filepath.Join("..", "..", "examples", "crmsync.yaml")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("redis:\n  urll: redis://x\nsources:\n  - name: a\n    type: hubspott\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{name: "no command", args: nil, code: exitUsage, wantStderr: "Usage:"},
		{name: "unknown command", args: []string{"frobnicate"}, code: exitUsage, wantStderr: `unknown command "frobnicate"`},
		{name: "help", args: []string{"help"}, code: exitOK, wantStdout: "crmsync demo"},
		{name: "command help", args: []string{"sync", "--help"}, code: exitOK, wantStderr: "--source"},
		{name: "unknown flag", args: []string{"demo", "--frob"}, code: exitUsage, wantStderr: "flag provided but not defined"},
		{name: "stray argument", args: []string{"run", "-c", good, "extra"}, code: exitUsage, wantStderr: `unexpected argument "extra"`},
		{name: "config required", args: []string{"run"}, code: exitUsage, wantStderr: "-c FILE is required"},
		{name: "config check without check", args: []string{"config"}, code: exitUsage, wantStderr: "config check"},
		{name: "bad --now", args: []string{"demo", "--now", "yesterday"}, code: exitUsage, wantStderr: "RFC 3339"},
		{name: "unknown source", args: []string{"sync", "-c", good, "--source", "nope"}, code: exitUsage, wantStderr: `no source named "nope"`},
		{name: "version", args: []string{"version"}, code: exitOK, wantStdout: "crmsync "},
		{name: "config check ok", args: []string{"config", "check", "-c", good}, code: exitOK, wantStdout: "SUCCESS"},
		{name: "config check names file, line and key", args: []string{"config", "check", "--config", bad}, code: exitFailure, wantStderr: "bad.yaml:2:"},
		{name: "missing config file", args: []string{"config", "check", "-c", "nope.yaml"}, code: exitFailure, wantStderr: "nope.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Fatalf("stdout %q / stderr %q: want %q / %q", stdout, stderr, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func TestConfigCheckReportsEveryError(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	body := "redis:\n  urll: redis://x\nsources:\n  - name: a\n    type: hubspott\nworkers:\n  concurrency: ten\n"
	if err := os.WriteFile(bad, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, stderr := runCLI(t, "config", "check", "-c", bad)
	for _, want := range []string{"bad.yaml:2:", "bad.yaml:5:", "bad.yaml:7:"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestConfigCheckShowRedactsSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	t.Setenv("CRMSYNC_TEST_SECRET", "s3cr3t-value")
	rules, _ := filepath.Abs(filepath.Join("..", "..", "examples", "rules.yaml"))
	body := "redis: {url: \"redis://:${CRMSYNC_TEST_SECRET}@127.0.0.1:6379/0\"}\nnotify: {outbox: out}\nhttp: {admin_token: \"${CRMSYNC_TEST_SECRET}\"}\nrule_files: [\"" + rules + "\"]\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "config", "check", "-c", path, "--show")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout+stderr, "s3cr3t-value") {
		t.Fatalf("a secret leaked:\n%s", stdout)
	}
}

func TestDemoCommand(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "demo", "--dir", dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Portfolio:", "inactive-90-days", "high-value-churning", "Messages written to the outbox", filepath.Join(dir, "outbox")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
}

func TestSyncCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "demo", "--dir", dir); code != exitOK {
		t.Fatal(stderr)
	}
	code, stdout, stderr := runCLI(t, "sync", "-c", filepath.Join(dir, "crmsync.yaml"), "--log-level", "error")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "sample: ") || !strings.Contains(stdout, "set aside") {
		t.Fatalf("stdout lacks the per-source line:\n%s", stdout)
	}
	if !strings.Contains(stderr, "in-memory") {
		t.Fatalf("sync on embedded Redis must warn that records are lost on exit:\n%s", stderr)
	}
}

func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	body := `rules:
  - name: quiet
    when: days_inactiv >= 90
    cooldwn: 30d
    actions:
      - slack: {to: owner}
  - name: typed
    when: days_inactive >= "90"
    actions:
      - slack: {to: owner}
`
	if err := os.WriteFile(bad, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "rules", "check", bad)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"bad.yaml:3:11: rules[0].when: unknown name days_inactiv (did you mean days_inactive?)",
		"    when: days_inactiv >= 90\n            ^\n",
		"bad.yaml:4:5: rules[0].cooldwn: unknown key (did you mean \"cooldown\"?)",
		"bad.yaml:8:25: rules[1].when: invalid operation: >= (mismatched types int and string)",
		"3 problems",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "crmsync: ") {
		t.Errorf("problems were printed twice:\n%s", stderr)
	}

	code, stdout, stderr = runCLI(t, "rules", "check", filepath.Join("..", "..", "examples", "rules.yaml"))
	if code != exitOK || !strings.Contains(stdout, "OK: 2 rules") {
		t.Fatalf("examples/rules.yaml: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, _ := runCLI(t, "rules", "check"); code != exitUsage {
		t.Errorf("rules check without files: exit %d, want 2", code)
	}
}

func TestPreviewCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "demo", "--dir", dir); code != exitOK {
		t.Fatal(stderr)
	}
	cfg := filepath.Join(dir, "crmsync.yaml")
	code, stdout, stderr := runCLI(t, "preview", "-c", cfg, "--now", "2026-11-20T09:00:00Z", "--account", "A00042")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"== high-value-churning: 1 account flagged", "when: abc == \"A\"", "  sample:A00042  ", "with: abc=A days_inactive=71", "slack to #key-accounts", "nothing was sent"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("preview lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runCLI(t, "preview", "-c", cfg, "--now", "2026-11-20T09:00:00Z", "--rule", "inactive-90-days", "--format", "json")
	var res struct {
		Flags []struct {
			Rule      string `json:"rule"`
			AccountID string `json:"account_id"`
			Messages  []any  `json:"messages"`
		} `json:"flags"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); code != exitOK || err != nil {
		t.Fatalf("json preview: exit %d, %v", code, err)
	}
	accounts := 0
	for _, f := range res.Flags {
		if !strings.HasPrefix(f.AccountID, "digest:") {
			accounts++
		}
	}
	if accounts != 242 {
		t.Errorf("preview flags %d accounts with inactive-90-days, the demo acts on 242", accounts)
	}
	if code, _, stderr := runCLI(t, "preview", "-c", cfg, "--rule", "nope"); code != exitFailure || !strings.Contains(stderr, `no rule named "nope"`) {
		t.Errorf("unknown rule: exit %d: %s", code, stderr)
	}
}

func TestHistoryCommand(t *testing.T) {
	path, cfg := demoOnRedis(t)
	runDemoPass(t, cfg)
	code, stdout, stderr := runCLI(t, "history", "-c", path, "--account", "A00042")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"written slack #key-accounts  rule high-value-churning  account sample:A00042", "when: abc == \"A\"", "with: abc=A days_inactive=71"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("history lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runCLI(t, "history", "-c", path, "--contact", "NOBODY@example.com")
	if code != exitOK || !strings.Contains(stdout, "no messages") {
		t.Errorf("unknown contact: exit %d: %s", code, stdout)
	}
	if code, _, _ := runCLI(t, "history", "-c", path); code != exitUsage {
		t.Errorf("history without --account or --contact: exit %d, want 2", code)
	}
}

func TestRulesTest(t *testing.T) {
	code, stdout, stderr := runCLI(t, "rules", "test", filepath.Join("..", "..", "examples", "rules_test.yaml"))
	if code != exitOK || !strings.Contains(stdout, " passed, 0 failed") {
		t.Fatalf("examples/rules_test.yaml: exit %d\n%s%s", code, stdout, stderr)
	}
	// A deliberately wrong expectation fails with a readable diff.
	dir := t.TempDir()
	rules, _ := filepath.Abs(filepath.Join("..", "..", "examples", "rules.yaml"))
	body := `rule_files: ["` + rules + `"]
evaluation_time: 2026-11-20T09:00:00Z
tests:
  - name: wrong on purpose
    accounts:
      - id: acme
        last_activity_at: -100d
    expect:
      inactive-90-days: []
`
	f := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, "rules", "test", f)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1:\n%s", code, stdout)
	}
	for _, want := range []string{"FAIL", "wrong on purpose", "rule inactive-90-days:", "unexpected: acme", "days_inactive=100", "0 passed, 1 failed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if code, _, _ := runCLI(t, "rules", "test"); code != exitUsage {
		t.Errorf("rules test without files: exit %d, want 2", code)
	}
}

func TestSuppressCommand(t *testing.T) {
	path, _ := demoOnRedis(t)
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"suppress", "add", "-c", path, "--reason", "asked by phone", "Ann@Example.com"}, exitOK, "suppressed ann@example.com (asked by phone)"},
		{[]string{"suppress", "check", "-c", path, "ann@example.com"}, exitOK, "ann@example.com: suppressed (asked by phone)"},
		{[]string{"suppress", "remove", "-c", path, "ann@example.com"}, exitOK, "no longer suppressed ann@example.com"},
		{[]string{"suppress", "check", "-c", path, "ann@example.com"}, exitOK, "not suppressed"},
		{[]string{"suppress", "add", "-c", path, "not-an-address"}, exitUsage, ""},
		{[]string{"suppress", "frobnicate"}, exitUsage, ""},
	}
	for _, st := range steps {
		code, stdout, stderr := runCLI(t, st.args...)
		if code != st.code || !strings.Contains(stdout, st.want) {
			t.Fatalf("%v: exit %d, %q / %q; want %d and %q", st.args, code, stdout, stderr, st.code, st.want)
		}
	}
}

// runDemoPass runs the demo's sync and pass at the sample's date in an app
// of cfg, which it closes, so that commands find the pass in the store.
func runDemoPass(t *testing.T, cfg *config.Config) {
	t.Helper()
	a, err := app.New(t.Context(), cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TaskCheckInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Demo(t.Context(), app.DemoOptions{Now: examples.SampleAsOf}, io.Discard); err != nil {
		t.Fatal(err)
	}
}
