package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/notify"
)

func newOutbox(t *testing.T) *Outbox {
	t.Helper()
	o, err := New(filepath.Join(t.TempDir(), "nested", "outbox"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return o
}

func message(ch notify.Channel, i int) *notify.Message {
	return &notify.Message{
		LedgerKey: fmt.Sprintf("inactive-90-days|hubspot:%d|jane@acme.example|2025-03", i),
		Channel:   ch,
		Rule:      "inactive-90-days",
		AccountID: fmt.Sprintf("hubspot:%d", i),
		To:        "jane@acme.example",
		Subject:   "Catching up with <!channel> & co",
		Text:      "Hi Jane,\n\nline two",
		HTML:      "<p>Hi &lt;Jane&gt;</p>",
		Blocks:    json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"&lt;!channel&gt;"}}]`),
		Features:  map[string]any{"days_inactive": float64(97)},
		CreatedAt: time.Date(2025, 3, 3, 7, 0, 0, 0, time.UTC),
	}
}

func TestNewCreatesDir(t *testing.T) {
	o := newOutbox(t)
	if st, err := os.Stat(o.Dir()); err != nil || !st.IsDir() {
		t.Fatalf("dir %s not created: %v", o.Dir(), err)
	}
	if got, want := o.Path(notify.Slack), filepath.Join(o.Dir(), "slack.jsonl"); got != want {
		t.Errorf("Path(slack) = %s, want %s", got, want)
	}
	file := filepath.Join(o.Dir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(filepath.Join(file, "x")); err == nil {
		t.Error("New under a file succeeded")
	}
}

func TestSendReadRoundTrip(t *testing.T) {
	o := newOutbox(t)
	ctx := t.Context()
	sent := []*notify.Message{message(notify.Email, 1), message(notify.Slack, 2), message(notify.Email, 3)}
	for _, m := range sent {
		if err := o.Send(ctx, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	emails, err := Read(o.Path(notify.Email))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(emails) != 2 || !reflect.DeepEqual(emails[0], *sent[0]) || !reflect.DeepEqual(emails[1], *sent[2]) {
		t.Errorf("email.jsonl = %+v, want messages 1 and 3", emails)
	}
	slacks, err := Read(o.Path(notify.Slack))
	if err != nil || len(slacks) != 1 || !reflect.DeepEqual(slacks[0], *sent[1]) {
		t.Errorf("slack.jsonl = %+v, %v, want message 2", slacks, err)
	}
	raw, _ := os.ReadFile(o.Path(notify.Email))
	if !strings.Contains(string(raw), "<!channel> & co") || strings.Count(string(raw), "\n") != 2 {
		t.Errorf("email.jsonl is not 2 readable lines:\n%s", raw)
	}
}

func TestSendErrors(t *testing.T) {
	o := newOutbox(t)
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		msg       *notify.Message
		permanent bool
	}{
		{"unknown channel", t.Context(), message("fax", 1), true},
		{"empty channel", t.Context(), message("", 1), true},
		{"nil message", t.Context(), nil, true},
		{"canceled context", canceled, message(notify.Email, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := o.Send(tt.ctx, tt.msg)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if got := errors.Is(err, notify.ErrPermanent); got != tt.permanent {
				t.Errorf("permanent = %v, want %v (err %v)", got, tt.permanent, err)
			}
		})
	}
	if _, err := os.Stat(o.Path(notify.Email)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed send wrote %s", o.Path(notify.Email))
	}
}

func TestConcurrentSends(t *testing.T) {
	const senders, each = 20, 25
	o := newOutbox(t)
	// A second Outbox on the same folder stands for another process: only
	// O_APPEND, not the mutex, keeps its lines whole.
	other, err := New(o.Dir())
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 64<<10)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			ob := o
			if g%2 == 1 {
				ob = other
			}
			for i := range each {
				m := message(notify.Slack, g*each+i)
				m.Text = big
				if err := ob.Send(t.Context(), m); err != nil {
					t.Errorf("Send: %v", err)
				}
			}
		})
	}
	wg.Wait()
	msgs, err := Read(o.Path(notify.Slack))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(msgs) != senders*each {
		t.Fatalf("read %d messages, want %d", len(msgs), senders*each)
	}
	seen := make(map[string]bool)
	for _, m := range msgs {
		seen[m.AccountID] = true
	}
	if len(seen) != senders*each {
		t.Errorf("%d distinct messages, want %d", len(seen), senders*each)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(filepath.Join(dir, "missing.jsonl")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(missing) = %v, want fs.ErrNotExist", err)
	}
	p := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(p, []byte("{\"channel\":\"email\"}\n\n{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(p); err == nil || !strings.Contains(err.Error(), "bad.jsonl:3") {
		t.Errorf("Read(bad) = %v, want an error naming bad.jsonl:3", err)
	}
	p = filepath.Join(dir, "last-line-without-newline.jsonl")
	if err := os.WriteFile(p, []byte("{\"channel\":\"email\"}\n{\"channel\":\"slack\"}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if msgs, err := Read(p); err != nil || len(msgs) != 2 || msgs[1].Channel != notify.Slack {
		t.Errorf("Read = %+v, %v, want 2 messages", msgs, err)
	}
}
