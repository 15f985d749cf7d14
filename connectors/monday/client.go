package monday

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// errCursorExpired is monday's CursorExpiredError: the board read must
// start again.
var errCursorExpired = errors.New("cursor expired")

// apiError is a GraphQL error answer: the first error's message and
// extensions.code, and the effective status (extensions.status_code,
// else the HTTP status).
type apiError struct {
	Status  int
	Code    string
	Message string
	Retry   time.Duration // retry_in_seconds, 0 when absent
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// gqlError is one entry of errors: an object, or a string in the legacy
// flat answers.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code         string          `json:"code"`
		StatusCode   int             `json:"status_code"`
		RetryIn      *float64        `json:"retry_in_seconds"`
		ErrorData    json.RawMessage `json:"error_data"`
		BudgetLeft   *int            `json:"complexity_budget_left"`
		BudgetLimit  *int            `json:"complexity_budget_limit"`
		QueryComplex *int            `json:"complexity"`
	} `json:"extensions"`
}

// errorBody is what classify reads of an answer.
type errorBody struct {
	Errors       []json.RawMessage `json:"errors"`
	ErrorCode    string            `json:"error_code"`
	ErrorMessage string            `json:"error_message"`
	StatusCode   int               `json:"status_code"`
}

var resetInRe = regexp.MustCompile(`reset in (\d+) seconds?`)

// parseError reads an answer's errors; nil when it has none.
func (c *Connector) parseError(resp *http.Response, body []byte) *apiError {
	if resp.StatusCode < http.StatusMultipleChoices && !bytes.Contains(body, []byte(`"error`)) {
		return nil
	}
	var b errorBody
	if json.Unmarshal(body, &b) != nil {
		if resp.StatusCode < http.StatusMultipleChoices {
			return nil // a body that does not decode: DoDecode retries it
		}
		return &apiError{Status: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
	}
	e := &apiError{Status: resp.StatusCode, Code: b.ErrorCode, Message: b.ErrorMessage}
	if b.StatusCode != 0 {
		e.Status = b.StatusCode
	}
	if len(b.Errors) > 0 {
		var g gqlError
		if json.Unmarshal(b.Errors[0], &g) == nil {
			e.Message, e.Code = g.Message, g.Extensions.Code
			if g.Extensions.StatusCode != 0 {
				e.Status = g.Extensions.StatusCode
			}
			e.Retry = c.retryIn(g)
		} else if e.Message == "" {
			json.Unmarshal(b.Errors[0], &e.Message)
		}
	}
	if e.Code == "" && e.Message == "" && resp.StatusCode < http.StatusMultipleChoices {
		return nil
	}
	if m := resetInRe.FindStringSubmatch(e.Message); m != nil && e.Retry == 0 {
		n, _ := strconv.Atoi(m[1])
		e.Retry = time.Duration(n) * c.opts.Second
	}
	e.Message = crmhttp.Clip(e.Message)
	return e
}

// retryIn reads retry_in_seconds from extensions or extensions.error_data.
func (c *Connector) retryIn(g gqlError) time.Duration {
	secs := g.Extensions.RetryIn
	if secs == nil && len(g.Extensions.ErrorData) > 0 {
		var d struct {
			RetryIn *float64 `json:"retry_in_seconds"`
		}
		if json.Unmarshal(g.Extensions.ErrorData, &d) == nil {
			secs = d.RetryIn
		}
	}
	if secs == nil || *secs < 0 {
		return 0
	}
	return time.Duration(*secs * float64(c.opts.Second))
}

// classify reads a response for crmhttp.
func (c *Connector) classify(resp *http.Response, body []byte) crmhttp.Verdict {
	e := c.parseError(resp, body)
	if e == nil {
		if resp.StatusCode >= http.StatusMultipleChoices {
			return c.verdict(resp, &apiError{Status: resp.StatusCode, Message: http.StatusText(resp.StatusCode)})
		}
		return crmhttp.Verdict{Action: crmhttp.Done}
	}
	v := c.verdict(resp, e)
	if v.Action == crmhttp.Retry {
		c.logger.Warn("monday answered an error; retrying", "status", e.Status, "code", e.Code, "message", e.Message, "wait", v.Wait)
	}
	return v
}

func (c *Connector) verdict(resp *http.Response, e *apiError) crmhttp.Verdict {
	wait := e.Retry
	if wait == 0 {
		if ra := crmhttp.RetryAfter(resp.Header, c.now()); ra > 0 {
			wait = ra / time.Second * c.opts.Second
		}
	}
	reason := strings.TrimSpace(e.Code + " " + strconv.Itoa(e.Status))
	switch {
	case e.Code == "DAILY_LIMIT_EXCEEDED":
		return crmhttp.Verdict{Action: crmhttp.Stop, Reason: "monday's daily call limit is spent (DAILY_LIMIT_EXCEEDED; it resets at midnight UTC)", Resume: nextMidnight(c.now())}
	case e.Code == "COMPLEXITY_BUDGET_EXHAUSTED" || e.Code == "ComplexityException":
		if wait == 0 {
			wait = time.Minute / time.Second * c.opts.Second
		}
		c.budget.penalize(wait)
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: reason + " complexity budget", Wait: wait, Err: e}
	case e.Code == "CursorExpiredError":
		return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("%w: %w", errCursorExpired, e)}
	case e.Code == "UserUnauthorizedException" || e.Status == http.StatusForbidden:
		return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("%w (the token's user cannot read a configured board: share the Accounts, Contacts and Deals boards with that user, or use an admin's token): %w", e, connectors.ErrAuth)}
	case e.Status == http.StatusUnauthorized:
		return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("%w (monday refused the token: it was regenerated or revoked, or the OAuth app was uninstalled; monday tokens do not expire, so set a new auth.token): %w", e, connectors.ErrAuth)}
	case e.Status == http.StatusTooManyRequests || e.Code == "FIELD_LIMIT_EXCEEDED" || e.Code == "IP_RATE_LIMIT_EXCEEDED" ||
		e.Code == "maxConcurrencyExceeded" || e.Code == "RATE_LIMIT_EXCEEDED":
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: reason, Wait: wait, Err: e}
	case e.Status >= http.StatusInternalServerError:
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: reason, Wait: wait, Err: e}
	}
	return crmhttp.Verdict{Action: crmhttp.Fail, Err: e}
}

