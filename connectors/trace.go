package connectors

import (
	"context"
	"time"
)

// Trace holds hooks a connector calls while it pulls, so that a progress
// display or metrics can show what a sync waits for. Any hook may be nil.
// It follows net/http/httptrace: attach it to the context with WithTrace.
type Trace struct {
	// Wait is called before the connector sleeps: for its rate limiter
	// (reason "rate limit"), after a 429 or a 5xx (the vendor's words), or
	// before a retry.
	Wait func(reason string, d time.Duration)
	// Estimate is called when the CRM says how many records of an entity
	// are to come in this pull (HubSpot's total, Salesforce's totalSize).
	Estimate func(entity string, total int)
	// Request is called after each HTTP request with its status (0 when
	// no response came).
	Request func(status int)
}

type traceKey struct{}

// WithTrace returns a context whose pulls report to t.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// ContextTrace returns the Trace attached to ctx; never nil.
func ContextTrace(ctx context.Context) *Trace {
	if t, ok := ctx.Value(traceKey{}).(*Trace); ok && t != nil {
		return t
	}
	return &Trace{}
}

// Waiting calls t.Wait when set.
func (t *Trace) Waiting(reason string, d time.Duration) {
	if t.Wait != nil {
		t.Wait(reason, d)
	}
}

// Estimated calls t.Estimate when set.
func (t *Trace) Estimated(entity string, total int) {
	if t.Estimate != nil {
		t.Estimate(entity, total)
	}
}

// Requested calls t.Request when set.
func (t *Trace) Requested(status int) {
	if t.Request != nil {
		t.Request(status)
	}
}
