package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// Health is the detail /readyz (and /healthz?detail=1 or ?verbose=1)
// answers: what an operator needs to tell why no pass ran, or why
// messages wait.
type Health struct {
	// Status is "ok"; "degraded" when a source is stale, failing or
	// paused, or a channel is paused (the process still serves: 200);
	// "unavailable" when Redis does not answer (503).
	Status   string          `json:"status"`
	Redis    RedisHealth     `json:"redis"`
	Sources  []SourceHealth  `json:"sources"`
	Passes   PassHealth      `json:"passes"`
	Channels []ChannelHealth `json:"channels"`
}

// RedisHealth is how Redis answered a PING.
type RedisHealth struct {
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// SourceHealth is one source's state.
type SourceHealth struct {
	Name  string    `json:"name"`
	Ready bool      `json:"ready"` // its first full sync committed
	Since time.Time `json:"ready_since,omitzero"`
	// FullSync is the full sync in progress (first, --full or resumed),
	// which holds passes back; nil when none.
	FullSync     *FullSyncHealth `json:"full_sync,omitempty"`
	Running      time.Time       `json:"running_since,omitzero"` // a sync running (or interrupted) since
	LockHolder   string          `json:"lock_holder,omitempty"`  // the live process syncing it
	LastSuccess  time.Time       `json:"last_success,omitzero"`  // end of its last completed sync
	LastError    string          `json:"last_error,omitempty"`
	FailingSince time.Time       `json:"failing_since,omitzero"`
	Stale        bool            `json:"stale"`
	StaleAfter   string          `json:"stale_after"`           // the source's stale_after
	PausedUntil  time.Time       `json:"paused_until,omitzero"` // the CRM asked to wait
	PauseReason  string          `json:"pause_reason,omitempty"`
}

// FullSyncHealth is a full sync in progress.
type FullSyncHealth struct {
	Kind     string             `json:"kind"` // "first" or "full"
	Since    time.Time          `json:"since"`
	Progress store.SyncProgress `json:"progress"`
}

// PassHealth says what evaluation passes are doing.
type PassHealth struct {
	Lock          string           `json:"lock,omitempty"` // the pass running now
	LockExpiresIn string           `json:"lock_expires_in,omitempty"`
	Deferred      *json.RawMessage `json:"deferred,omitempty"` // the pass waiting for a sync
	LastPass      string           `json:"last_pass,omitempty"`
	LastSuccess   time.Time        `json:"last_success,omitzero"` // when the last pass completed
}

// health gathers the detail of /readyz. When Redis does not answer, it
// says so and reads nothing else.
func (a *App) health(ctx context.Context) (*Health, error) {
	h := &Health{Status: "ok", Redis: a.pingRedis(ctx)}
	if !h.Redis.OK {
		h.Status = statusUnavailable
		return h, nil
	}
	var err error
	if h.Sources, err = a.sourceHealth(ctx); err != nil {
		return nil, err
	}
	if h.Passes, err = a.passHealth(ctx); err != nil {
		return nil, err
	}
	if h.Channels, err = a.channelHealth(ctx); err != nil {
		return nil, err
	}
	for _, s := range h.Sources {
		if s.Stale || !s.FailingSince.IsZero() || !s.PausedUntil.IsZero() {
			h.Status = "degraded"
		}
	}
	for _, c := range h.Channels {
		if c.Paused {
			h.Status = "degraded"
		}
	}
	return h, nil
}

func (a *App) sourceHealth(ctx context.Context) ([]SourceHealth, error) {
	g := a.gate()
	states, err := a.Store.Syncs.SyncStates(ctx, g.Sources)
	if err != nil {
		return nil, err
	}
	out := make([]SourceHealth, len(states))
	for i, st := range states {
		s := SourceHealth{
			Name: st.Source, Ready: !st.Ready.IsZero(), Since: st.Ready, Running: st.Running,
			LastSuccess: st.LastSuccessEnd, LastError: st.LastError, FailingSince: st.FailingSince,
			Stale: st.Stale(time.Now(), g.StaleAfter[i]), StaleAfter: g.StaleAfter[i].String(),
		}
		if !st.FullSince.IsZero() {
			s.FullSync = &FullSyncHealth{Kind: st.FullKind, Since: st.FullSince, Progress: st.Progress}
		}
		if s.LockHolder, err = a.Store.Syncs.SyncLockHolder(ctx, st.Source); err != nil {
			return nil, err
		}
		if until, reason, ok, err := a.Store.Syncs.SourcePause(ctx, st.Source); err != nil {
			return nil, err
		} else if ok {
			s.PausedUntil, s.PauseReason = until, reason
		}
		out[i] = s
	}
	return out, nil
}

func (a *App) passHealth(ctx context.Context) (PassHealth, error) {
	var p PassHealth
	holder, ttl, err := a.Store.Passes.PassLock(ctx)
	if err != nil {
		return p, err
	}
	if holder != "" {
		p.Lock, p.LockExpiresIn = holder, ttl.Round(time.Second).String()
	}
	if d, err := a.Store.Passes.DeferredPass(ctx); err != nil {
		return p, err
	} else if d != nil {
		raw := json.RawMessage(d)
		p.Deferred = &raw
	}
	pass, data, err := a.Store.Passes.LatestReport(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	var rep workers.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return p, fmt.Errorf("report of pass %s: %w", pass, err)
	}
	p.LastPass, p.LastSuccess = pass, rep.StartedAt.Add(rep.Duration)
	return p, nil
}

// serveHealth answers /healthz: "ok" when Redis answers (for liveness
// probes: one PING), and with ?detail=1 or ?verbose=1 the Health document
// of /readyz, which needs the admin token when one is set.
func (a *App) serveHealth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("detail") != "" || q.Get("verbose") != "" {
		a.admin(http.HandlerFunc(a.serveReady)).ServeHTTP(w, r)
		return
	}
	if err := a.Store.Redis().Ping(r.Context()).Err(); err != nil {
		http.Error(w, "redis: unreachable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// sourceCollector exports each source's sync state when Prometheus
// scrapes: ready, stale, full sync running, last success.
type sourceCollector struct {
	a                                    *App
	ready, stale, full, failing, success *prometheus.Desc
}

func newSourceCollector(a *App) *sourceCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"source"}, nil)
	}
	return &sourceCollector{
		a:       a,
		ready:   desc("crmsync_source_ready", "1 once the source's first full sync has committed."),
		stale:   desc("crmsync_source_stale", "1 when the source has gone longer than its stale_after without a completed sync."),
		full:    desc("crmsync_source_full_sync_running", "1 while a full sync of the source (first, --full or resumed) has not committed: passes wait for it."),
		failing: desc("crmsync_source_failing", "1 when the source's last sync failed."),
		success: desc("crmsync_source_last_success_timestamp_seconds", "Unix time at which the source's last completed sync ended."),
	}
}

// Describe implements prometheus.Collector.
func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.ready, c.stale, c.full, c.failing, c.success} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g := c.a.gate()
	states, err := c.a.Store.Syncs.SyncStates(ctx, g.Sources)
	if err != nil {
		c.a.log.Warn("source metrics unavailable", "err", err)
		return
	}
	for i, st := range states {
		gauge := func(d *prometheus.Desc, v bool) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, b2f(v), st.Source)
		}
		gauge(c.ready, !st.Ready.IsZero())
		gauge(c.stale, st.Stale(time.Now(), g.StaleAfter[i]))
		gauge(c.full, !st.FullSince.IsZero())
		gauge(c.failing, !st.FailingSince.IsZero())
		if !st.LastSuccessEnd.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.success, prometheus.GaugeValue, float64(st.LastSuccessEnd.UnixMilli())/1000, st.Source)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
