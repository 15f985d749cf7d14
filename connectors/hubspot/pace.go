package hubspot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// Headers announcing the app's burst window, on every answer but search's.
const (
	headerMax       = "X-HubSpot-RateLimit-Max"
	headerRemaining = "X-HubSpot-RateLimit-Remaining"
)

// pacer paces the requests HubSpot counts in its burst window (all but
// search) by the limit HubSpot announces: at most Max less a headroom per
// Interval, in a crmhttp.Window rebuilt when the announcement changes,
// under a cap of Burst per 10 seconds that holds whatever is announced
// (and alone before the first answer). An answer whose Remaining has
// fallen into the headroom (another client of the app shares its window)
// holds requests back for as many slots. It is safe for concurrent use.
type pacer struct {
	cap    *crmhttp.Window // Burst per 10 s
	burst  int
	logger *slog.Logger

	mu       sync.Mutex
	max      int             // last X-HubSpot-RateLimit-Max; 0 before the first
	interval time.Duration   // last X-HubSpot-RateLimit-Interval-Milliseconds
	win      *crmhttp.Window // the announced window; nil before the first
}

// newPacer returns a pacer capped at burst requests per 10 seconds.
func newPacer(burst int, logger *slog.Logger) *pacer {
	return &pacer{
		cap:    crmhttp.NewWindow(burst, burstWindow, fmt.Sprintf("rate limit %d/10s", burst)),
		burst:  burst,
		logger: logger,
	}
}

// headroom is how many of an announced window's n slots the pacer leaves
// free, so that a 429 stays the exception: 5%, at least one.
func headroom(n int) int { return max(1, (n+19)/20) }

// paced is how many requests an announced window of n lets the pacer send.
func paced(n int) int { return max(1, n-headroom(n)) }

// Wait implements crmhttp.Limiter: the announced window, then the cap.
func (p *pacer) Wait(ctx context.Context) error {
	p.mu.Lock()
	win := p.win
	p.mu.Unlock()
	if win != nil {
		if err := win.Wait(ctx); err != nil {
			return err
		}
	}
	return p.cap.Wait(ctx)
}

// observe reads the burst window an answer announces; answers without
// the headers (search's, a proxy's) leave the pacing as it is.
func (p *pacer) observe(h http.Header) {
	if p == nil {
		return
	}
	n, ok := headerInt(h, headerMax)
	per := interval(h)
	if !ok || n <= 0 || per <= 0 {
		return
	}
	left, known := headerInt(h, headerRemaining)
	p.mu.Lock()
	defer p.mu.Unlock()
	if n != p.max || per != p.interval {
		p.max, p.interval = n, per
		p.win = crmhttp.NewWindow(paced(n), per, fmt.Sprintf("rate limit %d/%s (HubSpot announces %d)", paced(n), per, n))
		if known { // the requests HubSpot already counts take their slots
			occupy(p.win, min(n-left, paced(n)))
		}
		p.logger.Info("pacing by the rate limit HubSpot announces", "max", n, "interval", per, "paced", paced(n), "burst_cap_per_10s", p.burst)
	}
	if known && left < headroom(n) {
		p.win.Penalize(time.Duration(headroom(n)-left) * per / time.Duration(n))
	}
}

// occupy takes k slots of w, a window just made with room for them: its
// Wait grants them at once.
func occupy(w *crmhttp.Window, k int) {
	for range k {
		_ = w.Wait(context.Background())
	}
}

// Penalize holds every request back for d, after a 429: HubSpot's window
// is full whatever the pacer counted.
func (p *pacer) Penalize(d time.Duration) {
	if p == nil {
		return
	}
	p.cap.Penalize(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.win != nil {
		p.win.Penalize(d)
	}
}

// headerInt reads an integer header.
func headerInt(h http.Header, name string) (int, bool) {
	n, err := strconv.Atoi(h.Get(name))
	return n, err == nil
}
