package slack

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/slackfake"
	"github.com/crmsync/crmsync/notify"
)

func TestSharedPacerTurns(t *testing.T) {
	tests := []struct {
		name      string
		every     time.Duration
		hold      time.Duration // after the first turn, as a 429 would
		wantWait  time.Duration // of the second turn, about
		wantAfter time.Duration // of the refused second and third turns, about
	}{
		{name: "the second post waits its turn", every: time.Second, wantWait: time.Second},
		{name: "a turn more than 2s away is refused and not taken", every: 5 * time.Second, wantAfter: 5 * time.Second},
		{name: "a 429 holds the channel for its retry-after", every: time.Millisecond, hold: 7 * time.Second, wantAfter: 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb, ns := redistest.Client(t), redistest.Namespace(t)
			p := &sharedPacer{rdb: rdb, prefix: ns + ":slack-pace:", every: tt.every}
			if d, err := p.reserve(t.Context(), "C0KEY"); d != 0 || err != nil {
				t.Fatalf("first turn: %s, %v, want now", d, err)
			}
			if tt.hold > 0 {
				if err := p.hold(t.Context(), "C0KEY", tt.hold); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 2 {
				d, err := p.reserve(t.Context(), "C0KEY")
				checkTurn(t, d, err, tt.wantWait, tt.wantAfter)
				if tt.wantWait > 0 && i == 0 {
					tt.wantWait *= 2 // the first one was taken
				}
			}
			if d, err := p.reserve(t.Context(), "C0OTHER"); d != 0 || err != nil {
				t.Errorf("other channel: %s, %v, want now", d, err)
			}
			if ttl := rdb.PTTL(t.Context(), ns+":slack-pace:C0KEY").Val(); ttl <= 0 || ttl > 3*tt.every+tt.hold+time.Second {
				t.Errorf("pace key ttl = %s", ttl)
			}
		})
	}
}

// checkTurn checks a turn: a wait of about wantWait (within 300ms), or a
// *notify.RateLimitError of about wantAfter.
func checkTurn(t *testing.T, d time.Duration, err error, wantWait, wantAfter time.Duration) {
	t.Helper()
	var limited *notify.RateLimitError
	switch {
	case wantAfter > 0:
		if !errors.As(err, &limited) || limited.Scope != "C0KEY" || limited.After <= wantAfter-300*time.Millisecond || limited.After > wantAfter {
			t.Errorf("turn: %s, %v, want a RateLimitError of about %s", d, err, wantAfter)
		}
	case err != nil || d <= wantWait-300*time.Millisecond || d > wantWait:
		t.Errorf("turn: %s, %v, want a wait of about %s", d, err, wantWait)
	}
}

// newProcess returns a Sender talking to f as a crmsync process of its
// own would: its own HTTP client and, when shared, its own Redis
// connection to the pace of namespace ns.
func newProcess(tb testing.TB, f *slackfake.Server, every time.Duration, shared bool, ns string) *Sender {
	tb.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	tb.Cleanup(client.CloseIdleConnections)
	s, err := NewSender(SenderConfig{Token: fakeToken, BaseURL: f.URL(), Timeout: 5 * time.Second, PerChannelEvery: every}, client)
	if err != nil {
		tb.Fatal(err)
	}
	if shared {
		s.SharePacing(redistest.Client(tb), ns)
	}
	return s
}

func TestSendersSharePace(t *testing.T) {
	tests := []struct {
		name      string
		every     time.Duration
		limit     time.Duration // Retry-After of a 429 to the first post, 0 for none
		wantAfter time.Duration
	}{
		{name: "a post by one process takes the turn of the other", every: 5 * time.Second, wantAfter: 5 * time.Second},
		{name: "a 429 to one process holds the other", every: time.Millisecond, limit: 7 * time.Second, wantAfter: 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			ns := redistest.Namespace(t)
			a, b := newProcess(t, f, tt.every, true, ns), newProcess(t, f, tt.every, true, ns)
			if tt.limit > 0 {
				f.SetRateLimit("C0KEY", tt.limit)
			}
			err := a.Send(t.Context(), message("C0KEY", "first"))
			if limited := new(notify.RateLimitError); (tt.limit > 0) != errors.As(err, &limited) {
				t.Fatalf("first send: %v", err)
			}
			err = b.Send(t.Context(), message("C0KEY", "second"))
			checkTurn(t, 0, err, 0, tt.wantAfter)
			if n := f.Attempts("C0KEY"); n != 1 {
				t.Errorf("chat.postMessage calls to C0KEY = %d, want 1: the other process waits its turn", n)
			}
			if err := b.Send(t.Context(), message("C0OTHER", "other")); err != nil {
				t.Errorf("other channel: %v", err)
			}
		})
	}
}

