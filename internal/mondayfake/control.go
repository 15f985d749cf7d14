package mondayfake

import (
	"time"

	"github.com/crmsync/crmsync/internal/faults"
)

// The control surface every fake shares (see internal/faults), embedded
// in Server.
type kit = faults.Kit[Request]

// FailNext makes the next n authorized requests answer status with an
// error body.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, fault{status: status})
	}
}

// FailNextCode makes the next authorized request answer the error code
// (CodeFieldLimit, CodeIPRateLimit, CodeConcurrency,
// CodeRateLimitExceeded, CodeLegacyComplexity, or any other code, sent
// at HTTP status, 200 when 0) with monday's body for it.
func (s *Server) FailNextCode(code string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, fault{code: code, status: status})
}

// DenyBoard makes reads of a board answer UserUnauthorizedException;
// AllowBoard lifts it.
func (s *Server) DenyBoard(id string) { s.deniedBoards.Deny(id) }

// AllowBoard lifts a DenyBoard.
func (s *Server) AllowBoard(id string) { s.deniedBoards.Allow(id) }

// AddToken accepts a token (an OAuth app's access token, say).
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = true
}

// RevokeToken refuses a token from now on (401 Not Authenticated): the
// user regenerated it, or uninstalled the OAuth app.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, token)
}

// ExpireCursors expires every open cursor: next_items_page answers
// CursorExpiredError for them.
func (s *Server) ExpireCursors() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.cursors)
}

// SetLimits changes the complexity budget per window and the daily
// limit from now on (a budget ≤ 0 keeps the current one; a daily limit
// < 0 keeps it, 0 lifts it).
func (s *Server) SetLimits(budget int, window time.Duration, daily int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if budget > 0 {
		s.opts.Budget = budget
	}
	if window > 0 {
		s.opts.Window = window
	}
	if daily >= 0 {
		s.opts.DailyLimit = daily
	}
}

// BudgetErrors returns how many queries were refused
// COMPLEXITY_BUDGET_EXHAUSTED.
func (s *Server) BudgetErrors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.budgetErrs
}

// Spent returns the complexity points charged since the Server started.
func (s *Server) Spent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totalSpent
}

// Options returns the options the Server runs with, defaults filled in.
func (s *Server) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}
