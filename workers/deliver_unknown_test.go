package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// miniStore returns a store on a fresh miniredis, and the miniredis.
func miniStore(t *testing.T) (*store.Store, *miniredis.Miniredis) {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return store.New(rdb, "test"), m
}

// counted is the number of messages of d's channel counted with outcome.
func counted(d *Deliverer, outcome string) int {
	var m dto.Metric
	if err := d.Metrics.Messages.WithLabelValues(string(d.Channel), outcome).Write(&m); err != nil {
		panic(err)
	}
	return int(m.GetCounter().GetValue())
}

// entryStatus is the ledger status of key.
func entryStatus(t *testing.T, s *store.Store, key string) store.Entry {
	t.Helper()
	e, err := s.Ledger.Entry(context.Background(), key)
	if err != nil {
		t.Fatalf("Entry(%s): %v", key, err)
	}
	return e
}

// claimAs claims m in the ledger under token at at, as an attempt that
// then died (or whose record never arrived) would have.
func claimAs(t *testing.T, s *store.Store, m *notify.Message, token string, at time.Time) {
	t.Helper()
	if res, err := s.Ledger.Claim(context.Background(), entryOf(m), token, ClaimLease, at); err != nil || res != store.Claimed {
		t.Fatalf("Claim = %v, %v", res, err)
	}
}

// TestDeliverUnrecordedAttemptIsUnknown: the task's earlier attempt
// claimed an email and died before recording (kill -9 between send and
// record, or a record lost to an outage longer than the lease). Its retry
// (same token) and any other task must not send it again.
func TestDeliverUnrecordedAttemptIsUnknown(t *testing.T) {
	ctx := context.Background()
	s, _ := miniStore(t)
	msgs := messages(2, notify.Email)
	claimAs(t, s, &msgs[0], "task-1", time.Now())
	snd := &recordingSender{}
	d := newDeliverer(s, snd)
	for _, token := range []string{"task-1", "task-2", "task-1"} {
		if err := d.Deliver(ctx, token, msgs); err != nil {
			t.Fatalf("Deliver(%s): %v", token, err)
		}
	}
	if n := snd.count(msgs[0].LedgerKey); n != 0 {
		t.Fatalf("the unknown email was sent %d times, want never", n)
	}
	if n := snd.count(msgs[1].LedgerKey); n != 1 {
		t.Fatalf("the other email was sent %d times, want once", n)
	}
	if e := entryStatus(t, s, msgs[0].LedgerKey); e.Status != store.StatusUnknown || e.Token != "task-1" {
		t.Fatalf("entry = %+v, want unknown, held by task-1", e)
	}
	b, err := s.Ledger.Message(ctx, msgs[0].LedgerKey)
	var kept notify.Message
	if err != nil || json.Unmarshal(b, &kept) != nil || kept.LedgerKey != msgs[0].LedgerKey || kept.To != msgs[0].To {
		t.Fatalf("kept message = %s, %v; want the rendered message, for a resend", b, err)
	}
	if n := counted(d, "unknown"); n != 1 {
		t.Errorf("unknown counted %d times, want once (when it became unknown)", n)
	}
}

// TestDeliverSameTaskAfterItsLease: another task finds a claim whose
// holder's lease passed: unknown too.
func TestDeliverStaleClaimOfAnotherTaskIsUnknown(t *testing.T) {
	s, _ := miniStore(t)
	msgs := messages(1, notify.Email)
	claimAs(t, s, &msgs[0], "task-1", time.Now().Add(-2*ClaimLease))
	snd := &recordingSender{}
	if err := newDeliverer(s, snd).Deliver(context.Background(), "task-2", msgs); err != nil {
		t.Fatal(err)
	}
	if snd.count(msgs[0].LedgerKey) != 0 || entryStatus(t, s, msgs[0].LedgerKey).Status != store.StatusUnknown {
		t.Fatal("a stale claim was sent again or not made unknown")
	}
}

// flakyLedger fails the first n ledger writes after a send, as Redis does
// during an outage, and can run a hook before each.
type flakyLedger struct {
	*store.Ledger
	fails  atomic.Int32
	before func()
}

var errRedisDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (f *flakyLedger) write() error {
	if f.before != nil {
		f.before()
	}
	if f.fails.Add(-1) >= 0 {
		return errRedisDown
	}
	return nil
}

