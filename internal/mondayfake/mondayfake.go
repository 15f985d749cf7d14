// Package mondayfake is an httptest fake of monday.com's GraphQL API
// (POST /v2) as crmsync's monday connector uses it, for tests and
// benchmarks. It parses the query it is sent (graphql.go: one operation,
// variables, arguments, nested selections, inline fragments), checks
// every field and argument against the subset of monday's schema it
// serves (schema.go) and answers graphql-ruby's validation errors for
// the others (undefinedField, argumentNotAccepted,
// missingRequiredArguments, variableNotDefined), then answers:
//
//   - complexity { before query after reset_in_x_seconds };
//   - boards(ids) { id name columns { id title type } items_page(limit ≤
//     500, cursor, query_params: {rules: [{column_id:
//     "__last_updated__", compare_attribute: "UPDATED_AT",
//     compare_value: ["EXACT", "YYYY-MM-DD"], operator:
//     greater_than_or_equals}]}) { cursor items { ... } } activity_logs(from,
//     limit, page) { id event entity user_id account_id created_at data } };
//   - next_items_page(cursor, limit) { cursor items { ... } }, the cursor
//     valid for Options.CursorLifetime (60 minutes) after the first page
//     and naming a position (asked again, it answers the same page);
//   - users(ids, limit, page, non_active) { id name email enabled ... };
//   - items { id name state created_at updated_at creator_id group {id
//     title} column_values(ids) { id type text value ... on StatusValue
//     { label index is_done } ... } } with the typed fields of status,
//     numbers, people, board_relation, date, email, phone, checkbox and
//     link columns.
//
// Limits, as documented: every query is charged its complexity (an
// approximation of monday's: 1 per field, times the page size for
// lists) against a budget of Options.Budget points that resets
// Options.Window after the first call of the window; a query over the
// budget left answers COMPLEXITY_BUDGET_EXHAUSTED (429, Retry-After and
// retry_in_seconds), one over 5,000,000 points maxComplexityExceeded.
// Every request counts toward Options.DailyLimit, which resets at
// midnight UTC; past it the answer is DAILY_LIMIT_EXCEEDED (429). Every
// response carries RateLimit-Policy and RateLimit headers and an
// extensions.request_id. Application errors come back with HTTP 200 and
// an errors array (UserUnauthorizedException, CursorExpiredError), as
// monday's error-handling page documents; a token that is unknown or
// revoked gets 401 "Not Authenticated".
//
// Tests seed boards and users (Seed, SeedDocumented, AddBoard, Upsert,
// AddUser), change, delete and archive items between syncs, revoke
// tokens, expire cursors, inject failures (FailNext, FailNextCode,
// DenyBoard, TruncateEvery) and read counters (Count, Requests,
// Statuses, BudgetErrors, Spent). A Server is safe for concurrent use
// and never sleeps.
package mondayfake

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/internal/faults"
)

// Defaults of Options and monday's documented limits.
const (
	// DefaultToken is the personal API token the fake accepts.
	DefaultToken = "eyJhbGciOiJIUzI1NiJ9.fake-personal-token"
	// AccountID is the account every answer names.
	AccountID = 12345678
	// DefaultBudget is a personal token's 10,000,000 points per minute.
	DefaultBudget = 10_000_000
	// MaxQueryComplexity is the most one query may cost.
	MaxQueryComplexity = 5_000_000
	// MaxLimit is items_page's and next_items_page's largest limit.
	MaxLimit = 500
	// DefaultCursorLifetime is how long an items_page cursor lives.
	DefaultCursorLifetime = 60 * time.Minute
	// Path is the API endpoint's path.
	Path = "/v2"
)

