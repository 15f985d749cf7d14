// Package conntest holds what the CRM connectors' tests share: pulling
// into one collection of pages and records, and a settable clock for a
// fake and a connector.
package conntest

import (
	"context"
	"sync"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// Collected is what a pull handed over: its pages in order, their
// records and deletions in one batch, and their rejects.
type Collected struct {
	Pages   []connectors.Page
	Batch   model.Batch
	Rejects []model.Reject
}

// Add is a connectors.PageFunc that appends p to c.
func (c *Collected) Add(_ context.Context, p connectors.Page) error {
	c.Pages = append(c.Pages, p)
	c.Batch.Accounts = append(c.Batch.Accounts, p.Accounts...)
	c.Batch.Contacts = append(c.Batch.Contacts, p.Contacts...)
	c.Batch.Deals = append(c.Batch.Deals, p.Deals...)
	c.Batch.Owners = append(c.Batch.Owners, p.Owners...)
	c.Batch.Deleted = append(c.Batch.Deleted, p.Deleted...)
	c.Rejects = append(c.Rejects, p.Rejects...)
	return nil
}

// Last returns the watermark of the last page, nil when there was none.
func (c *Collected) Last() connectors.Watermark {
	return LastWatermark(c.Pages)
}

// Pull runs a pull of c from wm and collects its pages, also when it
// fails part way.
func Pull(c connectors.Connector, wm connectors.Watermark) (*Collected, error) {
	out := &Collected{}
	err := c.Pull(context.Background(), wm, out.Add)
	return out, err
}

// LastWatermark returns the watermark of the last of pages, nil when
// there is none.
func LastWatermark(pages []connectors.Page) connectors.Watermark {
	if len(pages) == 0 {
		return nil
	}
	return pages[len(pages)-1].Watermark
}

// Clock is a settable clock shared by a fake and a connector; it is safe
// for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock d on.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
