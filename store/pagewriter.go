package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// PageWriter stores a sync's pages in order, each as StorePage does, for
// the holder of the source's sync lock: its writes are fenced by that
// lock (fenced.go), so no other writer can change what a page read.
//
// It keeps Redis and Go busy at once. A page's read is sent as soon as
// the page is put, before the write of the page before is queued; that
// page is planned (applied, laid out) while Redis runs the writes queued
// earlier; writes run one after the other, in order, each with its
// page's watermark, so that the watermark is never ahead of the stored
// records. A read may see any prefix of the writes not yet known done,
// so what it read is overlaid with all of them, oldest first
// (change.overlay): every read then sees the store as the pages put
// before it leave it. In a source that held no records before the sync
// (claim), a read asks Redis only about the bundles and pointers the
// pages before it wrote, and takes the others as absent.
//
// A PageWriter is not safe for concurrent use; Flush after the last Put.
type PageWriter struct {
	s      *Records
	source string
	holder string       // the sync lock's holder (LockSync)
	ahead  *pageRead    // the page put last: read sent, not planned yet
	queued []*pageWrite // writes queued and not yet seen done, oldest first
	conn   *redis.Conn  // the writes' own connection, while any is queued; nil on a cluster

	claimed bool      // the source's stored mark was set (claim)
	known   *knownIDs // what the pages planned write, when the source held no records before; else nil
}

// pageRead is a page whose read was sent.
type pageRead struct {
	page       page
	wm         connectors.Watermark
	ch         *change
	ids, packs []string // the bundles and pointer packs the read asked Redis for
	done       chan error
}

// pageWrite is a page's write, queued after the one before it.
type pageWrite struct {
	ch   *change
	l    layout
	done chan struct{}
	err  error // set before done is closed
}

// maxQueued is how many writes may wait for Redis before Put waits too.
const maxQueued = 4

// PageWriter returns a writer of source's pages for holder, which must
// hold source's sync lock (Syncs.LockSync): once another sync takes the
// lock over, its writes fail with ErrLockLost.
func (s *Records) PageWriter(source, holder string) *PageWriter {
	return &PageWriter{s: s, source: source, holder: holder}
}

// Put stores the page after those put before: it sends its read, plans
// the page put before and queues its write, and returns. It returns the
// error of reading, planning or writing any page put before, or of
// encoding this one; nothing is then in flight, and no page after the
// failed one is written.
func (w *PageWriter) Put(ctx context.Context, b model.Batch, rejects []model.Reject, wm connectors.Watermark) error {
	p, err := encodePage(w.source, b, rejects)
	if err != nil {
		return w.fail(fmt.Errorf("store: store page: %w", err))
	}
	if !w.claimed {
		if err := w.claim(ctx); err != nil {
			return w.fail(err)
		}
	}
	planned, err := w.planAhead(ctx)
	if err != nil {
		return w.fail(err)
	}
	if err := w.reap(); err != nil {
		return w.fail(err)
	}
	w.ahead = w.s.readAhead(ctx, w.source, p, wm, w.known)
	if planned != nil {
		w.queue(ctx, planned)
	}
	if len(w.queued) > maxQueued {
		<-w.queued[0].done // reaped at the next Put: a read is in flight
	}
	return nil
}

// Flush plans and writes the page put last, waits for every write and
// returns the first error.
func (w *PageWriter) Flush(ctx context.Context) error {
	planned, err := w.planAhead(ctx)
	if err != nil {
		return w.fail(err)
	}
	if planned != nil {
		w.queue(ctx, planned)
	}
	for len(w.queued) > 0 {
		<-w.queued[0].done
		if err := w.reap(); err != nil {
			return w.fail(err)
		}
	}
	w.closeConn()
	return nil
}

// fail waits for what is in flight, so that nothing is written once Put
// or Flush returned, and returns err.
func (w *PageWriter) fail(err error) error {
	if w.ahead != nil {
		<-w.ahead.done
		w.ahead = nil
	}
	for _, q := range w.queued {
		<-q.done
	}
	w.queued = nil
	w.closeConn()
	return err
}

