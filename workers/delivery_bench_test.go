package workers_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/workers"
)

// benchPass numbers passes across benchmark runs, which share a database
// within one benchmark: a message of an earlier run would not be resent.
var benchPass atomic.Int64

// BenchmarkDeliveryThroughput measures delivery through asynq on a real
// Redis to zero-latency fakes: each iteration enqueues a pass over 20,000
// flagged accounts (10,000 emails, 10,000 Slack nudges, once each; or
// only the emails, or only the nudges) and waits until the fakes received
// every message. It reports messages/s.
//
//	CRMSYNC_TEST_REDIS_URL=redis://127.0.0.1:6379 go test -run '^$' -bench DeliveryThroughput -benchtime 3x ./workers/
func BenchmarkDeliveryThroughput(b *testing.B) {
	for _, tt := range []struct {
		channels             string
		servers, concurrency int
	}{{"both", 2, 20}, {"both", 1, 40}, {"email", 2, 20}, {"slack", 2, 20}} {
		b.Run(fmt.Sprintf("%s/%dx%d", tt.channels, tt.servers, tt.concurrency), func(b *testing.B) {
			benchmarkThroughput(b, tt.channels, tt.servers, tt.concurrency)
		})
	}
}

// benchmarkThroughput measures the delivery of the messages of channels
// ("both", "email", "slack") by servers asynq servers of concurrency
// workers each. The senders keep an idle connection per worker, as
// notify/slack's default client does (with Go's default of 2, a fifth of
// the time went to dialing and closing connections to the fakes). The
// fakes are polled every 10 ms: counting what they received takes a lock
// they take on every request.
func benchmarkThroughput(b *testing.B, channels string, servers, concurrency int) {
	const accounts = 20_000
	r := newRig(b)
	r.idle = servers * concurrency
	r.email.SetRecording(false)
	r.slack.SetRecording(false)
	for range servers {
		r.startServer(b, concurrency)
	}
	b.ResetTimer()
	var busy time.Duration
	for range b.N {
		pass := fmt.Sprintf("bench-%d", benchPass.Add(1))
		emails, nudges := flagged(pass, accounts)
		moreEmails, moreNudges := flagged(pass+"-more", accounts) // the other half, for one channel only
		switch channels {
		case "email":
			emails, nudges = append(emails, moreEmails...), nil
		case "slack":
			emails, nudges = nil, append(nudges, moreNudges...)
		}
		want := r.email.Accepted() + r.slack.Accepted() + accounts
		start := time.Now()
		r.enqueue(b, b.Context(), notify.Email, pass, emails, 1)
		r.enqueue(b, b.Context(), notify.Slack, pass, nudges, 1)
		for r.email.Accepted()+r.slack.Accepted() < want {
			if time.Since(start) > 2*time.Minute {
				b.Fatalf("pass %s: %d of %d messages received after two minutes; %s", pass, r.email.Accepted()+r.slack.Accepted(), want, r.retrying(b))
			}
			time.Sleep(10 * time.Millisecond)
		}
		busy += time.Since(start)
	}
	b.ReportMetric(float64(b.N*accounts)/busy.Seconds(), "msgs/s")
	b.ReportMetric(float64(busy.Microseconds())/float64(b.N*accounts), "µs/msg")
}

// BenchmarkDeliverOverhead measures the per-message cost of
// Deliverer.Deliver on one batch of workers.BatchSize messages, called
// directly (no asynq), on a real Redis and through the real senders to the
// fakes: for an email, the suppression check, the frequency-cap history,
// the ledger claim, the SendGrid call and the mark-sent; for a nudge, the
// claim, the Slack call and the mark-sent. The fakes run in the process,
// so allocs include their side of each request.
func BenchmarkDeliverOverhead(b *testing.B) {
	for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
		b.Run(string(ch), func(b *testing.B) {
			r := newRig(b)
			r.email.SetRecording(false)
			r.slack.SetRecording(false)
			d := r.deliverer(b, ch, workers.NewMetrics(prometheus.NewRegistry()))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				emails, nudges := flagged(fmt.Sprintf("overhead-%d", benchPass.Add(1)), 2*workers.BatchSize)
				batch := map[notify.Channel][]notify.Message{notify.Email: emails, notify.Slack: nudges}[ch]
				if err := d.Deliver(b.Context(), fmt.Sprintf("task-%d", i), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*workers.BatchSize), "µs/msg")
		})
	}
}

// retrying says why the delivery tasks waiting for a retry failed.
func (r *rig) retrying(tb testing.TB) string {
	insp := asynq.NewInspectorFromRedisClient(r.rdb)
	var out []string
	for _, q := range []string{r.ns.Queue(workers.QueueEmail), r.ns.Queue(workers.QueueSlack)} {
		tasks, err := insp.ListRetryTasks(q, asynq.PageSize(3))
		if err != nil {
			return err.Error()
		}
		for _, t := range tasks {
			out = append(out, fmt.Sprintf("%s retry %d at %s: %s", t.ID, t.Retried, t.NextProcessAt.Format(time.TimeOnly), t.LastErr))
		}
	}
	return fmt.Sprintf("retrying: %q", out)
}
