package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// PageWriter stores a sync's pages in order, each as StorePage does, but
// plans a page (reads what it touches, applies it, lays its write out)
// while Redis writes the page before: a sync then takes about the longer
// of its Go work and of Redis's, rather than their sum. A page's reads
// are overlaid with the writes of the page in flight (change.overlay),
// and its own write is sent only once that one succeeded. When it did
// not, because another writer changed what it read, the page in flight
// is stored again as StorePage does, and the next one planned again
// without the overlay. The watermark of each page is written with the
// page, in order, so that it is never ahead of the stored records.
//
// A PageWriter is not safe for concurrent use; Flush after the last Put.
//
// A PageWriter given the holder of the source's sync lock writes fenced
// by it (fenced.go): a page in flight then never conflicts, and a write
// the lock was lost before fails with ErrLockLost. Without a holder, a
// write checks every bundle it read (writeScript).
type PageWriter struct {
	s        *Records
	source   string
	holder   string       // the sync lock's holder; "" when not fenced
	inflight *pendingPage // nil when none
	redone   int          // pages stored again after a conflict
}

// pendingPage is a page whose write was sent.
type pendingPage struct {
	page page
	wm   connectors.Watermark
	ch   *change
	done chan error // gets the write's outcome
}

// PageWriter returns a writer of source's pages, fenced by the sync lock
// of holder (LockSync) unless holder is "".
func (s *Records) PageWriter(source, holder string) *PageWriter {
	return &PageWriter{s: s, source: source, holder: holder}
}

// Put stores the page after those put before: it plans the page, waits
// for the page in flight, then sends this page's write, and returns. It
// returns the error of storing the page in flight, or of planning this
// one; this page is then not stored, and nothing is in flight.
func (w *PageWriter) Put(ctx context.Context, b model.Batch, rejects []model.Reject, wm connectors.Watermark) error {
	p, err := encodePage(w.source, b, rejects)
	if err != nil {
		return errors.Join(fmt.Errorf("store: store page: %w", err), w.Flush(ctx))
	}
	var prev *change
	if w.inflight != nil {
		prev = w.inflight.ch
	}
	ch, write, err := w.plan(ctx, &p, wm, prev)
	if err != nil {
		return errors.Join(err, w.Flush(ctx))
	}
	redone, err := w.wait(ctx)
	if err != nil {
		return err
	}
	if redone && prev != nil { // planned over a write that did not happen
		if ch, write, err = w.plan(ctx, &p, wm, nil); err != nil {
			return err
		}
	}
	done := make(chan error, 1)
	go func() { done <- write(ctx) }()
	w.inflight = &pendingPage{page: p, wm: wm, ch: ch, done: done}
	return nil
}

// Flush waits for the page in flight and returns the error of storing
// it.
func (w *PageWriter) Flush(ctx context.Context) error {
	_, err := w.wait(ctx)
	return err
}

// plan plans page p over prev's writes and lays its write out: it
// returns the change and what writes it.
func (w *PageWriter) plan(ctx context.Context, p *page, wm connectors.Watermark, prev *change) (*change, func(context.Context) error, error) {
	ch, err := w.s.planPage(ctx, w.source, p, wm, prev)
	if err != nil {
		return nil, nil, fmt.Errorf("store: store page: %w", err)
	}
	if w.holder != "" {
		l, err := ch.lay()
		if err != nil {
			return nil, nil, fmt.Errorf("store: store page: %w", err)
		}
		return ch, func(ctx context.Context) error { return w.s.writeFenced(ctx, w.source, w.holder, ch, &l) }, nil
	}
	args, err := ch.args(w.s.key(), w.source)
	if err != nil {
		return nil, nil, fmt.Errorf("store: store page: %w", err)
	}
	return ch, func(ctx context.Context) error { return w.s.runWrite(ctx, args) }, nil
}

// wait waits for the write in flight. A write that conflicted is stored
// again (redone); another error is returned.
func (w *PageWriter) wait(ctx context.Context) (redone bool, err error) {
	pp := w.inflight
	if pp == nil {
		return false, nil
	}
	w.inflight = nil
	err = <-pp.done
	if !errors.Is(err, errConflict) {
		if err != nil {
			return false, fmt.Errorf("store: store page: %w", err)
		}
		return false, nil
	}
	w.redone++
	return true, w.s.storeEncoded(ctx, w.source, &pp.page, pp.wm)
}
