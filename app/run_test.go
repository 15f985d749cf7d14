package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/waitfor"
	"github.com/crmsync/crmsync/notify"
)

func TestHTTPHandler(t *testing.T) {
	cfg := demoConfig(t, "http: {admin_token: s3cret}\n")
	a := newApp(t, cfg, Options{})
	srv := httptest.NewServer(a.HTTPHandler())
	defer srv.Close()

	tests := []struct {
		path, auth string
		code       int
		body       string
	}{
		{path: "/healthz", code: 200, body: "ok"},
		{path: "/metrics", code: 401},
		{path: "/metrics", auth: "Bearer wrong", code: 401},
		{path: "/metrics", auth: "Bearer s3cret", code: 200, body: `crmsync_source_ready{source="sample"} 0`},
		{path: "/healthz?detail=1", code: 401},
		{path: "/healthz?detail=1", auth: "Bearer s3cret", code: 200, body: `"name": "sample",
      "ready": false`},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(body), tt.body) {
			t.Errorf("GET %s (%q): %d %q, want %d containing %q", tt.path, tt.auth, resp.StatusCode, body, tt.code, tt.body)
		}
	}
}

// TestRunOnRealRedis runs `crmsync run` in-process against a real Redis:
// the start-up sync, a scheduled evaluation pass and delivery to the
// outbox, then a clean stop when the context ends.
func TestRunOnRealRedis(t *testing.T) {
	cfg := demoOnRedis(t, "evaluate: {schedule: \"@every 1s\"}\nhttp: {listen: \"127.0.0.1:0\"}\n")
	a := newApp(t, cfg, Options{TaskCheckInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	// The evaluation schedule ticks every second, so the queues are never
	// idle for long: wait for what a pass leaves behind instead.
	waitfor.Until(t, time.Minute, "a scheduled pass over the whole sample and its emails", func() (bool, string) {
		pass, data, err := a.Store.Passes.LatestReport(ctx)
		full := err == nil && strings.HasPrefix(pass, "evaluate@") && strings.Contains(string(data), `"accounts":3000`)
		msgs, rerr := readOutbox(a.Outbox.Path(notify.Email))
		return full && rerr == nil && len(msgs) > 0, fmt.Sprintf("last pass %q (%v), %d emails in the outbox (%v)", pass, err, len(msgs), rerr)
	})
	h, err := a.health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src := h.Sources[0]
	if h.Status != "ok" || !src.Ready || src.FullSync != nil || src.LastSuccess.IsZero() || src.Stale || !strings.HasPrefix(h.Passes.LastPass, "evaluate@") ||
		len(h.Channels) != 2 || h.Channels[0].Paused {
		t.Errorf("health after the first sync and a pass: %+v", h)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v on shutdown, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestFormatFeatures(t *testing.T) {
	got := FormatFeatures(map[string]any{"revenue_12m": 1234.5678, "days_inactive": 97, "days_since_purchase": nil, "abc": "A", "revenue_trend": 1.0})
	want := "abc=A days_inactive=97 days_since_purchase=none revenue_12m=1234.57 revenue_trend=1"
	if got != want {
		t.Fatalf("FormatFeatures = %q, want %q", got, want)
	}
}
