package hubspot

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// Paths of the HubSpot APIs the connector reads.
const (
	ownersPath      = "/crm/v3/owners"
	accountInfoPath = "/account-info/v3/details"
	tokenPath       = "/oauth/v1/token"
)

func objectsPath(object string) string { return "/crm/v3/objects/" + object }
func searchPath(object string) string  { return objectsPath(object) + "/search" }
func associationsPath(object string) string {
	return "/crm/v4/associations/" + object + "/companies/batch/read"
}

// Waits HubSpot documents (or its SDKs use) for its retryable answers.
const (
	burstWindow    = 10 * time.Second // the "ten-secondly" rolling window
	searchWindow   = time.Second      // the search API's window
	lockedWait     = 2 * time.Second  // 423 Locked: "wait at least 2 s"
	maxMessageLen  = 300              // of a vendor message quoted in an error
	statusMigrated = 477              // HubSpot: migration in progress, Retry-After
	statusLocked   = 423
)

// retryable5xx are the server errors HubSpot documents as transient.
var retryable5xx = map[int]bool{500: true, 502: true, 503: true, 504: true, 521: true, 523: true, 524: true}

// Rate-limit headers.
const (
	headerInterval       = "X-HubSpot-RateLimit-Interval-Milliseconds"
	headerDailyRemaining = "X-HubSpot-RateLimit-Daily-Remaining"
)

// client sends the connector's requests through crmhttp: api for
// everything but search (paced by the burst window HubSpot announces),
// search for the search API (exempt from that window, paced by its own).
type client struct {
	base    string
	api     *crmhttp.Client
	search  *crmhttp.Client
	pace    *pacer          // nil when disabled
	perSec  *crmhttp.Window // nil when disabled
	auth    *auth
	reserve int // DailyReserve; negative disables the proactive stop
	now     func() time.Time

	daily atomic.Int64                  // last Daily-Remaining seen; -1 unknown
	zone  atomic.Pointer[time.Location] // the portal's, for the daily reset
}

// httpError is an answer HubSpot refused, with its status, category and
// message (secrets redacted).
type httpError struct {
	Status   int
	Category string
	Message  string
}

func (e *httpError) Error() string {
	return strings.TrimSpace(fmt.Sprintf("%d %s: %s", e.Status, e.Category, e.Message))
}

// get sends GET path?q and decodes the answer into out.
func (c *client) get(ctx context.Context, path string, q url.Values, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return c.do(ctx, c.api, out, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	})
}

// post sends in as JSON to path through cl and decodes the answer into out.
func (c *client) post(ctx context.Context, cl *crmhttp.Client, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	return c.do(ctx, cl, out, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
}

// do sends the request newReq builds through cl and decodes the answer
// into out (a pointer) inside crmhttp's retry loop: a body that does not
// decode is retried like a 5xx.
func (c *client) do(ctx context.Context, cl *crmhttp.Client, out any, newReq func(context.Context) (*http.Request, error)) error {
	if err := c.auth.ensure(ctx); err != nil {
		return err
	}
	_, err := cl.DoDecode(ctx, newReq, func(body []byte) error { return decodeInto(body, out) })
	return c.auth.redactErr(err)
}

// decodeInto decodes a JSON body into out, a pointer, zeroing it first so
// that nothing of a body that failed to decode outlives it.
func decodeInto(body []byte, out any) error {
	reflect.ValueOf(out).Elem().SetZero()
	return json.Unmarshal(body, out)
}

// classifyAPI reads an answer of the api client, whose headers announce
// the burst window, for crmhttp.
func (c *client) classifyAPI(resp *http.Response, body []byte) crmhttp.Verdict {
	c.pace.observe(resp.Header)
	return c.classify(resp, body)
}

// classify reads one HubSpot answer for crmhttp.
func (c *client) classify(resp *http.Response, body []byte) crmhttp.Verdict {
	c.noteDaily(resp.Header)
	st := resp.StatusCode
	if st >= 200 && st < 300 {
		return crmhttp.Verdict{Action: crmhttp.Done}
	}
	var e apiError
	_ = json.Unmarshal(body, &e) // every field is optional
	reason := strings.TrimSpace(fmt.Sprintf("%d %s", st, cmp.Or(e.PolicyName, e.Category)))
	now := c.now()
	switch {
	case st == http.StatusTooManyRequests:
		return c.tooMany(resp, e, reason, now)
	case st == statusLocked:
		return crmhttp.Verdict{Action: crmhttp.Retry, Wait: max(crmhttp.RetryAfter(resp.Header, now), lockedWait), Reason: reason}
	case st == statusMigrated:
		return crmhttp.Verdict{Action: crmhttp.Retry, Wait: crmhttp.RetryAfter(resp.Header, now), Reason: reason}
	case st == http.StatusUnauthorized:
		if c.auth.refreshable() {
			return crmhttp.Verdict{Action: crmhttp.Refresh, Reason: reason}
		}
		return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("%w: %w", c.apiErr(st, e), connectors.ErrAuth)}
	case st == http.StatusForbidden:
		return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("%w: %w", c.apiErr(st, e), connectors.ErrAuth)}
	case retryable5xx[st]:
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: strings.TrimSpace(fmt.Sprintf("%d %s", st, http.StatusText(st)))}
	}
	return crmhttp.Verdict{Action: crmhttp.Fail, Err: c.apiErr(st, e)}
}