func (f *flakyLedger) MarkAll(ctx context.Context, token string, at time.Time, marks []store.Mark) ([]bool, error) {
	if err := f.write(); err != nil {
		return nil, err
	}
	return f.Ledger.MarkAll(ctx, token, at, marks)
}

func (f *flakyLedger) MarkSent(ctx context.Context, key, token string, at time.Time) error {
	if err := f.write(); err != nil {
		return err
	}
	return f.Ledger.MarkSent(ctx, key, token, at)
}

func (f *flakyLedger) Reject(ctx context.Context, key, token, reason string) error {
	if err := f.write(); err != nil {
		return err
	}
	return f.Ledger.Reject(ctx, key, token, reason)
}

func (f *flakyLedger) Release(ctx context.Context, key, token, reason string) error {
	if err := f.write(); err != nil {
		return err
	}
	return f.Ledger.Release(ctx, key, token, reason)
}

// TestDeliverRecordsThroughAnOutage: the ledger write after each send
// fails a few times (Redis is down for a moment): it is retried, not
// given up after one timeout, so nothing is lost and nothing resent.
func TestDeliverRecordsThroughAnOutage(t *testing.T) {
	tests := []struct {
		name    string
		failing error // what the sender answers
		status  string
	}{
		{"sent", nil, store.StatusSent},
		{"rejected", fmt.Errorf("bad address: %w", notify.ErrPermanent), store.StatusRejected},
		{"released", errors.New("503"), store.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := miniStore(t)
			l := &flakyLedger{Ledger: s.Ledger}
			l.fails.Store(4)
			msgs := messages(1, notify.Email)
			snd := &recordingSender{fail: map[string]error{msgs[0].To: tt.failing}}
			d := newDeliverer(s, snd)
			d.Ledger, d.recordWait = l, time.Millisecond
			err := d.Deliver(context.Background(), "task-1", msgs)
			if (err != nil) != (tt.failing != nil && tt.status == store.StatusFailed) {
				t.Fatalf("Deliver = %v", err)
			}
			if e := entryStatus(t, s, msgs[0].LedgerKey); e.Status != tt.status {
				t.Fatalf("status = %q, want %q: the record was lost", e.Status, tt.status)
			}
			if l.fails.Load() > 0 {
				t.Fatalf("%d failures left: the write was not retried", l.fails.Load())
			}
		})
	}
}

// TestDeliverOutageOnMiniredis stops answering (a Redis error on every
// command) right after a send, for half a second: the send is recorded
// once Redis answers again, and the task's retry sends nothing.
func TestDeliverOutageOnMiniredis(t *testing.T) {
	s, m := miniStore(t)
	msgs := messages(3, notify.Email)
	snd := &outageSender{m: m, down: 500 * time.Millisecond}
	d := newDeliverer(s, snd)
	d.recordWait = 20 * time.Millisecond
	err := d.Deliver(context.Background(), "task-1", msgs)
	// The first is sent and recorded after the outage; the batch stops
	// at the second's claim if Redis is still down, or goes on.
	if e := entryStatus(t, s, msgs[0].LedgerKey); e.Status != store.StatusSent {
		t.Fatalf("first message: %+v, %v; want it recorded sent after the outage", e, err)
	}
	m.SetError("")
	if err := d.Deliver(context.Background(), "task-1", msgs); err != nil {
		t.Fatalf("retry: %v", err)
	}
	for _, msg := range msgs {
		if n := snd.count(msg.LedgerKey); n != 1 {
			t.Errorf("%s sent %d times, want once", msg.LedgerKey, n)
		}
	}
}

// outageSender sends, then Redis goes down for a while (once).
type outageSender struct {
	recordingSender
	m    *miniredis.Miniredis
	down time.Duration
	once sync.Once
}

func (o *outageSender) Send(ctx context.Context, msg *notify.Message) error {
	err := o.recordingSender.Send(ctx, msg)
	o.once.Do(func() {
		o.m.SetError("LOADING Redis is loading the dataset in memory")
		time.AfterFunc(o.down, func() { o.m.SetError("") })
	})
	return err
}

