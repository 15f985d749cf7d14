package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/web"
)

// Evolution implements web.EvolutionData over the book the dashboard
// shows: revenue-based figures backfilled from its won deals, the
// activity-based ones from the monthly snapshots in the store
// (snapshotReader), in one insights.Scan of the portfolio with the
// book's thresholds (one read for the default months). Months are kept
// for the book they were computed over, since they change only when a
// pass runs.
func (d *webData) Evolution(ctx context.Context, f insights.Filter, ends []time.Time) ([]insights.Month, error) {
	book, err := d.Book(ctx)
	if err != nil {
		return nil, err
	}
	scores := book.Scores.(*storeScores)
	key := evolutionKey{f: f, n: len(ends)}
	if len(ends) > 0 {
		key.first = ends[0].UnixNano()
	}
	if m, ok := d.evolutions.get(book, key); ok {
		return m, nil
	}
	src, err := newSnapshotReader(ctx, scores.reads.Features, d.a.Store.Passes, ends)
	if err != nil {
		return nil, fmt.Errorf("evolution: %w", err)
	}
	opts := scores.scanOptions(f, nil)
	opts.Ends, opts.Snapshots = ends, src
	sc, err := insights.Scan(ctx, src, opts)
	if err != nil {
		return nil, fmt.Errorf("evolution: %w", err)
	}
	d.evolutions.put(book, key, sc.Evolution)
	return sc.Evolution, nil
}

// Location is the time zone the dashboard cuts months in (config
// timezone), as the monthly review does.
func (d *webData) Location() *time.Location { return d.a.Config.Location() }

// maxEvolutions bounds the months kept for a book: one entry per filter
// and run of months asked for.
const maxEvolutions = 256

// evolutionKey is what a run of months depends on besides the book.
type evolutionKey struct {
	f     insights.Filter
	first int64 // the first month end, Unix nanoseconds
	n     int
}

// evolutionCache holds the months of one book; a new book (a pass ran)
// empties it, and so does reaching maxEvolutions entries.
type evolutionCache struct {
	mu     sync.Mutex
	book   *web.Book
	months map[evolutionKey][]insights.Month
}

func (c *evolutionCache) get(book *web.Book, k evolutionKey) ([]insights.Month, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.book != book {
		return nil, false
	}
	m, ok := c.months[k]
	return m, ok
}

func (c *evolutionCache) put(book *web.Book, k evolutionKey, m []insights.Month) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.book != book || len(c.months) >= maxEvolutions {
		c.book, c.months = book, map[evolutionKey][]insights.Month{}
	}
	c.months[k] = m
}
