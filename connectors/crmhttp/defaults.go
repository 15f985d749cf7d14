package crmhttp

import (
	"log/slog"
	"net/http"
	"time"
)

// FillDefaults gives the options every connector has alike their
// defaults: a nil *client becomes an *http.Client with timeout, a nil
// *logger one that discards, and a nil *now time.Now.
func FillDefaults(client **http.Client, timeout time.Duration, logger **slog.Logger, now *func() time.Time) {
	if *client == nil {
		*client = &http.Client{Timeout: timeout}
	}
	if *logger == nil {
		*logger = slog.New(slog.DiscardHandler)
	}
	if *now == nil {
		*now = time.Now
	}
}
