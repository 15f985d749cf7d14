package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/store"
)

// latestReports is the part of the store the flags gauge reads.
type latestReports interface {
	LatestReport(ctx context.Context) (pass string, data []byte, err error)
}

// flagsCollector exports crmsync_flags_firing{rule}: the accounts for
// which each rule fired at the last completed pass, read from that pass's
// report when Prometheus scrapes (at most once per scrapeTTL). Every
// process exports the same figures, whichever ran the pass; it costs two
// GETs, where counting the rule's flag hash would read every flagged
// account.
type flagsCollector struct {
	reports latestReports
	rules   []string
	log     *slog.Logger
	cache   scrapeCache[*Report]

	firing, pass *prometheus.Desc
}

// NewFlagsCollector returns the collector of flags firing now, per rule
// of rules (0 for a rule that fired for no account), and of the time the
// last pass completed; nothing until a pass completed.
func NewFlagsCollector(reports latestReports, rules []string, log *slog.Logger) prometheus.Collector {
	return &flagsCollector{
		reports: reports, rules: rules, log: log, cache: scrapeCache[*Report]{ttl: scrapeTTL},
		firing: prometheus.NewDesc("crmsync_flags_firing",
			"Accounts for which the rule fired at the last completed pass (flags held by cooldowns, snoozes and limits included).",
			[]string{"rule"}, nil),
		pass: prometheus.NewDesc("crmsync_flags_pass_timestamp_seconds",
			"Unix time at which the pass that crmsync_flags_firing reports completed.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *flagsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.firing
	ch <- c.pass
}

// Collect implements prometheus.Collector.
func (c *flagsCollector) Collect(ch chan<- prometheus.Metric) {
	rep, err := c.cache.get(c.load)
	if err != nil {
		c.log.Warn("flag metrics unavailable", "err", err)
		return
	}
	if rep == nil {
		return
	}
	for _, r := range c.rules {
		ch <- prometheus.MustNewConstMetric(c.firing, prometheus.GaugeValue, float64(rep.Flags[r]), r)
	}
	end := rep.StartedAt.Add(rep.Duration)
	ch <- prometheus.MustNewConstMetric(c.pass, prometheus.GaugeValue, float64(end.UnixMilli())/1000)
}

// load reads the last pass's report; nil when no pass has completed.
func (c *flagsCollector) load() (*Report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pass, data, err := c.reports.LatestReport(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("report of pass %s: %w", pass, err)
	}
	return &rep, nil
}
