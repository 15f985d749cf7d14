package salesforce

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/crmsync/crmsync/connectors"
)

// allocation is the org's daily API allocation, as last reported by
// Sforce-Limit-Info ("api-usage=18/100000; per-app-api-usage=...").
type allocation struct {
	mu        sync.Mutex
	used, max int
}

func (a *allocation) observe(h string) {
	for part := range strings.SplitSeq(h, ";") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !ok {
			continue
		}
		u, m, ok := strings.Cut(v, "/")
		used, err1 := strconv.Atoi(strings.TrimSpace(u))
		limit, err2 := strconv.Atoi(strings.TrimSpace(m))
		if ok && err1 == nil && err2 == nil && limit > 0 {
			a.mu.Lock()
			a.used, a.max = used, limit
			a.mu.Unlock()
		}
	}
}

// reset forgets the last report: a new pull learns it from its first
// answer.
func (a *allocation) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.used, a.max = 0, 0
}

func (a *allocation) get() (used, max int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used, a.max
}

// spent returns a StopError when the allocation's remainder is down to
// the reserve.
func (c *Connector) spent() error {
	used, max := c.limits.get()
	reserve := c.opts.DailyReserve
	if max == 0 || reserve < 0 || float64(max-used) > reserve*float64(max) {
		return nil
	}
	return &connectors.StopError{
		Reason: fmt.Sprintf("daily API allocation nearly spent (%d of %d requests used; %.0f%% kept for the org's other integrations)",
			used, max, reserve*100),
		Resume: c.now().Add(stopFor),
	}
}
