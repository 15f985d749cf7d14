package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// commands lists every command with the arguments it needs to get past
// its own checks (flags, then positional arguments), for tests of the
// flags all of them take.
var commands = []struct{ cmd, args []string }{
	{cmd: []string{"demo"}}, {cmd: []string{"run"}}, {cmd: []string{"evaluate"}}, {cmd: []string{"sync"}},
	{cmd: []string{"config", "check"}}, {cmd: []string{"preview"}}, {cmd: []string{"report"}},
	{cmd: []string{"sources", "describe"}, args: []string{"sample"}},
	{cmd: []string{"rules", "check"}, args: []string{"x.yaml"}}, {cmd: []string{"rules", "test"}, args: []string{"x.yaml"}},
	{cmd: []string{"history", "--account", "a"}}, {cmd: []string{"resend", "--key", "k"}},
	{cmd: []string{"suppress", "add"}, args: []string{"a@example.com"}},
	{cmd: []string{"suppress", "remove"}, args: []string{"a@example.com"}},
	{cmd: []string{"suppress", "check"}, args: []string{"a@example.com"}},
	{cmd: []string{"healthcheck"}},
}

// TestEveryCommandTakesLogFlags: --log-level and --log-format are
// accepted by every command, and a bad value is a usage error before
// anything runs.
func TestEveryCommandTakesLogFlags(t *testing.T) {
	good := filepath.Join("..", "..", "examples", "crmsync.yaml")
	t.Setenv(envConfig, good)
	for _, c := range commands {
		with := func(flags ...string) []string {
			return slices.Concat(c.cmd, flags, c.args)
		}
		t.Run(strings.Join(c.cmd, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, with("--log-level", "debug", "--log-format", "json", "--help")...)
			if code != exitOK || !strings.Contains(stderr, "-log-level") || !strings.Contains(stderr, "-log-format") {
				t.Errorf("--help: exit %d, want 0 and both flags described:\n%s", code, stderr)
			}
			code, _, stderr = runCLI(t, with("--log-level", "loud")...)
			if code != exitUsage || !strings.Contains(stderr, "--log-level") {
				t.Errorf("--log-level loud: exit %d, want %d and a word on --log-level:\n%s", code, exitUsage, stderr)
			}
			code, _, stderr = runCLI(t, with("--log-format", "xml")...)
			if code != exitUsage || !strings.Contains(stderr, "--log-format") {
				t.Errorf("--log-format xml: exit %d, want %d and a word on --log-format:\n%s", code, exitUsage, stderr)
			}
		})
	}
}

// TestConfigFromEnvironment: -c defaults to $CRMSYNC_CONFIG, and an
// explicit -c wins.
func TestConfigFromEnvironment(t *testing.T) {
	good := filepath.Join("..", "..", "examples", "crmsync.yaml")
	t.Setenv(envConfig, good)
	if code, stdout, stderr := runCLI(t, "config", "check"); code != exitOK || !strings.Contains(stdout, "SUCCESS: "+good) {
		t.Errorf("config check with $%s: exit %d\n%s%s", envConfig, code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "config", "check", "-c", "nope.yaml"); code != exitFailure || !strings.Contains(stderr, "nope.yaml") {
		t.Errorf("config check -c nope.yaml: exit %d, want the explicit file read:\n%s", code, stderr)
	}
	t.Setenv(envConfig, "")
	if code, _, stderr := runCLI(t, "config", "check"); code != exitUsage || !strings.Contains(stderr, "$"+envConfig) {
		t.Errorf("config check without either: exit %d:\n%s", code, stderr)
	}
}

// TestConfigCheckShowsEffectiveConfig: --show prints the defaults of
// the keys the file leaves out and the environment's overrides.
func TestConfigCheckShowsEffectiveConfig(t *testing.T) {
	t.Setenv("CRMSYNC_HTTP_LISTEN", "0.0.0.0:8080")
	good := filepath.Join("..", "..", "examples", "crmsync.yaml")
	code, stdout, stderr := runCLI(t, "config", "check", "-c", good, "--show")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"listen: 0.0.0.0:8080", "reports: 500", "stale_after: 1d", "concurrency: 10",
		"encoding: utf-8", "base_url: https://api.sendgrid.com", "base_url: https://slack.com/api/"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--show lacks %q:\n%s", want, stdout)
		}
	}
}

// TestConfigCheckSchedule: a schedule the scheduler would refuse fails
// config check, at its line and column.
func TestConfigCheckSchedule(t *testing.T) {
	dir := t.TempDir()
	rules, _ := filepath.Abs(filepath.Join("..", "..", "examples", "rules.yaml"))
	body := "notify: {outbox: out}\nrule_files: [\"" + rules + "\"]\nevaluate:\n  schedule: \"0 7 * * 8\"\n"
	if err := os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "config", "check", "-c", filepath.Join(dir, "c.yaml"))
	if want := `c.yaml:4:13: evaluate.schedule: invalid schedule "0 7 * * 8": end of range (8) above maximum (6): 8`; code != exitFailure || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, want %d and %q:\n%s", code, exitFailure, want, stderr)
	}
}

func TestHealthcheck(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	defer healthy.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "redis: connection refused", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	listen := strings.TrimPrefix(healthy.URL, "http://")
	_, port, _ := strings.Cut(listen, ":")
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	rules, _ := filepath.Abs(filepath.Join("..", "..", "examples", "rules.yaml"))
	if err := os.WriteFile(cfg, []byte("notify: {outbox: out}\nrule_files: [\""+rules+"\"]\nhttp: {listen: \"0.0.0.0:"+port+"\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		env        string // CRMSYNC_HTTP_LISTEN
		config     string // CRMSYNC_CONFIG
		code       int
		wantStderr string
	}{
		{name: "url answers 200", args: []string{"--url", healthy.URL + "/healthz"}, code: exitOK},
		{name: "url answers 503", args: []string{"--url", down.URL + "/healthz"}, code: exitFailure, wantStderr: "503 Service Unavailable: redis: connection refused"},
		{name: "nothing listens", args: []string{"--url", "http://127.0.0.1:1/healthz"}, code: exitFailure, wantStderr: "connection refused"},
		{name: "listen from the environment", env: listen, code: exitOK},
		{name: "wildcard listen from the environment", env: "0.0.0.0:" + port, code: exitOK},
		{name: "listen from the config's http.listen", config: cfg, code: exitOK},
		{name: "the environment overrides the config", config: cfg, env: "127.0.0.1:1", code: exitFailure, wantStderr: "127.0.0.1:1"},
		{name: "stray argument", args: []string{"now"}, code: exitUsage, wantStderr: `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CRMSYNC_HTTP_LISTEN", tt.env)
			t.Setenv(envConfig, tt.config)
			code, _, stderr := runCLI(t, append([]string{"healthcheck"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", code, tt.code, stderr, tt.wantStderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	tests := []struct {
		b    buildInfo
		want string
	}{
		{buildInfo{Version: "v1.2.0"}, "v1.2.0"},
		{buildInfo{Version: "v1.2.0", Revision: "0123456789abcdef0123"}, "v1.2.0 (revision 0123456789ab)"},
		{buildInfo{Version: "dev", Revision: "0123456789abcdef0123", Modified: true}, "dev (revision 0123456789ab, modified)"},
	}
	for _, tt := range tests {
		if got := tt.b.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.b, got, tt.want)
		}
	}
	code, stdout, _ := runCLI(t, "version")
	if want := "crmsync " + readBuildInfo().String() + "\n"; code != exitOK || stdout != want {
		t.Errorf("crmsync version = %d, %q; want %q", code, stdout, want)
	}
}
