package workers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// lockedSender is a provider whose credentials can be revoked and
// restored, with a probe.
type lockedSender struct {
	recordingSender
	mu      sync.Mutex
	revoked bool
	probes  int
}

func (l *lockedSender) refused() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.revoked {
		return &notify.CredentialsError{Provider: "slack", Reason: "chat.postMessage: invalid_auth", Fix: "check notify.slack.token"}
	}
	return nil
}

func (l *lockedSender) Send(ctx context.Context, m *notify.Message) error {
	if err := l.refused(); err != nil {
		return err
	}
	return l.recordingSender.Send(ctx, m)
}

func (l *lockedSender) Probe(context.Context) error {
	l.mu.Lock()
	l.probes++
	l.mu.Unlock()
	return l.refused()
}

func (l *lockedSender) set(revoked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.revoked = revoked
}

func (l *lockedSender) probeCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.probes
}

// pausedGauge is d's crmsync_channel_paused.
func pausedGauge(d *Deliverer) float64 {
	var m dto.Metric
	d.Metrics.ChannelPaused.WithLabelValues(string(d.Channel)).Write(&m)
	return m.GetGauge().GetValue()
}

// TestDeliverPausesOnRefusedCredentials: a wrong token pauses the channel
// instead of rejecting every message; fixed, every message goes out once.
func TestDeliverPausesOnRefusedCredentials(t *testing.T) {
	ctx := context.Background()
	s, m := miniStore(t)
	msgs := messages(3, notify.Slack)
	snd := &lockedSender{}
	snd.set(true)
	var logs bytes.Buffer
	d := newDeliverer(s, snd)
	d.Channel, d.Pauses = notify.Slack, s.Ledger
	d.Logger = slog.New(slog.NewTextHandler(&logs, nil))

	err := d.Deliver(ctx, "task-1", msgs)
	paused, ok := errors.AsType[*PausedError](err)
	if !ok || IsFailure(err) || RetryDelay(0, err, nil) < DefaultPauseRetry {
		t.Fatalf("Deliver = %v; want a *PausedError that spends no retry and waits %v", err, DefaultPauseRetry)
	}
	if !strings.Contains(err.Error(), "2 not attempted") || paused.Channel != notify.Slack {
		t.Errorf("error %q: the rest of the batch must not be attempted", err)
	}
	if e := entryStatus(t, s, msgs[0].LedgerKey); e.Status != store.StatusFailed {
		t.Errorf("the refused message is %q, want failed (released, not rejected)", e.Status)
	}
	for _, msg := range msgs[1:] {
		if _, err := s.Ledger.Entry(ctx, msg.LedgerKey); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s was claimed: %v", msg.LedgerKey, err)
		}
	}
	p, ok, _ := s.Ledger.ChannelPause(ctx, "slack")
	if !ok || !strings.Contains(p.Reason, "invalid_auth") {
		t.Fatalf("pause = %+v, %v; want slack paused for invalid_auth", p, ok)
	}
	line := logs.String()
	for _, want := range []string{"level=ERROR", "channel paused", "channel=slack", "invalid_auth", "waiting_tasks", "fix=\"check notify.slack.token"} {
		if !strings.Contains(line, want) {
			t.Errorf("log lacks %q:\n%s", want, line)
		}
	}
	if pausedGauge(d) != 1 || counted(d, "rejected") != 0 {
		t.Errorf("gauge %v, rejected %d; want 1 and 0", pausedGauge(d), counted(d, "rejected"))
	}

	// While paused, tasks wait without calling the provider; this process
	// probes once at once, then not before the interval.
	for range 3 {
		if _, ok := errors.AsType[*PausedError](d.Deliver(ctx, "task-2", messages(1, notify.Slack))); !ok {
			t.Fatal("a task of a paused channel was not held")
		}
	}
	if len(snd.sentKeys()) != 0 || snd.probeCount() != 1 {
		t.Fatalf("sent %v, probes %d; want nothing sent, one probe", snd.sentKeys(), snd.probeCount())
	}

	// The token is fixed; the next probe, a minute later, resumes.
	snd.set(false)
	m.FastForward(DefaultProbeEvery)
	if err := d.Deliver(ctx, "task-1", msgs); err != nil {
		t.Fatalf("after the fix: %v", err)
	}
	for _, msg := range msgs {
		if n := snd.count(msg.LedgerKey); n != 1 {
			t.Errorf("%s sent %d times, want once", msg.LedgerKey, n)
		}
	}
	if _, ok, _ := s.Ledger.ChannelPause(ctx, "slack"); ok || pausedGauge(d) != 0 {
		t.Errorf("still paused after the fix (gauge %v)", pausedGauge(d))
	}
}

// TestProbeOncePerProcessStart: a process that starts (an operator fixed
// the token and restarted) probes at once, without waiting for the
// interval another process's probe started.
func TestProbeOncePerProcessStart(t *testing.T) {
	ctx := context.Background()
	s, m := miniStore(t)
	if _, err := s.Ledger.PauseChannel(ctx, "slack", "invalid_auth", time.Now()); err != nil {
		t.Fatal(err)
	}
	old := &lockedSender{}
	old.set(true)
	running := newDeliverer(s, old)
	running.Channel, running.Pauses = notify.Slack, s.Ledger
	if _, ok := errors.AsType[*PausedError](running.Deliver(ctx, "t1", messages(1, notify.Slack))); !ok || old.probeCount() != 1 {
		t.Fatalf("old process: probes %d", old.probeCount())
	}
	m.FastForward(probeRunning) // the probe is over, the interval is not
	if _, ok := errors.AsType[*PausedError](running.Deliver(ctx, "t1", messages(1, notify.Slack))); !ok || old.probeCount() != 1 {
		t.Fatalf("the old process probed again within the interval (%d probes)", old.probeCount())
	}
	fixed := &lockedSender{}
	restarted := newDeliverer(s, fixed)
	restarted.Channel, restarted.Pauses = notify.Slack, s.Ledger
	msgs := messages(1, notify.Slack)
	if err := restarted.Deliver(ctx, "t1", msgs); err != nil || fixed.count(msgs[0].LedgerKey) != 1 {
		t.Fatalf("restarted process: %v, sent %d; want the channel resumed at once", err, fixed.count(msgs[0].LedgerKey))
	}
}

// TestDeliverPerRecipientErrorsStillReject: what is wrong with one
// recipient rejects that message alone; the channel goes on.
func TestDeliverPerRecipientErrorsStillReject(t *testing.T) {
	ctx := context.Background()
	s, _ := miniStore(t)
	msgs := messages(3, notify.Slack)
	snd := &recordingSender{fail: map[string]error{msgs[1].To: fmt.Errorf("users_not_found, no fallback: %w", notify.ErrPermanent)}}
	d := newDeliverer(s, snd)
	d.Channel, d.Pauses = notify.Slack, s.Ledger
	if err := d.Deliver(ctx, "task-1", msgs); err != nil {
		t.Fatal(err)
	}
	if st := entryStatus(t, s, msgs[1].LedgerKey).Status; st != store.StatusRejected {
		t.Errorf("status %q, want rejected", st)
	}
	if snd.count(msgs[0].LedgerKey) != 1 || snd.count(msgs[2].LedgerKey) != 1 {
		t.Error("the other messages were not sent")
	}
	if _, ok, _ := s.Ledger.ChannelPause(ctx, "slack"); ok {
		t.Error("one recipient's error paused the channel")
	}
}
