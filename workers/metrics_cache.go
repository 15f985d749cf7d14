package workers

import (
	"sync"
	"time"
)

// scrapeTTL is how long the collectors that read Redis at scrape time keep
// what they read: scrapes from several Prometheus servers, or a dashboard
// refreshing, cost one read per scrapeTTL.
const scrapeTTL = 5 * time.Second

// scrapeCache keeps the last value a collector loaded for ttl. Loads are
// serialised: concurrent scrapes wait for one load rather than each
// reading Redis. Errors are not kept.
type scrapeCache[T any] struct {
	ttl time.Duration

	mu sync.Mutex
	at time.Time
	v  T
}

// get returns the value loaded less than ttl ago, or loads it.
func (c *scrapeCache[T]) get(load func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < c.ttl {
		return c.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.v, c.at = v, time.Now()
	return v, nil
}
