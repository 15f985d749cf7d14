package workers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// channelPauseReader is the part of the store the paused-channel gauge
// reads.
type channelPauseReader interface {
	ChannelPause(ctx context.Context, channel string) (store.ChannelPause, bool, error)
}

// channelPauses exports crmsync_channel_paused. A deliverer sets the gauge
// when it finds its channel paused or not; once ReadChannelPauses is
// called, every scrape first reads the pauses from the store (at most once
// per scrapeTTL), so that every process exports the pause, even one that
// delivered nothing since the channel was paused or resumed.
type channelPauses struct {
	vec *prometheus.GaugeVec

	mu       sync.Mutex
	store    channelPauseReader
	channels []notify.Channel
	log      *slog.Logger
	cache    scrapeCache[map[notify.Channel]bool]
}

func newChannelPauses(vec *prometheus.GaugeVec) *channelPauses {
	return &channelPauses{vec: vec, cache: scrapeCache[map[notify.Channel]bool]{ttl: scrapeTTL}}
}

// ReadChannelPauses makes crmsync_channel_paused read the pauses of
// channels from p at each scrape.
func (m *Metrics) ReadChannelPauses(p channelPauseReader, log *slog.Logger, channels ...notify.Channel) {
	c := m.pauses
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store, c.channels, c.log = p, channels, log
}

// Describe implements prometheus.Collector.
func (c *channelPauses) Describe(ch chan<- *prometheus.Desc) { c.vec.Describe(ch) }

// Collect implements prometheus.Collector.
func (c *channelPauses) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	st, channels, log := c.store, c.channels, c.log
	c.mu.Unlock()
	if st != nil {
		paused, err := c.cache.get(func() (map[notify.Channel]bool, error) { return readPauses(st, channels) })
		if err != nil {
			log.Warn("channel pause metrics unavailable", "err", err)
		}
		for _, name := range channels {
			if err == nil {
				c.vec.WithLabelValues(string(name)).Set(b2f(paused[name]))
			}
		}
	}
	c.vec.Collect(ch)
}

func readPauses(st channelPauseReader, channels []notify.Channel) (map[notify.Channel]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := make(map[notify.Channel]bool, len(channels))
	for _, name := range channels {
		_, paused, err := st.ChannelPause(ctx, string(name))
		if err != nil {
			return nil, err
		}
		out[name] = paused
	}
	return out, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
