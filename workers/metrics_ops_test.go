package workers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// gathered returns the value of the gauge, counter or histogram count
// name{labels} in reg, and whether reg has it.
func gathered(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				switch {
				case m.Gauge != nil:
					return m.GetGauge().GetValue(), true
				case m.Counter != nil:
					return m.GetCounter().GetValue(), true
				case m.Histogram != nil:
					return float64(m.GetHistogram().GetSampleCount()), true
				}
			}
		}
	}
	return 0, false
}

// hasLabels reports whether m has every name=value pair of labels.
func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestQueueCollectorReadsTheInspectorOnScrape(t *testing.T) {
	rdb := redistest.Client(t)
	ns := Namespace(redistest.Namespace(t))
	client := asynq.NewClientFromRedisClient(rdb)
	in := asynq.NewInspectorFromRedisClient(rdb)
	for i := range 3 {
		task, err := NewSyncTask(ns, SyncPayload{Source: fmt.Sprint("crm", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Enqueue(task); err != nil {
			t.Fatal(err)
		}
	}
	later, _ := NewSyncTask(ns, SyncPayload{Source: "later"}, asynq.ProcessIn(time.Hour))
	if _, err := client.Enqueue(later); err != nil {
		t.Fatal(err)
	}
	dead, _ := NewSyncTask(ns, SyncPayload{Source: "dead"}, ns.TaskID("dead"))
	if _, err := client.Enqueue(dead); err != nil {
		t.Fatal(err)
	}
	if err := in.ArchiveTask(ns.Queue(QueueSync), string(ns)+":dead"); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	c := NewQueueCollector(in, ns, testLogger())
	reg.MustRegister(c)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"crmsync_queue_tasks", []string{"queue", "sync", "state", "pending"}, 3},
		{"crmsync_queue_tasks", []string{"queue", "sync", "state", "scheduled"}, 1},
		{"crmsync_queue_tasks", []string{"queue", "sync", "state", "archived"}, 1},
		{"crmsync_queue_tasks", []string{"queue", "sync", "state", "active"}, 0},
		{"crmsync_queue_tasks", []string{"queue", "email", "state", "pending"}, 0}, // never used: zeros
		{"crmsync_queue_latency_seconds", []string{"queue", "email"}, 0},
	}
	for _, tt := range tests {
		if got, ok := gathered(t, reg, tt.name, tt.labels...); !ok || got != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if got, _ := gathered(t, reg, "crmsync_queue_latency_seconds", "queue", "sync"); got <= 0 {
		t.Errorf("latency of a queue with pending tasks = %v, want > 0", got)
	}

	// Within the cache's life, a scrape does not read Redis again.
	c.(*queueCollector).cache.ttl = time.Hour
	task, _ := NewSyncTask(ns, SyncPayload{Source: "one more"})
	if _, err := client.Enqueue(task); err != nil {
		t.Fatal(err)
	}
	if got, _ := gathered(t, reg, "crmsync_queue_tasks", "queue", "sync", "state", "pending"); got != 3 {
		t.Errorf("pending within the cache's life = %v, want the 3 read before", got)
	}
}

func TestFlagsCollectorReadsTheLastReport(t *testing.T) {
	ctx := context.Background()
	s := store.New(redistest.Client(t), redistest.Namespace(t))
	reg := prometheus.NewRegistry()
	c := NewFlagsCollector(s.Passes, []string{"quiet", "at-risk"}, testLogger())
	reg.MustRegister(c)
	if _, ok := gathered(t, reg, "crmsync_flags_firing", "rule", "quiet"); ok {
		t.Error("flags firing exported before any pass")
	}
	started := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	rep := fmt.Appendf(nil, `{"pass":"p1","started_at":%q,"duration":%d,"flags":{"quiet":7,"gone":2}}`, started.Format(time.RFC3339), 2*time.Second)
	if err := s.Passes.SaveReport(ctx, "p1", rep); err != nil {
		t.Fatal(err)
	}
	c.(*flagsCollector).cache.at = time.Time{} // the cache's life is over
	for rule, want := range map[string]float64{"quiet": 7, "at-risk": 0} {
		if got, ok := gathered(t, reg, "crmsync_flags_firing", "rule", rule); !ok || got != want {
			t.Errorf("crmsync_flags_firing{rule=%q} = %v (found %v), want %v", rule, got, ok, want)
		}
	}
	if _, ok := gathered(t, reg, "crmsync_flags_firing", "rule", "gone"); ok {
		t.Error("a rule no longer configured is exported")
	}
	want := float64(started.Add(2 * time.Second).Unix())
	if got, _ := gathered(t, reg, "crmsync_flags_pass_timestamp_seconds"); got != want {
		t.Errorf("pass timestamp = %v, want %v", got, want)
	}
}

func TestChannelPausedReadsTheStoreOnScrape(t *testing.T) {
	ctx := context.Background()
	s := store.New(redistest.Client(t), redistest.Namespace(t))
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.ReadChannelPauses(s.Ledger, testLogger(), notify.Email, notify.Slack)
	// Another process paused Slack: this one never delivered since.
	if _, err := s.Ledger.PauseChannel(ctx, "slack", "invalid_auth", time.Now()); err != nil {
		t.Fatal(err)
	}
	for ch, want := range map[string]float64{"email": 0, "slack": 1} {
		if got, ok := gathered(t, reg, "crmsync_channel_paused", "channel", ch); !ok || got != want {
			t.Errorf("crmsync_channel_paused{channel=%q} = %v (found %v), want %v", ch, got, ok, want)
		}
	}
	m.pauses.cache.at = time.Time{} // the cache's life is over
	if _, err := s.Ledger.ResumeChannel(ctx, "slack"); err != nil {
		t.Fatal(err)
	}
	if got, _ := gathered(t, reg, "crmsync_channel_paused", "channel", "slack"); got != 0 {
		t.Errorf("crmsync_channel_paused{channel=slack} after the resume = %v, want 0", got)
	}
}

func TestSyncMetricsByOutcome(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		metric string
		labels []string
		dur    string
	}{
		{"completed", nil, "", nil, "ok"},
		{"stopped", fmt.Errorf("pull: %w", &connectors.StopError{Reason: "daily limit"}), "crmsync_sync_stops_total", []string{"source", "crm"}, "stopped"},
		{"auth", fmt.Errorf("pull: %w", connectors.ErrAuth), "crmsync_sync_failures_total", []string{"source", "crm", "reason", "auth"}, "failed"},
		{"shutdown", fmt.Errorf("pull: %w", context.Canceled), "crmsync_sync_failures_total", []string{"source", "crm", "reason", "canceled"}, "failed"},
		{"crm down", errors.New("hubspot: 503"), "crmsync_sync_failures_total", []string{"source", "crm", "reason", "error"}, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			if tt.err == nil {
				m.SyncDone("crm", time.Now().Add(-time.Second))
			} else {
				m.SyncFailed("crm", time.Now().Add(-time.Second), tt.err)
				if got, _ := gathered(t, reg, tt.metric, tt.labels...); got != 1 {
					t.Errorf("%s%v = %v, want 1", tt.metric, tt.labels, got)
				}
			}
			if got, _ := gathered(t, reg, "crmsync_sync_duration_seconds", "source", "crm", "outcome", tt.dur); got != 1 {
				t.Errorf("syncs observed with outcome %s = %v, want 1", tt.dur, got)
			}
		})
	}
}

func TestSyncerRecordsFailuresAndCompletions(t *testing.T) {
	ctx := context.Background()
	s := store.New(redistest.Client(t), redistest.Namespace(t))
	reg := prometheus.NewRegistry()
	conn := &pagedConnector{n: 3, failAt: 2}
	y := &Syncer{Sources: map[string]connectors.Connector{"crm": conn}, Records: s.Records, Syncs: s.Syncs, Metrics: NewMetrics(reg), Logger: testLogger()}
	if _, err := y.Sync(ctx, "crm", false); err == nil {
		t.Fatal("want the connector's error")
	}
	conn.failAt = 0
	if _, err := y.Sync(ctx, "crm", false); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		labels []string
	}{
		{"crmsync_sync_failures_total", []string{"source", "crm", "reason", "error"}},
		{"crmsync_sync_duration_seconds", []string{"source", "crm", "outcome", "failed"}},
		{"crmsync_sync_duration_seconds", []string{"source", "crm", "outcome", "ok"}},
	} {
		if got, _ := gathered(t, reg, tt.name, tt.labels...); got != 1 {
			t.Errorf("%s%v = %v, want 1", tt.name, tt.labels, got)
		}
	}
}
