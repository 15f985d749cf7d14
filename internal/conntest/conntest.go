// Package conntest holds what the CRM connectors' tests share: pulling
// into one collection of pages and records, and a settable clock for a
// fake and a connector.
package conntest

import (
	"context"
	"sync"
	"testing"
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

// Growth checks that the requests of incremental pulls grow with the
// changes made before each, not with the size of the account.
type Growth struct {
	Full int // the requests of a full pull
	idle int // those of an incremental pull with nothing changed
}

// Check takes n, the requests of an incremental pull after k changes. The
// first call, with k = 0, gives the idle pull's; a later one fails t when
// n is more than limit over the idle pull's, or not under half of Full.
func (g *Growth) Check(t testing.TB, k, n, limit int) {
	t.Helper()
	if k == 0 {
		g.idle = n
		t.Logf("full pull: %d requests; incremental with nothing changed: %d requests", g.Full, n)
		return
	}
	extra := n - g.idle
	t.Logf("k=%d changes: %d requests, %d over the idle pull, %.3f requests per changed record", k, n, extra, float64(extra)/float64(k))
	if extra > limit || n >= g.Full/2 {
		t.Errorf("k=%d: %d requests (%d over idle), want at most %d over idle and under half the full pull's %d",
			k, n, extra, limit, g.Full)
	}
}

// New returns newC(opts), a connector built by its package's New,
// failing t when it refuses opts.
func New[O, C any](t testing.TB, newC func(O) (C, error), opts O) C {
	t.Helper()
	c, err := newC(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
