package sellsyfake

import "github.com/crmsync/crmsync/internal/faults"

// The control surface every fake shares (see internal/faults), embedded
// in Server.
type kit = faults.Kit[Request]

// refusals are the faults the Server's tests inject.
type refusals = faults.Refusals

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
