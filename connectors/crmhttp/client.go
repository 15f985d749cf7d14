package crmhttp

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/connectors"
)

// Action is what to do with a response.
type Action int

// Actions a Classify may return.
const (
	Done    Action = iota // a usable response: hand it to the caller
	Retry                 // transient: wait Verdict.Wait (or back off) and retry
	Refresh               // credentials expired: refresh them, retry once
	Stop                  // allocation spent: stop the pull (Verdict.Resume)
	Fail                  // permanent: return Verdict.Err
)

// Verdict is a vendor's reading of one response.
type Verdict struct {
	Action Action
	Wait   time.Duration // Retry: how long the vendor asks to wait; 0 means back off
	Reason string        // for Trace waits, logs and errors: "429 TEN_SECONDLY_ROLLING"
	Resume time.Time     // Stop: when trying again makes sense
	// Err is, for Fail, the error to return; for Retry, the error that
	// running out of attempts wraps (when nil, one saying Reason).
	Err error
}

// MalformedError is a response taken for a success whose body does not
// decode: cut short, not JSON (a proxy's HTML page answered 200), or not
// the envelope expected.
type MalformedError struct {
	Status int
	Err    error // the decoding error
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("malformed %d body: %v", e.Status, e.Err)
}

func (e *MalformedError) Unwrap() error { return e.Err }

// Malformed is the verdict on a response whose body does not decode: a
// transient failure, retried like a 5xx, since what arrived is not what
// the vendor sent.
func Malformed(status int, err error) Verdict {
	e := &MalformedError{Status: status, Err: err}
	return Verdict{Action: Retry, Reason: e.Error(), Err: e}
}

// Limiter paces requests before they are sent.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Client sends a connector's requests.
type Client struct {
	// HTTP sends the requests; its transport adds credentials (an
	// oauth2.Transport).
	HTTP *http.Client
	// Limiters are waited on, in order, before every request.
	Limiters []Limiter
	// Classify reads a response whose body has been read into body.
	Classify func(resp *http.Response, body []byte) Verdict
	// Refresh forces new credentials; nil when they cannot be refreshed.
	Refresh func(ctx context.Context) error
	// Attempts bounds the tries of one request (default 6).
	Attempts int
	// BaseDelay and MaxDelay shape the backoff (defaults 500ms and 30s).
	BaseDelay, MaxDelay time.Duration
	// MaxWait caps a wait the vendor asks for (default 5 minutes); a longer
	// one stops the pull instead.
	MaxWait time.Duration
	// MaxBody caps the bytes read from a response (default 64 MiB); a
	// longer one fails the request.
	MaxBody int64
}

// Response is a response whose body has been read.
type Response struct {
	*http.Response
	Body []byte
}

// Do sends the request newReq builds (it is called again for every retry,
// so bodies can be re-read) and returns the first response Classify calls
// Done. It returns a *connectors.StopError when the vendor's allocation is
// spent, and wraps the last failure when attempts run out.
func (c *Client) Do(ctx context.Context, newReq func(ctx context.Context) (*http.Request, error)) (*Response, error) {
	return c.DoDecode(ctx, newReq, nil)
}

