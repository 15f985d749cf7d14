package salesforcefake

// OnRequest sets a hook called before each request of the Server is
// answered, with its kind and how many of that kind came so far (1 for
// the first). It runs without the Server's lock, so it may seed, modify,
// delete or merge records: between the pages of a query, for example.
func (s *Server) OnRequest(hook func(kind string, n int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = hook
}

// FailNext makes the next n API requests (not token requests) answer
// status with Salesforce's body for it (500 UNKNOWN_EXCEPTION, 503
// SERVER_UNAVAILABLE...).
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, status)
	}
}

// TruncateEvery cuts every n-th 200 answer from now on (token answers
// included) at half its length: the 1st, 3rd... cut is sent as a complete
// response of that half, the 2nd, 4th... announces its whole
// Content-Length and closes the connection after the half. 0 stops
// cutting.
func (s *Server) TruncateEvery(n int) { s.cuts.Every(n) }

// Truncated returns the number of answers cut by TruncateEvery.
func (s *Server) Truncated() int { return s.cuts.Truncated() }

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

// Count returns how many requests of kind (KindToken, KindQuery...) the
// Server received.
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

// Statuses returns how many answers the Server sent per HTTP status.
func (s *Server) Statuses() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]int, len(s.statuses))
	for k, v := range s.statuses {
		out[k] = v
	}
	return out
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Queries returns the SOQL of every query request received, in order.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.log {
		if r.Kind == KindQuery {
			out = append(out, r.SOQL)
		}
	}
	return out
}

// ResetLog forgets the requests received (not the counts).
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}
