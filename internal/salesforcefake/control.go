package salesforcefake

import "github.com/crmsync/crmsync/internal/faults"

// The control surface every fake shares (see internal/faults), embedded
// in Server.
type kit = faults.Kit[Request]

// failures are the statuses the Server's tests inject (FailNext).
type failures = faults.Failures

// SetUsage sets the API requests already counted today and the daily
// allocation (max ≤ 0 keeps the current one).
func (s *Server) SetUsage(used, max int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used = used
	if max > 0 {
		s.opts.DailyLimit = max
	}
}

// SetMaxBatch sets Options.MaxBatch for the queries started from now on
// (0 lifts the cap), so that a test can page one query in small pages.
func (s *Server) SetMaxBatch(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.MaxBatch = n
}

// Usage returns the API requests counted today and the daily allocation.
func (s *Server) Usage() (used, max int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.opts.DailyLimit
}

// InvalidateSessions ends every session: requests with the access tokens
// issued so far answer 401 INVALID_SESSION_ID.
func (s *Server) InvalidateSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// ExpireLocators expires every open query cursor: asking for their next
// page answers 400 INVALID_QUERY_LOCATOR.
func (s *Server) ExpireLocators() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cursors {
		c.expired = true
	}
}

// Queries returns the SOQL of every query request received, in order.
func (s *Server) Queries() []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Kind == KindQuery {
			out = append(out, r.SOQL)
		}
	}
	return out
}
