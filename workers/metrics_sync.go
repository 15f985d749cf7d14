package workers

import (
	"context"
	"errors"
	"time"

	"github.com/crmsync/crmsync/connectors"
)

// SyncDone records a completed sync of source that started at started.
func (m *Metrics) SyncDone(source string, started time.Time) {
	m.SyncDuration.WithLabelValues(source, "ok").Observe(time.Since(started).Seconds())
}

// SyncFailed records a sync of source, started at started, that ended
// early with err: a stop (the CRM's allocation spent) counts in
// crmsync_sync_stops_total, anything else in crmsync_sync_failures_total
// with its reason (syncFailure).
func (m *Metrics) SyncFailed(source string, started time.Time, err error) {
	d := time.Since(started).Seconds()
	if _, ok := connectors.AsStop(err); ok {
		m.SyncStops.WithLabelValues(source).Inc()
		m.SyncDuration.WithLabelValues(source, "stopped").Observe(d)
		return
	}
	m.SyncFailures.WithLabelValues(source, syncFailure(err)).Inc()
	m.SyncDuration.WithLabelValues(source, "failed").Observe(d)
}

// syncFailure names why a sync failed, from a short fixed list so that
// the label stays bounded: "auth" (the CRM refused the credentials),
// "canceled" (a shutdown, a lost lock, a deadline), "error" (anything
// else: the CRM, the network, Redis).
func syncFailure(err error) string {
	switch {
	case errors.Is(err, connectors.ErrAuth):
		return "auth"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}
