package hubspot

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/hubspotfake"
)

func TestHeadroom(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]int{1: 1, 2: 1, 19: 18, 20: 19, 21: 19, 50: 47, 100: 95, 110: 104, 190: 180, 250: 237} {
		if got := paced(n); got != want {
			t.Errorf("paced(%d) = %d, want %d", n, got, want)
		}
	}
}

// announce returns the headers of an answer announcing n requests per
// ms milliseconds, left of them remaining (-1: no Remaining header).
func announce(n, ms, left int) http.Header {
	h := http.Header{}
	h.Set(headerMax, strconv.Itoa(n))
	h.Set(headerInterval, strconv.Itoa(ms))
	if left >= 0 {
		h.Set(headerRemaining, strconv.Itoa(left))
	}
	return h
}

// TestPacer feeds a pacer the headers of some answers and counts the
// requests it then lets through at once: Wait with a cancelled context
// grants while the windows have room and fails as soon as one would
// have to wait.
func TestPacer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		burst    int
		answers  []http.Header
		penalize time.Duration
		want     int
	}{
		{name: "before the first answer: burst", burst: 100, want: 100},
		{name: "announced 190/10s: 190 less the headroom", burst: 250, answers: []http.Header{announce(190, 10000, 190)}, want: 180},
		{name: "announced 19/1000ms", burst: 250, answers: []http.Header{announce(19, 1000, 19)}, want: 18},
		{name: "announced below burst: 50/10s", burst: 100, answers: []http.Header{announce(50, 10000, 50)}, want: 47},
		{name: "requests HubSpot counted take their slots", burst: 250, answers: []http.Header{announce(50, 10000, 49)}, want: 46},
		{name: "a window HubSpot counts as nearly full", burst: 250, answers: []http.Header{announce(50, 10000, 4)}, want: 1},
		{name: "announced above burst: burst caps", burst: 100, answers: []http.Header{announce(190, 10000, 190)}, want: 100},
		{name: "announced, no Remaining", burst: 250, answers: []http.Header{announce(110, 10000, -1)}, want: 104},
		{name: "search answer, no headers: burst", burst: 100, answers: []http.Header{{}}, want: 100},
		{name: "unreadable Max: burst", burst: 100, answers: []http.Header{{headerMax: {"many"}, headerInterval: {"10000"}}}, want: 100},
		{name: "Max without Interval: burst", burst: 100, answers: []http.Header{{headerMax: {"50"}}}, want: 100},
		{name: "zero Max: burst", burst: 100, answers: []http.Header{announce(0, 10000, 0)}, want: 100},
		{name: "the announcement changes", burst: 250, answers: []http.Header{announce(19, 1000, 18), announce(50, 10000, 50)}, want: 47},
		{name: "a headerless answer keeps the announcement", burst: 250, answers: []http.Header{announce(50, 10000, 50), {}}, want: 47},
		{name: "a repeated announcement keeps the window", burst: 250, answers: []http.Header{announce(50, 10000, 49), announce(50, 10000, 48)}, want: 46},
		{name: "Remaining in the headroom: held back", burst: 250, answers: []http.Header{announce(190, 10000, 190), announce(190, 10000, 3)}, want: 0},
		{name: "Remaining at the headroom: not held", burst: 250, answers: []http.Header{announce(190, 10000, 190), announce(190, 10000, 10)}, want: 180},
		{name: "a 429's Remaining 0: held back", burst: 250, answers: []http.Header{announce(19, 1000, 19), announce(19, 1000, 0)}, want: 0},
		{name: "penalized before the first answer", burst: 100, penalize: time.Second, want: 0},
		{name: "penalized after an announcement", burst: 250, answers: []http.Header{announce(50, 10000, 49)}, penalize: time.Second, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPacer(tt.burst, slog.New(slog.DiscardHandler))
			for _, h := range tt.answers {
				p.observe(h)
			}
			if tt.penalize > 0 {
				p.Penalize(tt.penalize)
			}
			if got := grants(p, 300); got != tt.want {
				t.Errorf("%d requests let through at once, want %d", got, tt.want)
			}
		})
	}
}

