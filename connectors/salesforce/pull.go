package salesforce

import (
	"context"
	"encoding/json"
	"maps"
	"sync"
	"time"

	"github.com/crmsync/crmsync/connectors"
)

// maxRestarts bounds the queries restarted in a row after their cursor
// expired (INVALID_QUERY_LOCATOR).
const maxRestarts = 3

// result is what the fetching goroutine hands over: a page or the error
// that ended the pull.
type result struct {
	page connectors.Page
	err  error
}

// Pull reads owners, accounts, contacts and opportunities changed since
// from (everything when from is empty), the deletions of the last three,
// and again the accounts and contacts named by the tasks and events
// changed since from, and calls fn with a page per query page. A
// goroutine fetches the next page while fn stores the current one, never
// more than one ahead.
// It returns fn's error, a *connectors.StopError when the org's daily
// allocation runs low (every page before was handed to fn), or an error
// wrapping connectors.ErrAuth when Salesforce refuses the credentials.
func (c *Connector) Pull(ctx context.Context, from connectors.Watermark, fn connectors.PageFunc) error {
	wm, err := c.startWatermark(from)
	if err != nil {
		return err
	}
	c.limits.reset()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &puller{
		c:       c,
		wm:      wm,
		dirty:   !maps.Equal(wm, from),
		horizon: c.now().Add(-c.opts.Overlap).Truncate(time.Second),
		trace:   connectors.ContextTrace(ctx),
		out:     make(chan result, 1),
		credit:  make(chan struct{}, 1),
	}
	p.credit <- struct{}{}
	wg.Go(func() {
		defer close(p.out)
		if err := p.run(ctx); err != nil {
			p.send(ctx, result{err: err})
		}
	})
	return p.consume(ctx, fn)
}

// puller is one Pull's fetching side. Pages travel over out (capacity 1);
// the producer takes a credit before fetching each page and consume gives
// one back when it takes a page, so the producer fetches page N+1 while
// fn stores page N but never page N+2.
type puller struct {
	c       *Connector
	wm      connectors.Watermark // reached by the pages fetched so far; never changed once handed over
	dirty   bool                 // wm moved since the last page handed over
	horizon time.Time            // no keyset position is saved past it: the pull's start less Overlap
	trace   *connectors.Trace
	out     chan result
	credit  chan struct{}
}

// consume hands the pages to fn in order until the producer is done.
func (p *puller) consume(ctx context.Context, fn connectors.PageFunc) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r, ok := <-p.out:
			if !ok {
				return nil
			}
			if r.err != nil {
				return r.err
			}
			p.credit <- struct{}{}
			if err := fn(ctx, r.page); err != nil {
				return err
			}
		}
	}
}

// run fetches every entity, then hands over a watermark not yet carried
// by a page.
func (p *puller) run(ctx context.Context) error {
	for _, e := range p.c.entities {
		if e.deletable {
			if err := p.deletions(ctx, e); err != nil {
				return err
			}
		}
		if err := p.query(ctx, e); err != nil {
			return err
		}
	}
	if !p.dirty {
		return nil
	}
	if err := p.acquire(ctx); err != nil {
		return err
	}
	return p.emit(ctx, connectors.Page{})
}

