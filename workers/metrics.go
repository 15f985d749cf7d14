package workers

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the counters the handlers keep, exported for Prometheus.
type Metrics struct {
	SyncRecords     *prometheus.CounterVec // source, entity
	SyncRejects     *prometheus.CounterVec // source
	SyncPages       *prometheus.CounterVec // source
	SyncDeleted     *prometheus.CounterVec // source
	SyncRequests    *prometheus.CounterVec // source, status ("2xx", "429", "5xx", "error")
	SyncWaits       *prometheus.CounterVec // source
	SyncWaitSeconds *prometheus.CounterVec // source
	Flags           *prometheus.CounterVec // rule
	Skipped         *prometheus.CounterVec // rule, reason
	Messages        *prometheus.CounterVec // channel, outcome (sent, written (outbox), duplicate, retry, rejected, dead, unknown, found, unresolved, paused, …)
	ChannelPaused   *prometheus.GaugeVec   // channel: 1 while its credentials are refused (read from the store at each scrape after ReadChannelPauses)
	PassDuration    prometheus.Histogram
	PassesHeld      *prometheus.CounterVec // reason ("running", "waiting_for_sync"), source
	LastPass        prometheus.Gauge       // Unix time of the last pass that completed
	LocksReleased   *prometheus.CounterVec // lock ("pass", "sync"): locks of dead holders taken over

	// Sync outcomes, recorded by SyncDone and SyncFailed.
	SyncDuration *prometheus.HistogramVec // source, outcome ("ok", "stopped", "failed")
	SyncFailures *prometheus.CounterVec   // source, reason ("auth", "canceled", "error")
	SyncStops    *prometheus.CounterVec   // source: the CRM asked to stop (allocation spent)

	pauses *channelPauses // the collector exporting ChannelPaused
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	paused := newChannelPauses(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmsync_channel_paused",
		Help: "1 while a delivery channel is paused because its credentials were refused."}, []string{"channel"}))
	if reg != nil {
		reg.MustRegister(paused)
	}
	return &Metrics{
		SyncRecords:     f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_sync_records_total", Help: "Records stored by syncs."}, []string{"source", "entity"}),
		SyncRejects:     f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_sync_rejects_total", Help: "CRM records set aside because they could not be mapped."}, []string{"source"}),
		SyncPages:       f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_sync_pages_total", Help: "Pages stored by syncs."}, []string{"source"}),
		SyncDeleted:     f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_sync_deleted_total", Help: "Records removed because the CRM deleted or merged them."}, []string{"source"}),
		SyncRequests:    f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_sync_requests_total", Help: "HTTP requests sent to CRMs, by status class."}, []string{"source", "status"}),
		SyncWaits:       f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_sync_waits_total", Help: "Rate-limit and retry waits of syncs."}, []string{"source"}),
		SyncWaitSeconds: f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_sync_wait_seconds_total", Help: "Time syncs spent waiting for rate limits and retries."}, []string{"source"}),
		Flags:           f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_flags_total", Help: "Accounts flagged, per rule."}, []string{"rule"}),
		Skipped:         f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_messages_skipped_total", Help: "Messages not sent because a safety rail held them back."}, []string{"rule", "reason"}),
		Messages:        f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_messages_total", Help: "Messages by channel and outcome."}, []string{"channel", "outcome"}),
		ChannelPaused:   paused.vec,
		pauses:          paused,
		SyncDuration: f.NewHistogramVec(prometheus.HistogramOpts{Name: "crmsync_sync_duration_seconds",
			Help:    "Duration of syncs, by outcome: ok (completed), stopped (the CRM asked to stop), failed.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14)}, []string{"source", "outcome"}),
		SyncFailures: f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_sync_failures_total",
			Help: "Syncs that failed, by reason: auth (credentials refused: the source waits for a config fix), canceled (shutdown or lost lock), error."},
			[]string{"source", "reason"}),
		SyncStops: f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_sync_stops_total",
			Help: "Syncs the CRM stopped early (its API allocation spent): the source is paused until the CRM's resume time."}, []string{"source"}),
		PassesHeld: f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_evaluate_passes_held_total",
			Help: "Evaluation passes that did not run when due: another pass was running, or a source's first or full sync had not committed (source says which)."},
			[]string{"reason", "source"}),
		LastPass: f.NewGauge(prometheus.GaugeOpts{Name: "crmsync_evaluate_last_success_timestamp_seconds",
			Help: "Unix time at which the last evaluation pass completed."}),
		LocksReleased: f.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_locks_released_total",
			Help: "Locks taken over because their holder was dead."}, []string{"lock"}),
		PassDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name: "crmsync_evaluate_pass_seconds", Help: "Duration of evaluation passes.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
	}
}
