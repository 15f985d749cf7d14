package app

import (
	"context"
	"sync"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/workers"
)

// maxFigures bounds the filters whose figures a book keeps.
const maxFigures = 64

// figuresTimeout bounds a scan for a filter's figures, which the pages
// asking for them share.
const figuresTimeout = 10 * time.Minute

// storeScores implements web.Scores over the store, holding no account:
// the figures of a filter are one insights.Scan of the portfolio's
// summaries (kept, up to maxFigures filters), and an account asked for
// by id is read whole and segmented with the thresholds of the scan that
// built the book. Its
// memory is that of a scan (8 bytes per account and instant while it
// runs) and the figures kept, whatever the size of the portfolio.
type storeScores struct {
	now       time.Time
	seg       rules.Segmentation
	reads     workers.FigureReads
	segmenter *rules.Segmenter
	// thresholds are the book scan's: a filter's figures, or the default
	// months of its evolution, then read the portfolio once.
	thresholds *insights.Thresholds
	bySource   map[string]int // accounts per source (a merged account under each)

	mu      sync.Mutex
	figures map[insights.Filter]*figuresCall // the flagged set is the book's, the same for every call
}

// figuresCall is the figures of a filter, computed once: done closes when
// fig and err are set.
type figuresCall struct {
	done chan struct{}
	fig  insights.Figures
	err  error
}

// newStoreScores returns the scores at now of the portfolio reads gives,
// whose unfiltered figures and thresholds a scan found already.
func newStoreScores(now time.Time, seg rules.Segmentation, reads workers.FigureReads, all *insights.Scanned) *storeScores {
	done := make(chan struct{})
	close(done)
	return &storeScores{now: now, seg: seg, reads: reads, segmenter: all.Segmenter, thresholds: all.Thresholds,
		figures: map[insights.Filter]*figuresCall{{}: {done: done, fig: all.Figures}}}
}

// At returns the instant the portfolio is scored at.
func (s *storeScores) At() time.Time { return s.now }

// Figures returns the figures of the accounts f selects: kept ones, or a
// scan of the portfolio. Concurrent calls for one filter share a scan.
func (s *storeScores) Figures(ctx context.Context, f insights.Filter, flagged map[string]bool) (insights.Figures, error) {
	s.mu.Lock()
	c, ok := s.figures[f]
	if !ok {
		if len(s.figures) >= maxFigures {
			s.forgetFiltered()
		}
		c = &figuresCall{done: make(chan struct{})}
		s.figures[f] = c
	}
	s.mu.Unlock()
	if ok {
		select {
		case <-c.done:
			return c.fig, c.err
		case <-ctx.Done():
			return insights.Figures{}, ctx.Err()
		}
	}
	// The scan is shared: a page that goes away does not cancel it for
	// the others waiting on it.
	scanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), figuresTimeout)
	defer cancel()
	sc, err := insights.Scan(scanCtx, s.reads.Features, s.scanOptions(f, func(id string) bool { return flagged[id] }))
	if err == nil {
		c.fig = sc.Figures
	}
	c.err = err
	close(c.done)
	if err != nil { // not kept: the next call tries again
		s.mu.Lock()
		if s.figures[f] == c { // not forgotten and asked again meanwhile
			delete(s.figures, f)
		}
		s.mu.Unlock()
	}
	return c.fig, err
}

// scanOptions are the options of a scan of the figures f selects.
func (s *storeScores) scanOptions(f insights.Filter, flagged func(string) bool) insights.ScanOptions {
	return insights.ScanOptions{Now: s.now, Segmentation: s.seg, Filter: f, Flagged: flagged, Won: s.reads.Won, Thresholds: s.thresholds}
}

// forgetFiltered drops the figures kept for filters, keeping the
// unfiltered ones; s.mu is held.
func (s *storeScores) forgetFiltered() {
	for f := range s.figures {
		if f != (insights.Filter{}) {
			delete(s.figures, f)
		}
	}
}

// Scored reads the accounts of ids and scores them at now, segmented
// with the book's thresholds.
func (s *storeScores) Scored(ctx context.Context, ids []string) ([]insights.Account, error) {
	cs, err := s.reads.Clients.Clients(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]insights.Account, len(cs))
	for i := range cs {
		f := rules.Compute(s.now, &cs[i])
		s.segmenter.Apply(cs[i].Account.ID, &f)
		out[i] = insights.NewAccount(&cs[i], f)
	}
	return out, nil
}
