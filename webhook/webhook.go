package webhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Window is how far a signed request's timestamp may be from the local
// clock, in either direction, before the request is refused as stale.
const Window = 5 * time.Minute

// forgetTimeout bounds the release of a de-duplication claim after a failure.
const forgetTimeout = 5 * time.Second

// Deduper claims keys for a while: FirstSeen reports whether key was not
// seen within ttl, and records it. store.Store implements it (SET NX with a
// TTL).
type Deduper interface {
	FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// Forgetter is optionally implemented by a Deduper. When a claimed event
// cannot be processed, the handler forgets its key so that the sender's
// retry is processed instead of being dropped as a duplicate.
type Forgetter interface {
	Forget(ctx context.Context, key string) error
}

// errBodyTooLarge reports a request body over the handler's limit.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads the raw body of r, up to limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, errBodyTooLarge
	}
	return body, err
}

// bodyStatus is the HTTP status for an error of readBody.
func bodyStatus(err error) int {
	if errors.Is(err, errBodyTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// allowPost answers 405 and reports false unless r is a POST.
func allowPost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// unixTimestamp parses a header of Unix seconds and reports whether it is
// within Window of now.
func unixTimestamp(header string, now time.Time) (time.Time, bool) {
	sec, err := strconv.ParseInt(header, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	at := time.Unix(sec, 0)
	return at, now.Sub(at).Abs() <= Window
}

// forget releases key when d can forget keys. It runs even when ctx is
// cancelled (the sender hung up): a claim left behind would turn the retry
// into a duplicate and lose the event.
func forget(ctx context.Context, d Deduper, key string, logger *slog.Logger) {
	f, ok := d.(Forgetter)
	if !ok {
		logger.Error("webhook: cannot release de-duplication claim after a failure; the retry will be dropped", "key", key)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forgetTimeout)
	defer cancel()
	if err := f.Forget(ctx, key); err != nil {
		logger.Error("webhook: release de-duplication claim", "key", key, "err", err)
	}
}

// orDiscard returns logger, or a logger that discards everything.
func orDiscard(logger *slog.Logger) *slog.Logger {
	if logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return logger
}