// grants counts the requests p lets through without waiting, up to most.
func grants(p *pacer, most int) int {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range most {
		if p.Wait(ctx) != nil {
			return i
		}
	}
	return most
}

func TestNilPacerIgnoresAnswers(t *testing.T) {
	t.Parallel()
	var p *pacer // Burst < 0: no pacing
	p.observe(announce(19, 1000, 0))
	p.Penalize(time.Second)
}

// stamps is a transport recording when the requests HubSpot counts in its
// burst window (all but search) are sent.
type stamps struct {
	base http.RoundTripper

	mu    sync.Mutex
	times []time.Time
}

func (s *stamps) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/search") {
		s.mu.Lock()
		s.times = append(s.times, time.Now())
		s.mu.Unlock()
	}
	return s.base.RoundTrip(r)
}

// share returns the share of a limit of n requests per window that the
// requests sent at times used: those sent within the pull's k whole
// windows (from its first request) over k·n. It is 1 for the fastest
// schedule the limit admits, 100/190 for 100 requests per 10 s against a
// limit of 190. A pull shorter than a window gives its requests over n.
func (s *stamps) share(n int, window time.Duration) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.times
	if len(ts) == 0 {
		return 0
	}
	k := max(int(ts[len(ts)-1].Sub(ts[0])/window), 1)
	end := ts[0].Add(time.Duration(k) * window)
	sent := 0
	for _, t := range ts {
		if t.Before(end) {
			sent++
		}
	}
	return float64(sent) / float64(k*n)
}

// pacedPull pulls f in full with a connector paced as HubSpot announces,
// Burst set to burst (0: DefaultBurst), and returns the share of f's
// limit of limit requests per window it used. Pages of 10 records keep
// each request cheap, so that a loaded machine (or -race) still sends as
// fast as the limit allows.
func pacedPull(t *testing.T, f *hubspotfake.Server, burst, limit int, window time.Duration) float64 {
	t.Helper()
	st := &stamps{base: f.Client().Transport}
	c := newConnector(t, f, func(o *Options) {
		o.Burst, o.SearchPerSecond, o.PageSize = burst, DefaultSearchPerSecond, 10
		o.HTTPClient = &http.Client{Transport: st}
	})
	mustPull(t, c, nil)
	return st.share(limit, window)
}

// TestPullUsesTheAnnouncedLimit syncs a portal announcing HubSpot's
// Professional limit, 190 requests per 10 s, in a tenth of the time (19
// per second): with the default Burst, the pull follows the announcement
// and uses most of it without a 429.
func TestPullUsesTheAnnouncedLimit(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{Burst: 19, Interval: time.Second, SearchPerSecond: hubspotfake.DefaultSearch})
	f.Seed(300, 1, 1) // about 100 requests: 5 s
	used := pacedPull(t, f, 0, 19, time.Second)
	if used < 0.85 {
		t.Errorf("the pull used %.0f%% of the announced limit, want at least 85%%", 100*used)
	}
	if n := f.TooMany(); n != 0 {
		t.Errorf("%d answers 429", n)
	}
	t.Logf("%.1f%% of 19 requests per second used", 100*used)
}

// TestPullAdaptsToALowerLimit syncs a portal announcing 50 requests per
// 10 s with Burst at 100: the pull slows down to the announcement after
// its first answer, and no request is refused.
func TestPullAdaptsToALowerLimit(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{Burst: 50, SearchPerSecond: hubspotfake.DefaultSearch})
	f.Seed(200, 1, 1) // about 66 requests: two windows, 10 s
	used := pacedPull(t, f, 100, 50, hubspotfake.BurstWindow)
	if n := f.TooMany(); n != 0 {
		t.Errorf("%d answers 429, want none", n)
	}
	t.Logf("%.1f%% of 50 requests per 10 s used", 100*used)
}
