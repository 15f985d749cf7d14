package dynamicsfake

import "maps"

// OnRequest sets a hook called for each request once it is admitted (for
// API requests: authorized and within the limits, so a hook that blocks
// keeps the request in flight), with its kind and how many of that kind
// came so far (1 for the first). It runs without the Server's lock, so it
// may upsert or delete rows: between the pages of a sync, for example.
func (s *Server) OnRequest(hook func(kind string, n int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = hook
}

// FailNext makes the next n admitted API requests answer status with a
// Dataverse error body.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, status)
	}
}

// Deny makes reads of the entity set answer 403 with the missing
// privilege error; Allow lifts it.
func (s *Server) Deny(set string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[set] = true
}

// Allow lifts a Deny.
func (s *Server) Allow(set string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, set)
}

// ExpireDeltaTokens expires every delta token issued so far: following
// their deltaLinks answers MsgDeltaExpired.
func (s *Server) ExpireDeltaTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	s.deltaFloor = s.version
}

// ExpireCursors forgets every open paging cookie: following a nextLink
// issued so far answers 400.
func (s *Server) ExpireCursors() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.cursors)
}

// TruncateEvery cuts every n-th 200 answer from now on (token answers
// included) at half its length, alternately as a short complete response
// and as one whose connection closes halfway (see internal/faults). 0
// stops cutting.
func (s *Server) TruncateEvery(n int) { s.cuts.Every(n) }

// Truncated returns the number of answers cut by TruncateEvery.
func (s *Server) Truncated() int { return s.cuts.Truncated() }

// Count returns how many requests of kind (KindToken, an entity set
// name, KindOther) were admitted.
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

// Statuses returns how many answers the Server sent per HTTP status.
func (s *Server) Statuses() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.statuses)
}

// Requests returns the requests received so far, in order (token
// requests without their form).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// CountPath returns how many requests to path were answered status (0
// for any status).
func (s *Server) CountPath(path string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if r.Path == path && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

// ResetLog forgets the requests received (not the counts).
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}
