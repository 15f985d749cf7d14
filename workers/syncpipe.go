package workers

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/crmsync/crmsync/connectors"
)

// storeAhead stores a sync's pages on a goroutine of its own, one page
// behind the connector: the connector reads and decodes the next page
// while this one is planned, and the one before written to Redis
// (store.PageWriter), so that a sync takes about the longest of the
// three instead of their sum. Pages are stored in order, one
// at a time; the first error stops the sync (the connector's next page
// gets it), and close waits for the page in flight, so a sync never ends
// with a page unstored.
type storeAhead struct {
	pages chan connectors.Page
	done  chan struct{}
	err   error // set by the storing goroutine before done closes
}

// pipeline starts storing run's pages ahead.
func (r *syncRun) pipeline(ctx context.Context) *storeAhead {
	s := &storeAhead{pages: make(chan connectors.Page), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for p := range s.pages {
			if s.err = r.page(ctx, p); s.err != nil {
				return
			}
		}
		s.err = r.w.Flush(ctx) // the last page's write
	}()
	return s
}

// put hands a page over (a copy: connectors reuse a page's memory once
// their callback returns). It waits while the previous page is being
// stored, and returns that page's error, if any.
func (s *storeAhead) put(ctx context.Context, p connectors.Page) error {
	p.Batch.Accounts = slices.Clone(p.Batch.Accounts)
	p.Batch.Contacts = slices.Clone(p.Batch.Contacts)
	p.Batch.Deals = slices.Clone(p.Batch.Deals)
	p.Batch.Owners = slices.Clone(p.Batch.Owners)
	p.Batch.Deleted = slices.Clone(p.Batch.Deleted)
	p.Rejects = slices.Clone(p.Rejects)
	p.Watermark = maps.Clone(p.Watermark)
	select {
	case s.pages <- p:
		return nil
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close waits for the pages handed over and returns the sync's error:
// pullErr, the connector's, or else the first store error.
func (s *storeAhead) close(pullErr error) error {
	close(s.pages)
	<-s.done
	if pullErr != nil {
		if s.err != nil && !errors.Is(pullErr, s.err) {
			return errors.Join(pullErr, s.err)
		}
		return pullErr
	}
	return s.err
}
