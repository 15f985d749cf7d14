package app

import (
	"context"
	"time"
)

// logStopping logs that `run` stops (the HTTP server, then the workers,
// which finish their running tasks) and why: the signal that ended ctx ("interrupt
// signal received", "terminated signal received"), or the error of the
// scheduler or HTTP server.
func (a *App) logStopping(ctx context.Context, err error) {
	cause := "context done"
	switch {
	case err != nil:
		cause = err.Error()
	case context.Cause(ctx) != nil:
		cause = context.Cause(ctx).Error()
	}
	a.log.Info("stopping", "signal", cause)
}

// logStopped logs that `run` stopped, how long it ran and how long
// stopping took.
func (a *App) logStopped(started, stopping time.Time) {
	now := time.Now()
	a.log.Info("stopped", "uptime", now.Sub(started).Round(time.Millisecond).String(), "shutdown", now.Sub(stopping).Round(time.Millisecond).String())
}
