package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDemoServe runs `demo --serve --listen 127.0.0.1:0` in-process: after
// the summary it prints the dashboard's URL, which serves the portfolio
// and the queues and sources page (loopback: an admin), and it stops
// cleanly when its context is cancelled (what SIGINT does in main).
func TestDemoServe(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		var stderr strings.Builder
		err := cmdDemo(ctx, []string{"--dir", t.TempDir(), "--serve", "--listen", "127.0.0.1:0"}, pw, &stderr)
		pw.Close()
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	url, summary := "", ""
	for url == "" && lines.Scan() {
		line := lines.Text()
		summary += line + "\n"
		if rest, ok := strings.CutPrefix(line, "Dashboard: "); ok {
			url, _, _ = strings.Cut(rest, " ")
		}
	}
	if url == "" {
		cancel()
		t.Fatalf("no dashboard URL printed (%v):\n%s", <-done, summary)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if !strings.Contains(summary, "Portfolio:") || !strings.HasSuffix(url, "/portfolio") || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("url %q after the summary:\n%s", url, summary)
	}
	base := strings.TrimSuffix(url, "/portfolio")
	tests := []struct{ path, want string }{
		{"/portfolio", `<b id="kpi-clients">`},
		{"/ops", `<table id="queues">`},
		{"/healthz", "ok"},
	}
	for _, tt := range tests {
		resp, err := http.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), tt.want) {
			t.Errorf("GET %s: %d, want 200 with %q:\n%.2000s", tt.path, resp.StatusCode, tt.want, b)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo --serve stopped with %v", err)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the dashboard still answers after the demo stopped")
	}
}

func TestDemoListenLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{"localhost:0", true},
		{"[::1]:8080", true},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"192.168.1.5:80", false},
		{"8080", false},
	}
	for _, tt := range tests {
		if err := checkLoopback(tt.addr); (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok %v", tt.addr, err, tt.ok)
		}
	}
}