// closeConn gives the writes' connection back, once no write is queued.
func (w *PageWriter) closeConn() {
	if w.conn != nil {
		_ = w.conn.Close() // a connection that fails to close is dropped
		w.conn = nil
	}
}

// claim sets the source's stored mark before the sync's first page is
// written, and learns whether it was set: a source never written holds
// no records but those this sync writes, so the pages' reads need ask
// Redis only about what the pages before them planned to write (known):
// a first sync of a million accounts sends fewer than 10,000 HMGETs
// instead of 580,415.
// A sync that finds the mark (a second sync, or the first one's retry)
// reads everything.
func (w *PageWriter) claim(ctx context.Context) error {
	err := w.s.rdb.SetArgs(ctx, w.s.key("stored", w.source), "1", redis.SetArgs{Get: true}).Err()
	switch {
	case errors.Is(err, redis.Nil):
		w.known = newKnownIDs(knownLevelWords)
	case err != nil:
		return fmt.Errorf("store: store page: %w", err)
	}
	w.claimed = true
	return nil
}

// readAhead sends the read of page p, which sees the store some time
// after: planAhead overlays it. known, unless nil, is what the pages
// planned before it write, in a source that held nothing else (fetch).
func (s *Records) readAhead(ctx context.Context, source string, p page, wm connectors.Watermark, known *knownIDs) *pageRead {
	r := &pageRead{page: p, wm: wm, ch: newChange(len(p.readIDs), len(p.readFields)), done: make(chan error, 1)}
	r.ch.known = known
	go func() {
		var err error
		r.ids, r.packs, err = s.fetch(ctx, r.ch, source, p.readIDs, p.readFields)
		r.done <- err
	}()
	return r
}

// planAhead plans the page whose read was sent last over the writes
// queued since before that read, and lays its write out, to queue; nil
// when no page is waiting.
func (w *PageWriter) planAhead(ctx context.Context) (*pageWrite, error) {
	r := w.ahead
	if r == nil {
		return nil, nil
	}
	w.ahead = nil
	if err := <-r.done; err != nil {
		return nil, fmt.Errorf("store: store page: %w", err)
	}
	after := make([]*change, len(w.queued))
	for i, q := range w.queued {
		after[i] = q.ch
	}
	ch, err := w.s.planRead(ctx, r.ch, w.source, &r.page, r.wm, after, r.ids, r.packs)
	if err != nil {
		return nil, fmt.Errorf("store: store page: %w", err)
	}
	l, err := ch.lay()
	if err != nil {
		return nil, fmt.Errorf("store: store page: %w", err)
	}
	if w.known != nil {
		l.remember(w.known)
	}
	return &pageWrite{ch: ch, l: l, done: make(chan struct{})}, nil
}

// queue queues q's write after the writes queued before.
func (w *PageWriter) queue(ctx context.Context, q *pageWrite) {
	var prev *pageWrite
	if n := len(w.queued); n > 0 {
		prev = w.queued[n-1]
	}
	if c, ok := w.s.rdb.(interface{ Conn() *redis.Conn }); ok && w.conn == nil {
		w.conn = c.Conn()
	}
	conn := w.conn
	go func() {
		defer close(q.done)
		if prev != nil {
			if <-prev.done; prev.err != nil {
				q.err = prev.err // never write past a page not written
				return
			}
		}
		if err := w.s.writeFenced(ctx, w.source, w.holder, q.ch, &q.l, conn); err != nil {
			q.err = fmt.Errorf("store: store page: %w", err)
		}
	}()
	w.queued = append(w.queued, q)
}

// reap forgets the writes done, oldest first, and returns the error of
// the first that failed.
func (w *PageWriter) reap() error {
	for len(w.queued) > 0 {
		select {
		case <-w.queued[0].done:
		default:
			return nil
		}
		if err := w.queued[0].err; err != nil {
			return err
		}
		w.queued = w.queued[1:]
	}
	return nil
}
