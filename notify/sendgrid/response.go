package sendgrid

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/notify"
)

// minRetryAfter is the shortest wait after a 429, also used when SendGrid
// does not say when its limit resets.
const minRetryAfter = time.Second

// maxReason bounds the part of an error taken from a response body.
const maxReason = 1024

// StatusError is a Mail Send request SendGrid answered with an error
// status. It wraps notify.ErrPermanent when Permanent is set.
type StatusError struct {
	StatusCode int    // HTTP status code
	Reason     string // SendGrid's error messages, or the status text
	Permanent  bool   // retrying the same request cannot succeed
}

// Error returns "sendgrid mail send: <code> <status>: <reason>".
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("sendgrid mail send: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Permanent {
		msg += ": " + notify.ErrPermanent.Error()
	}
	return msg
}

// Unwrap returns notify.ErrPermanent for a permanent error, else nil.
func (e *StatusError) Unwrap() error {
	if e.Permanent {
		return notify.ErrPermanent
	}
	return nil
}

// check maps a response to nil (accepted), a *notify.RateLimitError (429),
// a *notify.CredentialsError (401, 403: the key or the sender is refused,
// for every message alike) or a *StatusError, permanent for the other
// client errors but 408.
func (s *Sender) check(resp *http.Response, body []byte) error {
	code := resp.StatusCode
	switch {
	case code/100 == 2:
		return nil
	case code == http.StatusTooManyRequests:
		return &notify.RateLimitError{
			Provider: "sendgrid",
			Scope:    "mail send",
			After:    retryAfter(resp.Header, s.now()),
		}
	}
	err := &StatusError{
		StatusCode: code,
		Reason:     s.redact(reason(code, body)),
		Permanent:  code/100 == 4 && code != http.StatusRequestTimeout,
	}
	if refused(code) {
		err.Permanent = false
		return credentialsError(code, err.Error(), err)
	}
	return err
}

// refused reports whether an HTTP status refuses the credentials.
func refused(code int) bool {
	return code == http.StatusUnauthorized || code == http.StatusForbidden
}

// credentialsError is the channel-wide failure a 401 or 403 means, with
// what to do about it.
func credentialsError(code int, reason string, err error) *notify.CredentialsError {
	fix := "check notify.email.api_key: a SendGrid API key (SG.…) with the Mail Send permission, " +
		"created in the region of base_url"
	if code == http.StatusForbidden {
		fix = "check that the API key has the Mail Send permission and that notify.email.from is a verified " +
			"Single Sender or belongs to an authenticated domain (SendGrid: Settings > Sender Authentication)"
	}
	return &notify.CredentialsError{Provider: "sendgrid", Reason: reason, Fix: fix, Err: err}
}

// retryAfter is the wait until X-RateLimit-Reset (unix seconds), at least
// minRetryAfter, and minRetryAfter when the header is missing or invalid.
func retryAfter(h http.Header, now time.Time) time.Duration {
	reset, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil {
		return minRetryAfter
	}
	return max(time.Unix(reset, 0).Sub(now), minRetryAfter)
}

// reason extracts SendGrid's error messages from a JSON error body, on one
// line and at most maxReason bytes. Any other body (nginx answers 413 in
// HTML) gives no reason beyond the status, except "payload too large".
func reason(code int, body []byte) string {
	var r errorResponse
	if json.Unmarshal(body, &r) == nil {
		var msgs []string
		for _, e := range r.Errors {
			msgs = append(msgs, oneLine(e.String()))
		}
		if len(msgs) > 0 {
			return truncate(strings.Join(msgs, "; "), maxReason)
		}
	}
	if code == http.StatusRequestEntityTooLarge {
		return "payload too large"
	}
	return ""
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
