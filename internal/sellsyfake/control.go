package sellsyfake

import "slices"

// OnRequest sets a hook called for each request once it is admitted
// (for API requests: within the quotas and authorized), with its kind and
// how many of that kind came so far (1 for the first). It runs without
// the Server's lock, so it may put or delete records: between the pages
// of a sync, for example.
func (s *Server) OnRequest(hook func(kind string, n int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = hook
}

// FailNext makes the next n admitted API requests answer status with
// Sellsy's error body.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, status)
	}
}

// Deny makes requests of kind answer 403 (a scope missing); Allow lifts
// it.
func (s *Server) Deny(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[kind] = true
}

// Allow lifts a Deny.
func (s *Server) Allow(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, kind)
}

// ExpireTokens makes every access token issued so far answer 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// RefreshToken returns the refresh token the Server accepts now.
func (s *Server) RefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh
}

// ExpireOffsets makes every seek offset issued so far answer 400.
func (s *Server) ExpireOffsets() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.offsets)
}

// TruncateEvery cuts every n-th 200 answer from now on (token answers
// included) at half its length (see internal/faults); 0 stops cutting.
func (s *Server) TruncateEvery(n int) { s.cuts.Every(n) }

// Truncated returns the number of answers cut by TruncateEvery.
func (s *Server) Truncated() int { return s.cuts.Truncated() }

// Count returns how many requests of kind were admitted.
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

// Requests returns the requests received so far, in order (token
// requests without their body).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetLog forgets the requests received (not the counts).
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}