// windowEnv sets the window of TestTwoProcessesOneChannel's Slack: "1s"
// runs it at Slack's own pace (about 6 minutes).
const windowEnv = "CRMSYNC_SLACK_PACE_WINDOW"

// TestTwoProcessesOneChannel is issue 13's check: two processes posting
// 300 messages to one channel of a Slack that accepts one message per
// second per channel get fewer than 5% 429s, and every message arrives
// once. Time is scaled down ten times (a 100ms window, about 40s; see
// windowEnv) and the interval between turns with it (120ms): the margin
// (20ms) must still exceed how much later one post can reach Slack than
// the next, which a busy 2-CPU machine stretches to tens of ms now and
// then (at a 50ms window, 5% of posts got a 429 there).
func TestTwoProcessesOneChannel(t *testing.T) {
	window := slackfake.SlackPostEvery / 10
	if v := os.Getenv(windowEnv); v != "" {
		var err error
		if window, err = time.ParseDuration(v); err != nil || window <= 0 {
			t.Fatalf("%s=%q: want a positive duration", windowEnv, v)
		}
	}
	const messages, workers = 300, 4
	f := newFakeSlack(t)
	f.SetPostRate(window)
	f.SetRecording(false)
	every := window * DefaultPerChannelEvery / slackfake.SlackPostEvery
	took := postFromTwo(t, f, every, true, messages, workers)
	keys := f.Keys()
	for i := range messages {
		if n := keys[slackfake.Key{Channel: "C0KEY", Text: fmt.Sprint("message ", i)}]; n != 1 {
			t.Errorf("message %d arrived %d times, want once", i, n)
		}
	}
	limited := f.RateLimited("C0KEY")
	if len(keys) != messages || limited >= messages/20 {
		t.Errorf("%d distinct messages, %d answered 429; want %d, fewer than %d", len(keys), limited, messages, messages/20)
	}
	t.Logf("window %s, turns every %s: %d posts, %d answered 429, in %s", window, every, f.Attempts("C0KEY"), limited, took)
}

// postFromTwo posts n messages ("message <i>") to C0KEY through two
// processes (see newProcess) of workers goroutines each, taking the
// messages from one queue and waiting out rate limits as the queue would.
// It returns how long that took.
func postFromTwo(tb testing.TB, f *slackfake.Server, every time.Duration, shared bool, n, workers int) time.Duration {
	tb.Helper()
	ns := redistest.Namespace(tb)
	queue := make(chan int, n)
	for i := range n {
		queue <- i
	}
	close(queue)
	start := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		s := newProcess(tb, f, every, shared, ns)
		for range workers {
			wg.Go(func() {
				for i := range queue {
					if err := sendUntilDone(tb.Context(), s, message("C0KEY", fmt.Sprint("message ", i))); err != nil {
						tb.Errorf("message %d: %v", i, err)
					}
				}
			})
		}
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkTwoProcessesOneChannel measures the share of posts answered 429
// when two processes post to one channel of a Slack that accepts one
// message per second per channel, at Slack's own pace: before, each
// process paced its own posts one second apart; now they share the pace
// through Redis, DefaultPerChannelEvery apart. An op is 20 messages
// (about 24s).
func BenchmarkTwoProcessesOneChannel(b *testing.B) {
	const messages, workers = 20, 4
	tests := []struct {
		name   string
		every  time.Duration
		shared bool
	}{
		{name: "before:per-process-1s", every: time.Second},
		{name: "after:shared-1.2s", every: DefaultPerChannelEvery, shared: true},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			f := newFakeSlack(b)
			f.SetPostRate(slackfake.SlackPostEvery)
			f.SetRecording(false)
			for b.Loop() {
				postFromTwo(b, f, tt.every, tt.shared, messages, workers)
			}
			posts := f.Attempts("C0KEY")
			b.ReportMetric(float64(f.RateLimited("C0KEY"))/float64(posts), "429/post")
			b.ReportMetric(float64(f.Accepted())/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