// tooMany reads a 429 by its policy: the ten-secondly window (wait for
// it to clear), the search API's per-second limit (wait a second), or the
// daily allocation (stop until it resets).
func (c *client) tooMany(resp *http.Response, e apiError, reason string, now time.Time) crmhttp.Verdict {
	after := crmhttp.RetryAfter(resp.Header, now)
	msg := strings.ToLower(e.Message)
	switch {
	case e.PolicyName == "DAILY" || strings.Contains(msg, "daily"):
		return crmhttp.Verdict{Action: crmhttp.Stop, Reason: "429 DAILY: daily API allocation spent", Resume: c.nextReset(now)}
	case e.PolicyName == "TEN_SECONDLY_ROLLING" || strings.Contains(msg, "ten_secondly"):
		wait := cmp.Or(after, interval(resp.Header), burstWindow)
		c.pace.Penalize(wait)
		return crmhttp.Verdict{Action: crmhttp.Retry, Wait: wait, Reason: reason}
	case e.PolicyName == "SECONDLY" || strings.Contains(msg, "secondly"):
		wait := cmp.Or(after, searchWindow)
		penalize(c.perSec, wait)
		return crmhttp.Verdict{Action: crmhttp.Retry, Wait: wait, Reason: "429 " + cmp.Or(e.PolicyName, "SECONDLY")}
	}
	return crmhttp.Verdict{Action: crmhttp.Retry, Wait: after, Reason: reason}
}

// penalize holds w back for d after a 429, so that the limiter does not
// trust its own count over HubSpot's.
func penalize(w *crmhttp.Window, d time.Duration) {
	if w != nil {
		w.Penalize(d)
	}
}

// interval reads X-HubSpot-RateLimit-Interval-Milliseconds.
func interval(h http.Header) time.Duration {
	ms, err := strconv.Atoi(h.Get(headerInterval))
	if err != nil || ms <= 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// apiErr builds the error of a refused answer, naming missing scopes.
func (c *client) apiErr(status int, e apiError) *httpError {
	msg := e.Message
	var scopes []string
	for _, d := range e.Errors {
		scopes = append(scopes, d.Context["requiredGranularScopes"]...)
		scopes = append(scopes, d.Context["missingScopes"]...)
	}
	scopes = append(scopes, e.Context["missingScopes"]...)
	if len(scopes) > 0 {
		msg = "missing scopes " + strings.Join(scopes, ", ") + ": " + msg
	}
	if len(msg) > maxMessageLen {
		msg = msg[:maxMessageLen] + "…"
	}
	return &httpError{Status: status, Category: cmp.Or(e.Category, http.StatusText(status)), Message: c.auth.redact(msg)}
}

// noteDaily remembers X-HubSpot-RateLimit-Daily-Remaining (sent to
// private apps only).
func (c *client) noteDaily(h http.Header) {
	if v := h.Get(headerDailyRemaining); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			c.daily.Store(n)
		}
	}
}

// dailyStop returns a StopError once the daily allocation left has
// fallen to the reserve.
func (c *client) dailyStop() error {
	left := c.daily.Load()
	if c.reserve < 0 || left < 0 || left > int64(c.reserve) {
		return nil
	}
	return &connectors.StopError{
		Reason: fmt.Sprintf("daily API allocation nearly spent (%d requests left, %d kept for other integrations)", left, c.reserve),
		Resume: c.nextReset(c.now()),
	}
}

// nextReset returns when the daily allocation resets: midnight in the
// portal's time zone, UTC when it is unknown.
func (c *client) nextReset(now time.Time) time.Time {
	loc := c.zone.Load()
	if loc == nil {
		loc = time.UTC
	}
	t := now.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
}

// isFatal tells errors that must end the pull even in a best-effort step:
// a cancelled context or a stop.
func isFatal(ctx context.Context, err error) bool {
	_, stop := connectors.AsStop(err)
	return stop || ctx.Err() != nil || errors.Is(err, context.Canceled)
}
