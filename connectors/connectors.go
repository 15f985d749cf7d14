// Package connectors defines the contract every CRM connector implements.
// Each CRM has its own package below this one.
package connectors

import (
	"context"

	"github.com/crmsync/crmsync/model"
)

// Watermark is a connector's position in its CRM: opaque values per entity
// (for example "accounts" → a last-modified time or a cursor). The sync
// stores it after every page so a restart resumes there. An empty
// watermark means "from the start" (a full sync).
type Watermark map[string]string

// Clone returns a copy of w that can be changed without touching w.
func (w Watermark) Clone() Watermark {
	c := make(Watermark, len(w))
	for k, v := range w {
		c[k] = v
	}
	return c
}

// Page is one page of canonical records pulled from a CRM, with the
// records that could not be mapped and the watermark reached once the page
// is stored.
type Page struct {
	model.Batch
	Rejects   []model.Reject
	Watermark Watermark
}

// PageFunc receives the pages of a pull in order. Returning an error stops
// the pull, and Pull returns that error.
type PageFunc func(ctx context.Context, p Page) error

// Connector pulls a CRM's records changed since a watermark.
type Connector interface {
	// Pull calls fn with every page of records changed since from, in
	// order, and returns when the CRM has nothing more. Each page's
	// Watermark must be safe to resume from once that page (and every page
	// before it) is stored.
	Pull(ctx context.Context, from Watermark, fn PageFunc) error
}
