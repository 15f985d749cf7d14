package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"time"
)

// statusUnavailable is the Health status when Redis does not answer.
const statusUnavailable = "unavailable"

// pingRedis PINGs Redis and times the answer.
func (a *App) pingRedis(ctx context.Context) RedisHealth {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	err := a.Store.Redis().Ping(ctx).Err()
	h := RedisHealth{OK: err == nil, LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		h.Error = err.Error()
	}
	return h
}

// serveReady answers /readyz: 503 when Redis does not answer (the process
// can do nothing), 200 otherwise, with status "degraded" when a source is
// stale, failing or paused or a channel is paused: the process serves and
// delivers, and the Health document says what lags. A caller without the
// admin token (when one is set) gets only the status and Redis's answer,
// so that probes need no secret.
func (a *App) serveReady(w http.ResponseWriter, r *http.Request) {
	h, err := a.health(r.Context())
	if err != nil {
		a.log.Error("health detail", "err", err)
		h = &Health{Status: statusUnavailable, Redis: RedisHealth{Error: err.Error()}}
	}
	code := http.StatusOK
	if h.Status == statusUnavailable {
		code = http.StatusServiceUnavailable
	}
	var doc any = h
	if !a.isAdmin(r) {
		doc = struct {
			Status string      `json:"status"`
			Redis  RedisHealth `json:"redis"`
		}{h.Status, h.Redis}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc) // the client went away
}

// isAdmin reports whether r carries the admin token, or none is set.
func (a *App) isAdmin(r *http.Request) bool {
	token := a.Config.HTTP.AdminToken.Reveal()
	if token == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) == 1
}