// nextMidnight is when monday's daily count resets.
func nextMidnight(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
}

// complexity is what every query asks for.
type complexity struct {
	Before int `json:"before"`
	Query  int `json:"query"`
	After  int `json:"after"`
	Reset  int `json:"reset_in_x_seconds"`
}

// complexityField is the selection every query starts with.
const complexityField = "complexity { before query after reset_in_x_seconds } "

// query sends a GraphQL query and decodes its data into out (a struct
// with a Complexity field for complexityField), inside crmhttp's retry
// loop.
func (c *Connector) query(ctx context.Context, q string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	if err != nil {
		return fmt.Errorf("encode query: %w", err)
	}
	_, err = c.client.DoDecode(ctx, func(ctx context.Context) (*http.Request, error) {
		if err := c.daily.take(c.now()); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", c.opts.Token)
		req.Header.Set("API-Version", c.opts.APIVersion)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		return req, nil
	}, func(b []byte) error {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		if len(env.Data) == 0 || env.Data[0] != '{' {
			return errors.New("answer without data")
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			return fmt.Errorf("data: %w", err)
		}
		return nil
	})
	var stop *dailyStop
	if errors.As(err, &stop) {
		return &connectors.StopError{Reason: stop.reason, Resume: stop.resume}
	}
	return err
}

// note records a query's complexity for the pacing.
func (c *Connector) note(cx *complexity) {
	if cx != nil {
		c.budget.note(*cx)
	}
}

// budget paces requests on the complexity monday reports: when what is
// left after the last query is less than the dearest query seen plus a
// tenth, the next request waits for the reset.
type budget struct {
	now    func() time.Time
	second time.Duration

	mu      sync.Mutex
	known   bool
	after   int
	dearest int
	resetAt time.Time
	blocked time.Time
}

// note records the complexity a query reported.
func (b *budget) note(cx complexity) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.known, b.after = true, cx.After
	b.dearest = max(b.dearest, cx.Query)
	b.resetAt = b.now().Add(time.Duration(cx.Reset) * b.second)
}

// penalize holds requests back for d after a budget error.
func (b *budget) penalize(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := b.now().Add(d); until.After(b.blocked) {
		b.blocked = until
	}
	b.known = false
}

// Wait implements crmhttp.Limiter.
func (b *budget) Wait(ctx context.Context) error {
	d := b.delay()
	if d <= 0 {
		return nil
	}
	return crmhttp.Sleep(ctx, "monday complexity budget", d)
}

func (b *budget) delay() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if d := b.blocked.Sub(now); d > 0 {
		return d
	}
	need := b.dearest + b.dearest/10
	if !b.known || b.after >= need || !now.Before(b.resetAt) {
		return 0
	}
	// reset_in_x_seconds is rounded up and read on arrival: resetAt is
	// at or after monday's reset.
	b.known = false // the budget is whole again once the wait is over
	return b.resetAt.Sub(now)
}

// dailyCount counts the calls of the current UTC day against
// Options.DailyCalls.
type dailyCount struct {
	limit int

	mu    sync.Mutex
	day   string
	calls int
}

// dailyStop is a request not sent: the day's calls are spent.
type dailyStop struct {
	reason string
	resume time.Time
}

func (e *dailyStop) Error() string { return e.reason }

// take counts a call, or refuses it once the day's limit is reached.
func (d *dailyCount) take(now time.Time) error {
	if d.limit == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if day := now.Format(time.DateOnly); day != d.day {
		d.day, d.calls = day, 0
	}
	if d.calls >= d.limit {
		return &dailyStop{reason: fmt.Sprintf("the %d calls of limits.daily_calls are spent for today (monday's daily call limit resets at midnight UTC)", d.limit), resume: nextMidnight(now)}
	}
	d.calls++
	return nil
}