// acquire waits for the credit to fetch a page, after checking that the
// daily allocation allows more requests.
func (p *puller) acquire(ctx context.Context) error {
	if err := p.c.spent(); err != nil {
		return err
	}
	select {
	case <-p.credit:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release gives back a credit no page used.
func (p *puller) release() { p.credit <- struct{}{} }

// emit hands over a page with the watermark reached.
func (p *puller) emit(ctx context.Context, page connectors.Page) error {
	page.Watermark = p.wm
	p.dirty = false
	return p.send(ctx, result{page: page})
}

func (p *puller) send(ctx context.Context, r result) error {
	select {
	case p.out <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// set moves the watermark: a copy, since pages hold the previous one.
func (p *puller) set(kv ...string) {
	wm := p.wm.Clone()
	for i := 0; i+1 < len(kv); i += 2 {
		wm[kv[i]] = kv[i+1]
	}
	p.wm = wm
	p.dirty = true
}

// query pages through e's keyset query, handing over each page with the
// position of its last record, capped at the horizon (see save). The
// query goes on to the end all the same, and runs again, when its cursor
// expires, from the last record read.
func (p *puller) query(ctx context.Context, e *entity) error {
	from := position{ts: p.wm[e.key(keyTS)], id: p.wm[e.key(keyID)]}
	reached := from
	cur := queryCursor{soql: func() (string, error) { return e.soqlAfter(reached) }}
	for first := true; ; first = false {
		if err := p.acquire(ctx); err != nil {
			return err
		}
		res, err := p.fetch(ctx, e, &cur)
		if err != nil {
			return err
		}
		if first && !e.activity() {
			p.trace.Estimated(e.kind, res.TotalSize)
		}
		page, last, err := p.page(ctx, e, res.Records)
		if err != nil {
			return err
		}
		if last.id != "" {
			reached = last
			p.save(e, from, last)
		}
		if len(res.Records) > 0 {
			if err := p.emit(ctx, page); err != nil {
				return err
			}
		} else {
			p.release()
		}
		if res.Done {
			return nil
		}
		cur.next = res.NextRecordsURL
	}
}

// save moves e's position to pos, that of the last record read, but
// never past the horizon: Salesforce stamps SystemModstamp when the DML
// runs, not when its transaction commits, so a record stamped before pos
// may still show up. A pos after the horizon saves the horizon at the null
// id instead, unless that is not after from, where the pull started for
// e: a position never moves back.
func (p *puller) save(e *entity, from, pos position) {
	t, _ := parseDatetime(pos.ts) // checked by reader.position
	if t.After(p.horizon) {
		t, pos = p.horizon, position{ts: formatDatetime(p.horizon), id: nullID}
	}
	// A full sync starts from nowhere; else startWatermark checked from.
	if f, err := parseDatetime(from.ts); err == nil && (t.Before(f) || t.Equal(f) && pos.id == nullID) {
		return
	}
	if p.wm[e.key(keyTS)] == pos.ts && p.wm[e.key(keyID)] == pos.id {
		return
	}
	p.set(e.key(keyTS), pos.ts, e.key(keyID), pos.id)
}

// page maps the records of a page of e or, for an activity, reads again
// the records they name; it returns the position of the last record.
func (p *puller) page(ctx context.Context, e *entity, records []json.RawMessage) (connectors.Page, position, error) {
	if e.activity() {
		return p.reread(ctx, e, records)
	}
	var page connectors.Page
	last := p.decoder().decode(&page, e, records)
	return page, last, nil
}

// decoder returns a decoder for the records fetched now.
func (p *puller) decoder() *decoder {
	return &decoder{c: p.c, instance: p.c.instanceURL(), at: p.c.now()}
}

// queryCursor is where a query stands: how to (re)start it, the
// nextRecordsUrl of its next page ("" before the first) and the restarts
// in a row.
type queryCursor struct {
	soql     func() (string, error)
	next     string
	restarts int
}

// fetch gets the next page of a query of e. When Salesforce has expired
// the cursor, it runs the query again: a keyset query from the last
// record read, a query by Id from its start.
func (p *puller) fetch(ctx context.Context, e *entity, cur *queryCursor) (*queryResult, error) {
	for {
		var res *queryResult
		soql, err := cur.soql()
		switch {
		case err != nil:
		case cur.next == "":
			res, err = p.c.query(ctx, soql)
		default:
			res, err = p.c.queryMore(ctx, cur.next)
		}
		if err == nil {
			cur.restarts = 0
			return res, nil
		}
		if cur.next == "" || !hasCode(err, "INVALID_QUERY_LOCATOR") || cur.restarts >= maxRestarts {
			return nil, p.c.queryError(e, err)
		}
		cur.next = ""
		cur.restarts++
		p.c.logger.Warn("query cursor expired; querying again from the last page", "object", e.sobject)
	}
}