// Error codes the fake answers.
const (
	CodeBudgetExhausted   = "COMPLEXITY_BUDGET_EXHAUSTED"
	CodeDailyLimit        = "DAILY_LIMIT_EXCEEDED"
	CodeCursorExpired     = "CursorExpiredError"
	CodeUnauthorized      = "UserUnauthorizedException"
	CodeMaxComplexity     = "maxComplexityExceeded"
	CodeInvalidArgument   = "InvalidArgumentException"
	CodeFieldLimit        = "FIELD_LIMIT_EXCEEDED"
	CodeIPRateLimit       = "IP_RATE_LIMIT_EXCEEDED"
	CodeConcurrency       = "maxConcurrencyExceeded"
	CodeRateLimitExceeded = "RATE_LIMIT_EXCEEDED"
	// CodeLegacyComplexity is the pre-2025-01 flat ComplexityException body.
	CodeLegacyComplexity = "ComplexityException"
)

// Options configure a Server. Zero fields take the defaults.
type Options struct {
	// Tokens are the tokens accepted (personal or OAuth); nil accepts
	// DefaultToken.
	Tokens []string
	// Budget is the complexity points allowed per Window.
	Budget int
	// Window is the complexity budget's window (60 seconds).
	Window time.Duration
	// Second is the unit of reset_in_x_seconds, retry_in_seconds and
	// Retry-After (time.Second); benchmarks shrink it with Window.
	Second time.Duration
	// DailyLimit caps the calls per UTC day; 0: no cap.
	DailyLimit int
	// CursorLifetime is how long a cursor stays valid.
	CursorLifetime time.Duration
	// Now is the clock of items, cursors, windows and days.
	Now func() time.Time
}

// Request is one request the Server received (Requests lists them).
type Request struct {
	// Kind is the first root field of the query other than complexity
	// ("boards", "next_items_page", "users"), "" when it did not parse.
	Kind       string
	APIVersion string
	Status     int
	Codes      []string // extensions.code of the errors answered
	Cost       int      // complexity charged, 0 when refused
}

// Server is a running fake monday.com account.
type Server struct {
	opts Options

	mu          sync.Mutex
	boards      map[string]*board
	users       map[string]User
	tokens      map[string]bool
	cursors     map[string]*cursor
	cursorSeq   int
	itemSeq     int
	accountSeq  int
	logSeq      int
	reqSeq      int
	windowStart time.Time
	spent       int // points charged in the current window
	totalSpent  int
	day         string
	dayCalls    int
	failNext    []fault
	budgetErrs  int

	kit                         // requests, counts, hook, truncation
	deniedBoards faults.Denials // DenyBoard, AllowBoard
}

// fault is an injected failure: an HTTP status, or an error code.
type fault struct {
	status int
	code   string
}