// TestDeliverLateRecordWins: the record of a send is slow to arrive (an
// outage), so asynq gives up on the task and its retry (same token) runs
// meanwhile: the retry finds the claim unrecorded and must not send; the
// late record then marks it sent.
func TestDeliverLateRecordWins(t *testing.T) {
	s, _ := miniStore(t)
	msgs := messages(1, notify.Email)
	snd := &recordingSender{}
	l := &flakyLedger{Ledger: s.Ledger}
	l.fails.Store(1000)
	retried := make(chan error, 1)
	var once sync.Once
	l.before = func() {
		once.Do(func() {
			// While the first attempt cannot record, its retry runs.
			retry := newDeliverer(s, snd)
			retried <- retry.Deliver(context.Background(), "task-1", msgs)
			l.fails.Store(0) // Redis is back
		})
	}
	d := newDeliverer(s, snd)
	d.Ledger, d.recordWait = l, time.Millisecond
	if err := d.Deliver(context.Background(), "task-1", msgs); err != nil {
		t.Fatal(err)
	}
	if err := <-retried; err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := snd.count(msgs[0].LedgerKey); n != 1 {
		t.Fatalf("sent %d times, want once", n)
	}
	if e := entryStatus(t, s, msgs[0].LedgerKey); e.Status != store.StatusSent {
		t.Fatalf("status %q, want sent: the late record must win", e.Status)
	}
}

// TestDeliverLedgerDownStopsTheBatch: with Redis down, nothing can be
// claimed: the batch stops at the first message instead of trying them
// all, and nothing is sent.
func TestDeliverLedgerDownStopsTheBatch(t *testing.T) {
	s, m := miniStore(t)
	m.SetError("LOADING Redis is loading the dataset in memory")
	snd := &recordingSender{}
	d := newDeliverer(s, snd)
	d.Channel = notify.Slack
	err := d.Deliver(context.Background(), "task-1", messages(5, notify.Slack))
	if err == nil || len(snd.sentKeys()) != 0 {
		t.Fatalf("Deliver = %v, sent %v; want an error and nothing sent", err, snd.sentKeys())
	}
	if want := "1 of 5 failed, 4 not attempted"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if !IsFailure(err) {
		t.Error("a ledger outage is not counted as a failure")
	}
}

// TestDeliverUnknownOutcomeOfASend: the provider call itself may have
// gone through (a timeout): an email is left unknown, never resent.
func TestDeliverUnknownOutcomeOfASend(t *testing.T) {
	ctx := context.Background()
	s, _ := miniStore(t)
	msgs := messages(2, notify.Email)
	snd := &recordingSender{fail: map[string]error{msgs[0].To: fmt.Errorf("sendgrid: timeout: %w", notify.ErrOutcomeUnknown)}}
	d := newDeliverer(s, snd)
	if err := d.Deliver(ctx, "task-1", msgs); err != nil {
		t.Fatalf("an email of unknown outcome failed the batch (and would be retried): %v", err)
	}
	snd.mu.Lock()
	snd.fail = nil
	snd.mu.Unlock()
	if err := d.Deliver(ctx, "task-1", msgs); err != nil {
		t.Fatal(err)
	}
	e := entryStatus(t, s, msgs[0].LedgerKey)
	if e.Status != store.StatusUnknown || snd.count(msgs[0].LedgerKey) != 0 || e.Error == "" {
		t.Fatalf("entry %+v, sent %d; want unknown with the reason, not resent", e, snd.count(msgs[0].LedgerKey))
	}
	if _, err := s.Ledger.Message(ctx, msgs[0].LedgerKey); err != nil {
		t.Fatalf("message not kept for a resend: %v", err)
	}
	if counted(d, "unknown") != 1 {
		t.Errorf("unknown counted %d times, want 1", counted(d, "unknown"))
	}
}

// findingSender is a Slack-like sender that can look for what it posted.
type findingSender struct {
	recordingSender
	findErr error
	finds   atomic.Int32
	since   time.Time
}

func (f *findingSender) Find(_ context.Context, m *notify.Message, since time.Time) (bool, error) {
	f.finds.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since = since
	if f.findErr != nil {
		return false, f.findErr
	}
	return f.sent[m.LedgerKey] > 0, nil
}

