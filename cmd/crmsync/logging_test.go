package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/notify"
)

// TestRedisLogsAreJSON makes go-redis write one of its own log lines (a
// sub-millisecond expiry, which it truncates and warns about) under
// --log-format json: the line comes out as JSON, like every other line.
func TestRedisLogsAreJSON(t *testing.T) {
	rdb := redistest.Client(t)
	key := redistest.Namespace(t) + ":expiry"
	var buf bytes.Buffer
	if _, err := newLogger(&buf, slog.LevelInfo, "json"); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(context.Background(), key, "v", 500*time.Microsecond).Err(); err != nil {
		t.Fatal(err)
	}
	var found bool
	for line := range strings.Lines(buf.String()) {
		var rec struct{ Level, Msg, Component string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", line, err)
		}
		if strings.Contains(rec.Msg, "truncating to 1ms") {
			found = rec.Level == "WARN" && rec.Component == "redis"
		}
	}
	if !found {
		t.Fatalf("no WARN line of component redis about the truncated expiry in %q", buf.String())
	}
}

// TestTextLogsWriteMapsAsGroups checks that a map attribute (a pass's
// flags per rule, messages per channel) reads as key=value pairs in text
// logs, sorted, nested maps nested, and stays a JSON object in JSON logs.
func TestTextLogsWriteMapsAsGroups(t *testing.T) {
	attrs := []any{
		"flags", map[string]int{"quiet": 3, "at-risk": 1},
		"enqueued", map[notify.Channel]int{notify.Slack: 2, notify.Email: 5},
		"deferred", map[notify.Channel]int{},
		"messages", map[string]map[notify.Channel]int{"quiet": {notify.Email: 3}},
		"accounts", 42,
	}
	tests := []struct {
		format, want string
	}{
		{"text", `msg="evaluation done" flags.at-risk=1 flags.quiet=3 enqueued.email=5 enqueued.slack=2 deferred={} messages.quiet.email=3 accounts=42` + "\n"},
		{"json", `"msg":"evaluation done","flags":{"at-risk":1,"quiet":3},"enqueued":{"email":5,"slack":2},"deferred":{},"messages":{"quiet":{"email":3}},"accounts":42}` + "\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		l, err := newLogger(&buf, slog.LevelInfo, tt.format)
		if err != nil {
			t.Fatal(err)
		}
		l.Info("evaluation done", attrs...)
		if !strings.HasSuffix(buf.String(), tt.want) {
			t.Errorf("%s: got %q, want it to end with %q", tt.format, buf.String(), tt.want)
		}
	}
}
