package workers

import (
	"log/slog"
	"slices"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// queueStats is the part of asynq's Inspector the queue metrics read.
type queueStats interface {
	Queues() ([]string, error)
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
}

// queueStates are the task states crmsync_queue_tasks reports; archived
// tasks are dead: their retries are spent (the ops page lists them).
var queueStates = []string{"pending", "active", "scheduled", "retry", "archived"}

// queueCollector exports the size and latency of the deployment's asynq
// queues, read from the Inspector when Prometheus scrapes (at most once
// per scrapeTTL), not by a polling goroutine.
type queueCollector struct {
	in    queueStats
	ns    Namespace
	log   *slog.Logger
	cache scrapeCache[[]asynq.QueueInfo]

	tasks, latency *prometheus.Desc
}

// NewQueueCollector returns the collector of the namespace's queues:
// crmsync_queue_tasks{queue,state} and crmsync_queue_latency_seconds{queue}.
// Queue labels drop the namespace ("email", "slack", "evaluate", "sync").
// A queue nothing was ever put in reports zeros.
func NewQueueCollector(in queueStats, ns Namespace, log *slog.Logger) prometheus.Collector {
	return &queueCollector{
		in: in, ns: ns, log: log, cache: scrapeCache[[]asynq.QueueInfo]{ttl: scrapeTTL},
		tasks: prometheus.NewDesc("crmsync_queue_tasks",
			"Tasks in a queue by state: pending, active, scheduled, retry, archived (dead: retries spent).",
			[]string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("crmsync_queue_latency_seconds",
			"Age of the oldest pending task of a queue: how long the next task has waited.", []string{"queue"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tasks
	ch <- c.latency
}

// Collect implements prometheus.Collector.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	infos, err := c.cache.get(c.load)
	if err != nil {
		c.log.Warn("queue metrics unavailable", "err", err)
		return
	}
	for _, q := range infos {
		name := strings.TrimPrefix(q.Queue, string(c.ns)+":")
		counts := []int{q.Pending, q.Active, q.Scheduled, q.Retry, q.Archived}
		for i, state := range queueStates {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(counts[i]), name, state)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, q.Latency.Seconds(), name)
	}
}

// load reads every queue of the namespace; one that does not exist yet
// is empty.
func (c *queueCollector) load() ([]asynq.QueueInfo, error) {
	existing, err := c.in.Queues()
	if err != nil {
		return nil, err
	}
	var out []asynq.QueueInfo
	for _, q := range c.ns.Queues() {
		if !slices.Contains(existing, q) {
			out = append(out, asynq.QueueInfo{Queue: q})
			continue
		}
		info, err := c.in.GetQueueInfo(q)
		if err != nil {
			return nil, err
		}
		out = append(out, *info)
	}
	return out, nil
}