// TestDeliverSlackUnknownIsLookedFor: a nudge whose earlier attempt left
// no record is looked for in Slack before it is posted again.
func TestDeliverSlackUnknownIsLookedFor(t *testing.T) {
	tests := []struct {
		name        string
		posted      bool  // the earlier attempt did post it
		findErr     error // what looking answers
		after       time.Duration
		wantPosts   int
		wantStatus  string
		wantOutcome string // counted
		wantErr     bool
		wantWait    bool // a RetryLater: too early to look
		wantPaused  bool
	}{
		{name: "found: not posted again", posted: true, after: 2 * time.Minute, wantPosts: 1, wantStatus: store.StatusSent, wantOutcome: "found"},
		{name: "not found: posted once", after: 2 * time.Minute, wantPosts: 1, wantStatus: store.StatusSent, wantOutcome: "sent"},
		{name: "cannot tell: left unknown", after: 2 * time.Minute, findErr: fmt.Errorf("missing_scope: %w", notify.ErrPermanent),
			wantStatus: store.StatusUnknown, wantOutcome: "unresolved"},
		{name: "slack down: retried", after: 2 * time.Minute, findErr: errors.New("503"), wantStatus: store.StatusUnknown, wantErr: true},
		{name: "credentials refused: paused", after: 2 * time.Minute, findErr: &notify.CredentialsError{Provider: "slack", Reason: "invalid_auth"},
			wantStatus: store.StatusUnknown, wantErr: true, wantPaused: true},
		{name: "too early: the post may be in flight", posted: true, after: 10 * time.Second, wantPosts: 1,
			wantStatus: store.StatusUnknown, wantErr: true, wantWait: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := miniStore(t)
			msgs := messages(1, notify.Slack)
			m := &msgs[0]
			snd := &findingSender{findErr: tt.findErr}
			claimAs(t, s, m, "task-1", t0) // the attempt that died
			if tt.posted {
				snd.Send(context.Background(), m)
			}
			d := newDeliverer(s, snd)
			d.Channel, d.Pauses = notify.Slack, s.Ledger
			d.Now = func() time.Time { return t0.Add(tt.after) }
			err := d.Deliver(context.Background(), "task-1", msgs)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Deliver = %v, want error %v", err, tt.wantErr)
			}
			if _, ok := errors.AsType[*RetryLater](err); ok != tt.wantWait || ok && IsFailure(err) {
				t.Errorf("RetryLater = %v (%v), want %v", ok, err, tt.wantWait)
			}
			if _, ok := errors.AsType[*PausedError](err); ok != tt.wantPaused {
				t.Errorf("paused = %v (%v), want %v", ok, err, tt.wantPaused)
			}
			if n := snd.count(m.LedgerKey); n != tt.wantPosts {
				t.Errorf("posted %d times, want %d", n, tt.wantPosts)
			}
			if e := entryStatus(t, s, m.LedgerKey); e.Status != tt.wantStatus {
				t.Errorf("status %q, want %q", e.Status, tt.wantStatus)
			}
			if tt.wantOutcome != "" && counted(d, tt.wantOutcome) != 1 {
				t.Errorf("%s counted %d times, want 1", tt.wantOutcome, counted(d, tt.wantOutcome))
			}
			if tt.wantWait && snd.finds.Load() != 0 {
				t.Error("looked for a post that may still be in flight")
			}
			if !tt.wantWait && !snd.since.Equal(t0.Add(-findSkew)) {
				t.Errorf("looked from %v, want from the claim less %v", snd.since, findSkew)
			}
		})
	}
}

// TestDeliverSlackTimeoutIsResolvedOnRetry: a post that timed out is
// unknown; the task waits until it cannot be in flight, then looks.
func TestDeliverSlackTimeoutIsResolvedOnRetry(t *testing.T) {
	s, _ := miniStore(t)
	msgs := messages(1, notify.Slack)
	snd := &findingSender{}
	snd.fail = map[string]error{msgs[0].To: fmt.Errorf("timed out: %w", notify.ErrOutcomeUnknown)}
	d := newDeliverer(s, snd)
	d.Channel = notify.Slack
	now := t0
	d.Now = func() time.Time { return now }
	err := d.Deliver(context.Background(), "task-1", msgs)
	if later, ok := errors.AsType[*RetryLater](err); !ok || later.After != DefaultInFlight {
		t.Fatalf("Deliver = %v, want a RetryLater of %v", err, DefaultInFlight)
	}
	snd.mu.Lock()
	snd.fail = nil
	snd.mu.Unlock()
	now = t0.Add(DefaultInFlight)
	if err := d.Deliver(context.Background(), "task-1", msgs); err != nil {
		t.Fatal(err)
	}
	if snd.count(msgs[0].LedgerKey) != 1 || entryStatus(t, s, msgs[0].LedgerKey).Status != store.StatusSent {
		t.Fatal("the timed-out post was not looked for, then posted once")
	}
}

