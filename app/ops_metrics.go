package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/workers"
)

// opsCollectors are the gauges read from Redis when Prometheus scrapes,
// so that every process exports the same figures: each source's sync
// state, each queue's tasks and latency, and the flags firing at the last
// pass. Call it once the inspector is set.
func (a *App) opsCollectors() []prometheus.Collector {
	rules := make([]string, len(a.Rules.Rules))
	for i, r := range a.Rules.Rules {
		rules[i] = r.Name
	}
	return []prometheus.Collector{
		newSourceCollector(a),
		workers.NewQueueCollector(a.inspector, a.ns(), a.log),
		workers.NewFlagsCollector(a.Store.Passes, rules, a.log),
	}
}

// channels lists the delivery channels this deployment sends to.
func (a *App) channels() []notify.Channel {
	var out []notify.Channel
	for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
		if a.senders[ch] != nil {
			out = append(out, ch)
		}
	}
	return out
}
