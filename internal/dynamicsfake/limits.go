package dynamicsfake

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// userLoad is one user's service protection state.
type userLoad struct {
	times    []time.Time // admitted requests within the window, oldest first
	inFlight int
}

// admit applies service protection to a request of user: a 429 with
// Retry-After over the sliding window or the concurrency cap. Requests
// refused are not counted in the window. The returned func ends the
// request's time in flight.
func (s *Server) admit(w http.ResponseWriter, user string) (func(), bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[user]
	if u == nil {
		u = &userLoad{}
		s.users[user] = u
	}
	now := s.opts.Now()
	cut := 0
	for cut < len(u.times) && !u.times[cut].After(now.Add(-s.opts.Window)) {
		cut++
	}
	u.times = u.times[cut:]
	if len(u.times) >= s.opts.WindowRequests {
		wait := u.times[0].Add(s.opts.Window).Sub(now)
		w.Header().Set("Retry-After", seconds(wait))
		writeError(w, http.StatusTooManyRequests, CodeRequestLimit, fmt.Sprintf(
			"Number of requests exceeded the limit of %d over time window of %d seconds.",
			s.opts.WindowRequests, int(s.opts.Window/time.Second)))
		return nil, false
	}
	if u.inFlight >= s.opts.MaxConcurrent {
		w.Header().Set("Retry-After", seconds(s.opts.ConcurrencyRetryAfter))
		writeError(w, http.StatusTooManyRequests, CodeConcurrentLimit, fmt.Sprintf(
			"Number of concurrent requests exceeded the limit of %d.", s.opts.MaxConcurrent))
		return nil, false
	}
	u.times = append(u.times, now)
	u.inFlight++
	s.maxSeen = max(s.maxSeen, u.inFlight)
	w.Header().Set("x-ms-ratelimit-burst-remaining-xrm-requests", strconv.Itoa(s.opts.WindowRequests-len(u.times)))
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		u.inFlight--
	}, true
}

// seconds is a Retry-After value: whole seconds, rounded up, at least 1.
func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// WindowUsed returns how many requests of the client count in its
// current window.
func (s *Server) WindowUsed(client string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[client]
	if u == nil {
		return 0
	}
	now, n := s.opts.Now(), 0
	for _, t := range u.times {
		if t.After(now.Add(-s.opts.Window)) {
			n++
		}
	}
	return n
}

// Throttled returns how many requests were answered 429.
func (s *Server) Throttled() int { return s.Answered(http.StatusTooManyRequests) }

// MaxConcurrency returns the most requests of one user admitted in
// flight at once.
func (s *Server) MaxConcurrency() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxSeen
}

// SetLimits changes the window and concurrency limits from now on (a
// value ≤ 0 keeps the current one).
func (s *Server) SetLimits(windowRequests int, window time.Duration, maxConcurrent int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if windowRequests > 0 {
		s.opts.WindowRequests = windowRequests
	}
	if window > 0 {
		s.opts.Window = window
	}
	if maxConcurrent > 0 {
		s.opts.MaxConcurrent = maxConcurrent
	}
}