// TestDeadLetterOfAClaimedMessageIsUnknown: the task gave up after
// claiming a message and recording nothing: it may have gone out, so it
// is unknown, not dead.
func TestDeadLetterOfAClaimedMessageIsUnknown(t *testing.T) {
	ctx := context.Background()
	s, _ := miniStore(t)
	msgs := messages(2, notify.Email)
	claimAs(t, s, &msgs[0], "task-1", time.Now())
	d := newDeliverer(s, &recordingSender{})
	d.deadLetter(ctx, "task-1", DeliverPayload{Messages: msgs}, errors.New("8 retries"))
	if st := entryStatus(t, s, msgs[0].LedgerKey).Status; st != store.StatusUnknown {
		t.Errorf("claimed message: %s, want unknown", st)
	}
	if st := entryStatus(t, s, msgs[1].LedgerKey).Status; st != store.StatusDead {
		t.Errorf("unclaimed message: %s, want dead", st)
	}
	if _, err := s.Ledger.Message(ctx, msgs[0].LedgerKey); err != nil {
		t.Errorf("the unknown message is not kept: %v", err)
	}
	if counted(d, "unknown") != 1 || counted(d, "dead") != 1 {
		t.Errorf("counted unknown %d, dead %d; want 1 each", counted(d, "unknown"), counted(d, "dead"))
	}
}

// lostAnswerLedger writes the first claim but answers it with an error,
// as Redis does when it stalls after reading a command (SIGSTOP, a
// failover): the claim exists, its caller never learnt it.
type lostAnswerLedger struct {
	*store.Ledger
	lost atomic.Bool
}

func (l *lostAnswerLedger) MarkAndClaim(ctx context.Context, token string, at time.Time, marks []store.Mark, es []store.Entry, lease time.Duration, now time.Time) ([]bool, []store.ClaimResult, error) {
	ok, res, err := l.Ledger.MarkAndClaim(ctx, token, at, marks, es, lease, now)
	if err == nil && l.lost.CompareAndSwap(false, true) {
		return nil, nil, errors.New("read tcp 127.0.0.1:6379: i/o timeout")
	}
	return ok, res, err
}

func (l *lostAnswerLedger) Claim(ctx context.Context, e store.Entry, token string, lease time.Duration, now time.Time) (store.ClaimResult, error) {
	res, err := l.Ledger.Claim(ctx, e, token, lease, now)
	if err == nil && l.lost.CompareAndSwap(false, true) {
		return 0, errors.New("read tcp 127.0.0.1:6379: i/o timeout")
	}
	return res, err
}

// TestClaimWhoseAnswerWasLostIsGivenBack: the claim was written but its
// answer lost, so nothing was sent: it is given back, and the task's retry
// sends the email instead of leaving it unknown. A claim the same task
// made earlier (whose send may have gone out) is not given back.
func TestClaimWhoseAnswerWasLostIsGivenBack(t *testing.T) {
	ctx := context.Background()
	s, _ := miniStore(t)
	snd := &recordingSender{}
	d := newDeliverer(s, snd)
	d.Ledger = &lostAnswerLedger{Ledger: s.Ledger}
	msgs := messages(1, notify.Email)
	if err := d.Deliver(ctx, "task-1", msgs); err == nil {
		t.Fatal("want the claim's error")
	}
	if e := entryStatus(t, s, msgs[0].LedgerKey); e.Status != store.StatusFailed || snd.count(msgs[0].LedgerKey) != 0 {
		t.Fatalf("after a lost claim answer: %s (%q), sent %d; want failed and not sent", e.Status, e.Error, snd.count(msgs[0].LedgerKey))
	}
	if err := d.Deliver(ctx, "task-1", msgs); err != nil || snd.count(msgs[0].LedgerKey) != 1 {
		t.Fatalf("retry: %v, sent %d; want sent once", err, snd.count(msgs[0].LedgerKey))
	}

	// An earlier claim of the same token is not this call's to give back.
	other := messages(2, notify.Email)[1:]
	claimAs(t, s, &other[0], "task-2", time.Now().Add(-time.Second))
	if ok, err := s.Ledger.Unclaim(ctx, other[0].LedgerKey, "task-2", time.Now(), "lost"); ok || err != nil {
		t.Fatalf("Unclaim of an earlier claim = %v, %v; want nothing given back", ok, err)
	}
}
