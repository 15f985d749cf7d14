package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/logbuf"
	"github.com/crmsync/crmsync/internal/waitfor"
)

// get requests path from srv with auth (none when empty) and returns the
// status and body.
func get(t *testing.T, srv *httptest.Server, path, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestReadyzOnRealRedis(t *testing.T) {
	ctx := context.Background()
	cfg := demoOnRedis(t, "http: {admin_token: s3cret}\n")
	a := newApp(t, cfg, Options{})
	srv := httptest.NewServer(a.HTTPHandler())
	defer srv.Close()
	const admin = "Bearer s3cret"

	// A source whose last sync ended longer ago than its stale_after, a
	// paused channel and a running pass: degraded, still ready.
	src, after := cfg.Sources[0].Name, cfg.Sources[0].StaleAfter
	ended := time.Now().Add(-after - time.Hour)
	if err := a.Store.Syncs.BeginSync(ctx, src, ended.Add(-time.Minute), "first"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.Syncs.EndSync(ctx, a.gate(), src, ended.Add(-time.Minute), ended, true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.Ledger.PauseChannel(ctx, "slack", "invalid_auth", time.Now()); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := a.Store.Passes.LockPass(ctx, "evaluate@2026-12-06T09:00:00Z", time.Minute); err != nil || !ok {
		t.Fatalf("lock pass: %v, %v", ok, err)
	}

	for _, path := range []string{"/readyz", "/healthz?verbose=1", "/healthz?detail=1"} {
		code, body := get(t, srv, path, admin)
		var h Health
		if err := json.Unmarshal([]byte(body), &h); err != nil || code != http.StatusOK {
			t.Fatalf("GET %s: %d %q (%v)", path, code, body, err)
		}
		s := h.Sources[0]
		if h.Status != "degraded" || !h.Redis.OK || h.Redis.LatencyMS <= 0 ||
			s.Name != src || !s.Stale || s.StaleAfter != after.String() || !s.LastSuccess.Equal(ended.Truncate(time.Millisecond)) ||
			h.Passes.Lock != "evaluate@2026-12-06T09:00:00Z" || len(h.Channels) != 2 || h.Channels[0].Paused || !h.Channels[1].Paused {
			t.Errorf("GET %s: %s", path, body)
		}
	}
	// Without the token: the status for probes, no detail.
	code, body := get(t, srv, "/readyz", "")
	if code != http.StatusOK || strings.Contains(body, "sources") || !strings.Contains(body, `"status": "degraded"`) {
		t.Errorf("GET /readyz without the token: %d %q", code, body)
	}
	if code, _ := get(t, srv, "/healthz?verbose=1", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /healthz?verbose=1 without the token: %d, want 401", code)
	}

	// Redis gone: not ready.
	a.Store.Close()
	for _, path := range []string{"/readyz", "/healthz"} {
		code, body := get(t, srv, path, admin)
		if code != http.StatusServiceUnavailable {
			t.Errorf("GET %s with Redis closed: %d %q, want 503", path, code, body)
		}
	}
	code, body = get(t, srv, "/readyz", "")
	if !strings.Contains(body, `"status": "unavailable"`) || !strings.Contains(body, `"ok": false`) {
		t.Errorf("GET /readyz with Redis closed: %d %q", code, body)
	}
}

func TestOpsMetricsReadRedisOnScrape(t *testing.T) {
	ctx := context.Background()
	cfg := demoOnRedis(t, "")
	a := newApp(t, cfg, Options{})
	srv := httptest.NewServer(a.HTTPHandler())
	defer srv.Close()
	if _, err := a.Store.Ledger.PauseChannel(ctx, "email", "401 from SendGrid", time.Now()); err != nil {
		t.Fatal(err)
	}
	rule := a.Rules.Rules[0].Name
	rep := `{"pass":"p1","started_at":"2026-12-01T09:00:00Z","duration":1000000000,"flags":{"` + rule + `":4}}`
	if err := a.Store.Passes.SaveReport(ctx, "p1", []byte(rep)); err != nil {
		t.Fatal(err)
	}
	if err := a.EnqueueSync(ctx, cfg.Sources[0].Name, false); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, srv, "/metrics", "")
	for _, want := range []string{
		`crmsync_channel_paused{channel="email"} 1`,
		`crmsync_channel_paused{channel="slack"} 0`,
		`crmsync_flags_firing{rule="` + rule + `"} 4`,
		`crmsync_queue_tasks{queue="sync",state="pending"} 1`,
		`crmsync_queue_tasks{queue="email",state="archived"} 0`,
		`crmsync_source_ready{source="sample"} 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestRunLogsStoppingAndStopped stops `run` as a SIGTERM would and reads
// its last two log lines.
func TestRunLogsStoppingAndStopped(t *testing.T) {
	cfg := demoOnRedis(t, "http: {listen: \"127.0.0.1:0\"}\n")
	var buf logbuf.Buffer
	a := newApp(t, cfg, Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	ctx, cancel := context.WithCancelCause(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitfor.Until(t, time.Minute, "run to start", func() (bool, string) {
		return strings.Contains(buf.String(), `"msg":"crmsync running"`), buf.String()
	})
	cancel(errors.New("terminated signal received")) // as signal.NotifyContext does
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var stopping, stopped struct {
		Msg, Signal, Uptime, Shutdown string
	}
	for line := range strings.Lines(buf.String()) {
		var rec struct {
			Msg, Signal, Uptime, Shutdown string
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		switch {
		case rec.Msg == "stopping":
			stopping = rec
		case rec.Msg == "stopped":
			stopped = rec
		case stopped.Msg != "":
			t.Errorf("logged after stopped: %s", line)
		}
	}
	if stopping.Signal != "terminated signal received" || stopped.Msg != "stopped" || stopped.Uptime == "" || stopped.Shutdown == "" {
		t.Errorf("stopping %+v, stopped %+v in %s", stopping, stopped, buf.String())
	}
}
