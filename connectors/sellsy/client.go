package sellsy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// errOffset is a seek offset Sellsy refused (400 naming the offset).
var errOffset = errors.New("pagination offset refused")

// apiError is Sellsy's error envelope: {"error":{"code":400,"message":
// "...","context":"...","details":{"field":"message"}}}.
type apiError struct {
	Status  int
	Message string
	Context string
	Details map[string]string
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Context != "" {
		s += " " + e.Context
	}
	s += ": " + e.Message
	for k, v := range e.Details {
		s += fmt.Sprintf("; %s: %s", k, crmhttp.Clip(v))
	}
	return s
}

// parseAPIError reads Sellsy's envelope, or makes do with the status.
func parseAPIError(resp *http.Response, body []byte) *apiError {
	e := &apiError{Status: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
	var env struct {
		Error struct {
			Message string          `json:"message"`
			Context json.RawMessage `json:"context"`
			Details json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || env.Error.Message == "" {
		return e
	}
	e.Message = crmhttp.Clip(env.Error.Message)
	var ctx string
	if json.Unmarshal(env.Error.Context, &ctx) == nil {
		e.Context = ctx
	}
	var details map[string]any
	if json.Unmarshal(env.Error.Details, &details) == nil && len(details) > 0 {
		e.Details = make(map[string]string, len(details))
		for k, v := range details {
			e.Details[k] = fmt.Sprint(v)
		}
	}
	return e
}

// classify reads a response for crmhttp, after the quota headers.
func (c *Connector) classify(resp *http.Response, body []byte) crmhttp.Verdict {
	c.quota.observe(resp.Header)
	if resp.StatusCode < http.StatusMultipleChoices {
		return crmhttp.Verdict{Action: crmhttp.Done}
	}
	e := parseAPIError(resp, body)
	switch s := e.Status; {
	case s == http.StatusUnauthorized:
		c.logger.Info("sellsy refused the access token; fetching a new one", "message", e.Message)
		return crmhttp.Verdict{Action: crmhttp.Refresh, Reason: e.Error()}
	case s == http.StatusForbidden:
		return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("%w (give the API client the read scopes: companies, individuals, contacts, opportunities, staffs, activities): %w", e, connectors.ErrAuth)}
	case s == http.StatusTooManyRequests:
		if stop, ok := c.quota.stop(); ok {
			return crmhttp.Verdict{Action: crmhttp.Stop, Reason: "sellsy daily quota spent", Resume: stop}
		}
		c.logger.Warn("sellsy quota reached; waiting", "message", e.Message)
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: "HTTP 429 quota", Wait: c.quota.wait(), Err: e}
	case s >= http.StatusInternalServerError:
		c.logger.Warn("sellsy answered an error; retrying", "status", s, "message", e.Message)
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: "HTTP " + strconv.Itoa(s), Err: e}
	case s == http.StatusBadRequest && e.Details["offset"] != "":
		return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("%w: %w", errOffset, e)}
	}
	return crmhttp.Verdict{Action: crmhttp.Fail, Err: e}
}

// quota paces requests by the X-Quota-Remaining-By-* headers: once a
// quota reads zero, nothing is sent before its next window; once the
// day's remaining falls to the reserve, the pull stops.
type quota struct {
	second, minute time.Duration
	reserve        int
	now            func() time.Time

	mu       sync.Mutex
	until    time.Time // nothing is sent before
	stopAt   time.Time // zero, or the day's quota is spent until then
	reason   string
	received bool
}

func newQuota(o Options) *quota {
	return &quota{second: o.Second, minute: o.Minute, reserve: o.DailyReserve, now: o.Now}
}

// observe reads an answer's quota headers.
func (q *quota) observe(h http.Header) {
	left := func(name string) (int, bool) {
		n, err := strconv.Atoi(h.Get("X-Quota-Remaining-By-" + name))
		return n, err == nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	if n, ok := left("Day"); ok && n <= q.reserve {
		q.stopAt = now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if n, ok := left("Minute"); ok && n <= 0 {
		q.block(next(now, q.minute), fmt.Sprintf("sellsy quota per minute (%s)", q.minute))
	} else if n, ok := left("Second"); ok && n <= 0 {
		q.block(next(now, q.second), "sellsy quota per second")
	}
}

// block holds requests until t.
func (q *quota) block(t time.Time, reason string) {
	if t.After(q.until) {
		q.until, q.reason = t, reason
	}
}

// next returns the start of the window of length d after now, plus
// crmhttp.Margin: Sellsy's window ends a little later than ours.
func next(now time.Time, d time.Duration) time.Time {
	return now.Truncate(d).Add(d + crmhttp.Margin)
}

// wait returns how long a 429 waits: until the window the headers named,
// else the next minute.
func (q *quota) wait() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	if !q.until.After(now) {
		q.block(next(now, q.minute), "sellsy quota")
	}
	d := q.until.Sub(now)
	q.until = time.Time{} // crmhttp sleeps this long itself
	return d
}

// stop reports whether the day's quota is spent, and until when.
func (q *quota) stop() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stopAt, !q.stopAt.IsZero() && q.stopAt.After(q.now())
}

// Wait implements crmhttp.Limiter.
func (q *quota) Wait(ctx context.Context) error {
	q.mu.Lock()
	d, reason := q.until.Sub(q.now()), q.reason
	q.mu.Unlock()
	if d <= 0 {
		return nil
	}
	return crmhttp.Sleep(ctx, reason, d)
}

// page is one page of a list or a search.
type page struct {
	Data       []json.RawMessage `json:"data"`
	Pagination struct {
		Limit  int             `json:"limit"`
		Count  int             `json:"count"`
		Total  int             `json:"total"`
		Offset json.RawMessage `json:"offset"`
	} `json:"pagination"`
}

// offset returns the page's seek offset, "" when it has none.
func (p *page) offset() string {
	var s string
	_ = json.Unmarshal(p.Pagination.Offset, &s)
	return s
}

// call sends a request under the API root and decodes the answer into
// out inside crmhttp's retry loop: a body that does not decode is retried
// like a 5xx. body, when not nil, is sent as JSON (a search).
func (c *Connector) call(ctx context.Context, method, path string, q url.Values, body any, decode func([]byte) error) error {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return err
		}
	}
	if at, ok := c.quota.stop(); ok {
		return &connectors.StopError{Reason: "sellsy daily quota down to the reserve (X-Quota-Remaining-By-Day)", Resume: at}
	}
	link := c.api + path
	if len(q) > 0 {
		link += "?" + q.Encode()
	}
	_, err := c.client.DoDecode(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, method, link, bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, nil
	}, decode)
	return err
}

// list fetches one page: GET path, or POST path with {"filters":...}
// when filters is not nil.
func (c *Connector) list(ctx context.Context, path string, q url.Values, filters map[string]any) (*page, error) {
	method, body := http.MethodGet, any(nil)
	if filters != nil {
		method, body = http.MethodPost, map[string]any{"filters": filters}
	}
	var out *page
	err := c.call(ctx, method, path, q, body, func(b []byte) error {
		var p page
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("list: %w", err)
		}
		if p.Data == nil {
			return errors.New("list without data")
		}
		out = &p
		return nil
	})
	return out, err
}

// one fetches an object: GET path.
func (c *Connector) one(ctx context.Context, path string, q url.Values) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.call(ctx, http.MethodGet, path, q, nil, func(b []byte) error {
		var o map[string]json.RawMessage
		if err := json.Unmarshal(b, &o); err != nil || o == nil {
			return errors.New("object is not a JSON object")
		}
		out = b
		return nil
	})
	return out, err
}