// DoDecode is Do for answers that must decode: decode runs on the body of
// the response Classify calls Done, and when it fails (a body cut short,
// invalid JSON, an HTML page from a proxy) the response is retried like a
// 5xx, within the same attempts, with the reason "malformed 200 body:
// <decode's error>"; running out of attempts returns an error wrapping a
// *MalformedError. decode keeps what it decodes for the caller, so that
// a body is decoded once; it runs once per such response and must not
// keep anything from a call that failed. A nil decode is Do.
func (c *Client) DoDecode(ctx context.Context, newReq func(ctx context.Context) (*http.Request, error), decode func(body []byte) error) (*Response, error) {
	attempts := cmp.Or(c.Attempts, 6)
	refreshed := false
	var last error
	for attempt := 0; attempt < attempts; attempt++ {
		resp, err := c.send(ctx, newReq)
		var v Verdict
		switch {
		case err != nil && (ctx.Err() != nil || isPermanent(err)):
			return nil, err
		case err != nil:
			v = Verdict{Action: Retry, Reason: "network error: " + err.Error(), Err: fmt.Errorf("network error: %w", err)}
		default:
			v = c.Classify(resp.Response, resp.Body)
		}
		if v.Action == Done && decode != nil {
			if err := decode(resp.Body); err != nil {
				v = Malformed(resp.StatusCode, err)
			}
		}
		switch v.Action {
		case Done:
			return resp, nil
		case Fail:
			return nil, v.Err
		case Stop:
			return nil, &connectors.StopError{Reason: v.Reason, Resume: v.Resume}
		case Refresh:
			if refreshed || c.Refresh == nil {
				return nil, fmt.Errorf("%s: %w", v.Reason, connectors.ErrAuth)
			}
			refreshed = true
			if err := c.Refresh(ctx); err != nil {
				return nil, fmt.Errorf("refresh credentials: %w", err)
			}
			attempt-- // a refresh is not a failed attempt
			continue
		}
		last = v.Err
		if last == nil {
			last = errors.New(v.Reason)
		}
		wait := v.Wait
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		if max := cmp.Or(c.MaxWait, 5*time.Minute); wait > max {
			return nil, &connectors.StopError{Reason: v.Reason, Resume: time.Now().Add(wait)}
		}
		if attempt == attempts-1 {
			break
		}
		if err := Sleep(ctx, v.Reason, wait); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("gave up after %d attempts: %w", attempts, last)
}

// RoundTrip implements http.RoundTripper with Do, for code that sends its
// own requests (x/oauth2 fetching a token): each retry sends a clone of
// req with its body from req.GetBody, and the response Classify calls
// Done comes back with its body read. Classify should retry only what is
// transient and call the rest Done, for the caller to read.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	resp, err := c.Do(req.Context(), func(ctx context.Context) (*http.Request, error) {
		r := req.Clone(ctx)
		if req.Body == nil || req.Body == http.NoBody {
			return r, nil
		}
		if req.GetBody == nil {
			return nil, errors.New("request body cannot be sent again")
		}
		body, err := req.GetBody()
		r.Body = body
		return r, err
	})
	if err != nil {
		return nil, err
	}
	out := *resp.Response
	out.Body = io.NopCloser(bytes.NewReader(resp.Body))
	out.ContentLength = int64(len(resp.Body))
	return &out, nil
}

// Failures retrying won't cure.
var (
	errBuild    = errors.New("build request")
	errTooLarge = errors.New("response too large")
)

// isPermanent reports whether a failure to get a usable response cannot
// be cured by retrying: the request could not be built, the body exceeds
// MaxBody, or the credentials were refused while the transport fetched a
// token.
func isPermanent(err error) bool {
	if errors.Is(err, errBuild) || errors.Is(err, errTooLarge) || errors.Is(err, connectors.ErrAuth) {
		return true
	}
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500
}

// send waits for the limiters, sends one request and reads its body.
func (c *Client) send(ctx context.Context, newReq func(ctx context.Context) (*http.Request, error)) (*Response, error) {
	for _, l := range c.Limiters {
		if err := l.Wait(ctx); err != nil {
			return nil, err
		}
	}
	req, err := newReq(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBuild, err)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		connectors.ContextTrace(ctx).Requested(0)
		return nil, err
	}
	defer resp.Body.Close()
	connectors.ContextTrace(ctx).Requested(resp.StatusCode)
	limit := cmp.Or(c.MaxBody, 64<<20)
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil: // the connection broke mid-body: retried like one that broke before
		return nil, fmt.Errorf("read %d body: %w", resp.StatusCode, err)
	case int64(len(body)) > limit:
		return nil, fmt.Errorf("%w: %d answer over %d bytes", errTooLarge, resp.StatusCode, limit)
	}
	return &Response{Response: resp, Body: body}, nil
}

func (c *Client) backoff(attempt int) time.Duration {
	return Backoff(attempt, cmp.Or(c.BaseDelay, 500*time.Millisecond), cmp.Or(c.MaxDelay, 30*time.Second))
}

// Sleep waits d, telling ctx's trace the reason (connectors.Trace), and
// returns early with ctx's error when ctx is done first. Limiters wait
// with it.
func Sleep(ctx context.Context, reason string, d time.Duration) error {
	connectors.ContextTrace(ctx).Waiting(reason, d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RetryAfter parses a Retry-After header given in seconds or as an HTTP
// date; 0 when absent or unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