// New starts a Server with no boards; Close stops it.
func New(opts Options) *Server {
	if opts.Tokens == nil {
		opts.Tokens = []string{DefaultToken}
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Window <= 0 {
		opts.Window = time.Minute
	}
	if opts.Second <= 0 {
		opts.Second = time.Second
	}
	if opts.CursorLifetime <= 0 {
		opts.CursorLifetime = DefaultCursorLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts: opts, boards: map[string]*board{}, users: map[string]User{}, tokens: map[string]bool{},
		cursors: map[string]*cursor{},
	}
	for _, t := range opts.Tokens {
		s.tokens[t] = true
	}
	faults.Start(&s.kit, s.serve)
	return s
}

// URL is the API host (no trailing slash): the connector's base_url.
func (s *Server) URL() string { return s.kit.URL() }

// answer is a GraphQL response body.
type answer struct {
	Data       any            `json:"data,omitempty"`
	Errors     []gqlError     `json:"errors,omitempty"`
	AccountID  int            `json:"account_id"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var entry Request
	faults.Serve(&s.kit, w, func(w http.ResponseWriter) {
		entry = s.handle(w, r)
	}, func(status int) Request {
		entry.Status = status
		return entry
	})
}

// handle answers one request and says what it was.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) Request {
	entry := Request{APIVersion: r.Header.Get("API-Version")}
	if r.URL.Path != Path {
		http.Error(w, `{"error_message":"Not found","status_code":404}`, http.StatusNotFound)
		return entry
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, `{"error_message":"Method not allowed","status_code":405}`, http.StatusMethodNotAllowed)
		return entry
	}
	if !s.authorized(r) {
		s.write(w, http.StatusUnauthorized, answer{Errors: []gqlError{{Message: "Not Authenticated",
			Extensions: map[string]any{"code": "UNAUTHENTICATED", "status_code": 401}}}}, &entry)
		return entry
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || req.Query == "" {
		s.write(w, http.StatusBadRequest, answer{Errors: []gqlError{{Message: "No query string was present",
			Extensions: map[string]any{"code": "BAD_REQUEST", "status_code": 400}}}}, &entry)
		return entry
	}
	op, perr := parse(req.Query)
	if perr == nil {
		entry.Kind = rootKind(op)
	}
	faults.Admit(&s.kit, entry.Kind)
	if ok := s.countDay(w, &entry); !ok {
		return entry
	}
	if f, ok := s.takeFault(); ok {
		s.writeFault(w, f, &entry)
		return entry
	}
	if perr != nil {
		pe := perr.(*parseError)
		s.write(w, http.StatusOK, answer{Errors: []gqlError{{Message: pe.msg, Locations: []location{{Line: pe.line, Column: pe.col}}}}}, &entry)
		return entry
	}
	if errs := validate(op, req.Variables); len(errs) > 0 {
		s.write(w, http.StatusOK, answer{Errors: errs}, &entry)
		return entry
	}
	s.execute(w, op, req.Variables, &entry)
	return entry
}

// rootKind names a query by its first root field other than complexity.
func rootKind(op *operation) string {
	for _, sel := range op.sel {
		if sel.field != nil && sel.field.name != "complexity" {
			return sel.field.name
		}
	}
	return "complexity"
}

func (s *Server) authorized(r *http.Request) bool {
	tok := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	s.mu.Lock()
	defer s.mu.Unlock()
	return tok != "" && s.tokens[tok]
}

// countDay counts the call toward the daily limit, refusing it past
// the limit.
func (s *Server) countDay(w http.ResponseWriter, entry *Request) bool {
	s.mu.Lock()
	now := s.opts.Now().UTC()
	if d := now.Format(time.DateOnly); d != s.day {
		s.day, s.dayCalls = d, 0
	}
	s.dayCalls++
	over := s.opts.DailyLimit > 0 && s.dayCalls > s.opts.DailyLimit
	midnight := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
	s.mu.Unlock()
	if !over {
		return true
	}
	wait := midnight.Sub(now)
	w.Header().Set("Retry-After", s.seconds(wait))
	s.write(w, http.StatusTooManyRequests, answer{Errors: []gqlError{{Message: "Daily limit exceeded",
		Extensions: map[string]any{"code": CodeDailyLimit, "status_code": 429, "retry_in_seconds": s.secondsInt(wait)}}}}, entry)
	return false
}

// seconds is a duration in the Server's unit of seconds, rounded up.
func (s *Server) seconds(d time.Duration) string { return strconv.Itoa(s.secondsInt(d)) }

func (s *Server) secondsInt(d time.Duration) int {
	return max(0, int(math.Ceil(float64(d)/float64(s.opts.Second))))
}

func (s *Server) takeFault() (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) == 0 {
		return fault{}, false
	}
	f := s.failNext[0]
	s.failNext = s.failNext[1:]
	return f, true
}

// writeFault answers an injected failure with monday's body for it.
func (s *Server) writeFault(w http.ResponseWriter, f fault, entry *Request) {
	retry := 2
	switch f.code {
	case "":
		s.write(w, f.status, answer{Errors: []gqlError{{Message: http.StatusText(f.status),
			Extensions: map[string]any{"code": "INTERNAL_SERVER_ERROR", "status_code": f.status}}}}, entry)
	case CodeLegacyComplexity:
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		body := map[string]any{
			"error_code": CodeLegacyComplexity, "status_code": 429, "error_data": map[string]any{}, "account_id": AccountID,
			"error_message": fmt.Sprintf("Complexity budget exhausted, query cost 30001 budget remaining 19986 out of 1000000 reset in %d seconds", retry),
			"errors":        []string{fmt.Sprintf("Complexity budget exhausted, query cost 30001 budget remaining 19986 out of 1000000 reset in %d seconds", retry)},
		}
		entry.Codes = append(entry.Codes, f.code)
		writeJSON(w, http.StatusTooManyRequests, body, s.rateHeaders())
	case CodeFieldLimit, CodeIPRateLimit:
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		msg := map[string]string{CodeFieldLimit: "Concurrency limit exceeded for the field", CodeIPRateLimit: "IP rate limit exceeded"}[f.code]
		s.write(w, http.StatusTooManyRequests, answer{Errors: []gqlError{{Message: msg, Extensions: map[string]any{
			"code": f.code, "status_code": 429, "error_data": map[string]any{"retry_in_seconds": retry}}}}}, entry)
	case CodeConcurrency, CodeRateLimitExceeded:
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		msg := map[string]string{CodeConcurrency: "Max concurrency exceeded", CodeRateLimitExceeded: "Rate Limit Exceeded"}[f.code]
		s.write(w, http.StatusTooManyRequests, answer{Errors: []gqlError{{Message: msg, Extensions: map[string]any{
			"code": f.code, "status_code": 429, "retry_in_seconds": retry}}}}, entry)
	default:
		s.write(w, cmpStatus(f.status), answer{Errors: []gqlError{{Message: f.code, Extensions: map[string]any{
			"code": f.code, "status_code": cmpStatus(f.status), "error_data": map[string]any{}}}}}, entry)
	}
}

func cmpStatus(st int) int {
	if st == 0 {
		return http.StatusOK
	}
	return st
}

// write sends a GraphQL answer with the rate-limit headers and a
// request id.
func (s *Server) write(w http.ResponseWriter, status int, a answer, entry *Request) {
	s.mu.Lock()
	s.reqSeq++
	id := fmt.Sprintf("5f0d2a3c-0000-4000-8000-%012d", s.reqSeq)
	s.mu.Unlock()
	a.AccountID = AccountID
	a.Extensions = map[string]any{"request_id": id}
	for _, e := range a.Errors {
		if c, ok := e.Extensions["code"].(string); ok {
			entry.Codes = append(entry.Codes, c)
		}
	}
	writeJSON(w, status, a, s.rateHeaders())
}

// rateHeaders are the RateLimit-Policy and RateLimit headers (the IETF
// draft's structured form): the complexity budget and the daily calls.
func (s *Server) rateHeaders() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := http.Header{}
	win := s.secondsInt(s.opts.Window)
	left, reset := s.opts.Budget-s.spent, win
	if !s.windowStart.IsZero() {
		reset = s.secondsInt(s.windowStart.Add(s.opts.Window).Sub(s.opts.Now()))
	}
	policy := fmt.Sprintf(`"complexity";q=%d;w=%d`, s.opts.Budget, win)
	state := fmt.Sprintf(`"complexity";r=%d;t=%d`, max(left, 0), reset)
	if s.opts.DailyLimit > 0 {
		now := s.opts.Now().UTC()
		policy += fmt.Sprintf(`, "daily";q=%d;w=86400`, s.opts.DailyLimit)
		state += fmt.Sprintf(`, "daily";r=%d;t=%d`, max(s.opts.DailyLimit-s.dayCalls, 0), int(now.Truncate(24*time.Hour).Add(24*time.Hour).Sub(now).Seconds()))
	}
	h.Set("RateLimit-Policy", policy)
	h.Set("RateLimit", state)
	return h
}

func writeJSON(w http.ResponseWriter, status int, v any, h http.Header) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the fake's own answers always marshal
	}
	maps.Copy(w.Header(), h)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}
