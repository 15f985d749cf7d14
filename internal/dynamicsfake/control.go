package dynamicsfake

import "github.com/crmsync/crmsync/internal/faults"

// The control surface every fake shares (see internal/faults), embedded
// in Server.
type kit = faults.Kit[Request]

// refusals are the faults the Server's tests inject.
type refusals = faults.Refusals

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

// CountPath returns how many requests to path were answered status (0
// for any status).
func (s *Server) CountPath(path string, status int) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == path && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}
