package sellsy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// Watermark keys: "{stream}.since" is the latest stamp a finished read
// saw (RFC 3339), "{stream}.offset" the seek offset of the read under way
// and "{stream}.from" its filter start ("" for a read of everything);
// keyFull is when the last read of everything began.
const (
	suffixSince  = ".since"
	suffixOffset = ".offset"
	suffixFrom   = ".from"
	keyFull      = "full.at"
)

// stream is one search read through with seek paging.
type stream struct {
	name   string // watermark prefix and search path: "companies"
	kind   string // kind of object: kindCompany
	filter string // the date filter of incremental reads: "updated_at"
	order  string // order param, "" for Sellsy's (id)
	embed  bool   // embed[]=owner
	// createdOnly marks the read of opportunities created since: it
	// runs only when opportunities were not read in full by this pull.
	createdOnly bool
}

var streams = []stream{
	{name: "companies", kind: kindCompany, filter: "updated_at", order: "updated_at", embed: true},
	{name: "individuals", kind: kindIndividual, filter: "updated_at", order: "updated_at", embed: true},
	{name: "contacts", kind: kindContact, filter: "updated", embed: true},
	{name: "opportunities", kind: kindOpportunity, filter: "updated_status"},
	{name: "opportunities-created", kind: kindOpportunity, filter: "created", createdOnly: true},
}

// Pull reads the staff, then the companies, individuals, contacts and
// opportunities changed since from (everything when from is empty, or
// when a periodic full re-read is due), then the records whose CRM
// activities changed, and calls fn with a page per API page. It returns
// fn's error, a *connectors.StopError when the day's quota is spent, or
// an error wrapping connectors.ErrAuth when Sellsy refuses the
// credentials or a scope.
func (c *Connector) Pull(ctx context.Context, from connectors.Watermark, fn connectors.PageFunc) error {
	if err := c.checkWatermark(from); err != nil {
		return err
	}
	p := &puller{c: c, Pager: connectors.NewPager(from.Clone(), from, fn), started: c.now(),
		fresh: map[string]bool{}, emitted: map[string]bool{}, mains: map[string]string{}}
	p.dec = &decoder{c: c, at: p.started, seen: map[string]bool{}}
	if err := p.maybeFull(ctx); err != nil {
		return err
	}
	if err := p.staff(ctx); err != nil {
		return err
	}
	for _, s := range streams {
		if err := p.read(ctx, s); err != nil {
			return err
		}
	}
	if err := p.touched(ctx); err != nil {
		return err
	}
	return p.Emit(ctx, connectors.Page{})
}

// checkWatermark checks that a stored watermark's times parse.
func (c *Connector) checkWatermark(from connectors.Watermark) error {
	for k, v := range from {
		if strings.HasSuffix(k, suffixSince) || k == keyFull || (strings.HasSuffix(k, suffixFrom) && v != "") {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return fmt.Errorf("sellsy: watermark %s: %q is not a time; reset the source's watermark", k, v)
			}
		}
	}
	return nil
}

// puller is one Pull.
type puller struct {
	c                *Connector
	connectors.Pager // the watermark reached and the pages' hand-over
	started          time.Time
	dec              *decoder
	fresh            map[string]bool   // streams read in full in this pull
	emitted          map[string]bool   // "company:51234" handed over in this pull
	mains            map[string]string // contact id → internal id of the company it is main contact of
	all              map[string]time.Time
}

// maybeFull starts a read of everything when the last one is older than
// FullEvery: every stream's position is dropped and a sweep opened, so
// that the records deleted since are removed at the end of the sync.
func (p *puller) maybeFull(ctx context.Context) error {
	incremental := false
	for k := range p.WM {
		incremental = incremental || strings.HasSuffix(k, suffixSince)
	}
	if !incremental {
		if p.WM[keyFull] == "" {
			p.Set(keyFull, p.started.Format(time.RFC3339))
		}
		return nil
	}
	last, err := time.Parse(time.RFC3339, p.WM[keyFull])
	if p.c.opts.FullEvery < 0 || err == nil && p.started.Sub(last) < p.c.opts.FullEvery {
		return nil
	}
	p.c.logger.Info("periodic full read: reading everything again and removing what is gone", "last", p.WM[keyFull])
	wm := connectors.Watermark{keyFull: p.started.Format(time.RFC3339)}
	if v := p.WM[keyActivitySince]; v != "" {
		wm[keyActivitySince] = v
	}
	p.WM = wm
	if p.c.opts.BeginSweep == nil {
		p.c.logger.Warn("no sweep configured: objects deleted in Sellsy stay until a sync from scratch")
		return nil
	}
	if err := p.c.opts.BeginSweep(ctx, p.started); err != nil {
		return fmt.Errorf("sellsy: begin sweep: %w", err)
	}
	return nil
}

// staff reads every staff member (GET /staffs); it is small, and not
// swept.
func (p *puller) staff(ctx context.Context) error {
	offset := ""
	for {
		q := p.query("", offset)
		pg, err := p.c.list(ctx, "/staffs", q, nil)
		if err != nil {
			return fmt.Errorf("sellsy: staffs: %w", err)
		}
		var page connectors.Page
		p.dec.decode(&page, kindStaff, pg.Data)
		if err := p.Emit(ctx, page); err != nil {
			return err
		}
		if len(pg.Data) < p.c.opts.PageSize || pg.offset() == "" {
			return nil
		}
		offset = pg.offset()
	}
}

// query returns a list's query: limit, order, seek offset.
func (p *puller) query(order, offset string) url.Values {
	q := url.Values{"limit": {strconv.Itoa(p.c.opts.PageSize)}}
	if order != "" {
		q.Set("order", order)
		q.Set("direction", "asc")
	}
	if offset != "" {
		q.Set("offset", offset)
	}
	return q
}

// start returns where a read of s starts: its filter start ("" reads
// everything) and whether it is resumed at a kept offset.
func (p *puller) start(s stream) (from, offset string, skip bool) {
	if off := p.WM[s.name+suffixOffset]; off != "" {
		return p.WM[s.name+suffixFrom], off, false
	}
	since := p.WM[s.name+suffixSince]
	if s.createdOnly && (since == "" || p.fresh["opportunities"]) {
		// Everything was read by the opportunities stream.
		p.Set(s.name+suffixSince, p.started.Format(time.RFC3339))
		return "", "", true
	}
	if since == "" {
		return "", "", false
	}
	t, _ := time.Parse(time.RFC3339, since) // checked by checkWatermark
	t = t.Add(-p.c.opts.Overlap)
	if s.name == "opportunities" && p.c.opts.WonRescan > 0 {
		// Rescan the recent status changes: amount edits of won deals
		// move no date Sellsy can filter on.
		if r := p.started.Add(-p.c.opts.WonRescan); r.Before(t) {
			t = r
		}
	}
	return t.UTC().Format(time.RFC3339), "", false
}

// read pages through one stream from its start.
func (p *puller) read(ctx context.Context, s stream) error {
	from, offset, skip := p.start(s)
	if skip {
		return nil
	}
	p.fresh[s.name] = from == ""
	filters := map[string]any{}
	if from != "" {
		filters[s.filter] = map[string]string{"start": from}
	}
	var newest time.Time
	for {
		q := p.query(s.order, offset)
		if s.embed {
			q.Set("embed[]", "owner")
		}
		pg, err := p.c.list(ctx, "/"+strings.Split(s.name, "-")[0]+"/search", q, filters)
		if offset != "" && errors.Is(err, errOffset) {
			p.c.logger.Warn("sellsy refused a kept offset; reading the stream again from its start", "stream", s.name, "err", err)
			offset = ""
			p.Set(s.name+suffixOffset, "")
			continue
		}
		if err != nil {
			return fmt.Errorf("sellsy: %s: %w", s.name, err)
		}
		page, err := p.decode(ctx, s, pg)
		if err != nil {
			return err
		}
		newest = latest(newest, stampOf(s, pg))
		more := len(pg.Data) >= p.c.opts.PageSize && pg.offset() != ""
		if more {
			offset = pg.offset()
			p.Set(s.name+suffixFrom, from)
			p.Set(s.name+suffixOffset, offset)
		} else {
			p.finish(s, newest)
		}
		if err := p.Emit(ctx, page); err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

// finish ends a read: the next one starts from the newest stamp seen
// (kept when nothing newer was seen; the pull's start when nothing at all
// was).
func (p *puller) finish(s stream, newest time.Time) {
	p.Set(s.name+suffixOffset, "")
	p.Set(s.name+suffixFrom, "")
	prev, err := time.Parse(time.RFC3339, p.WM[s.name+suffixSince])
	switch {
	case !newest.IsZero() && (err != nil || newest.After(prev)):
		p.Set(s.name+suffixSince, newest.UTC().Format(time.RFC3339))
	case err != nil:
		p.Set(s.name+suffixSince, p.started.Format(time.RFC3339))
	}
}

// stampOf returns the newest value of s's filter field on a page.
func stampOf(s stream, pg *page) time.Time {
	var newest time.Time
	for _, raw := range pg.Data {
		r, err := newReader(raw)
		if err != nil {
			continue
		}
		newest = latest(newest, r.Datetime(s.filter))
	}
	return newest
}

// decode maps a page of s with what its objects need: the last activity
// of accounts and contacts, and the company of each contact.
func (p *puller) decode(ctx context.Context, s stream, pg *page) (connectors.Page, error) {
	var page connectors.Page
	d := p.dec
	d.activity, d.links = nil, nil
	if s.kind != kindOpportunity {
		act, err := p.activityFor(ctx, s.kind, p.fresh[s.name], pg.Data)
		if err != nil {
			return page, err
		}
		d.activity = act
	}
	if s.kind == kindContact {
		links, err := p.linksFor(ctx, pg.Data)
		if err != nil {
			return page, err
		}
		d.links = links
	}
	objs := pg.Data
	if s.createdOnly { // the status read may have handed some over
		objs = slices.DeleteFunc(slices.Clone(objs), func(raw json.RawMessage) bool {
			var o object
			return json.Unmarshal(raw, &o) == nil && p.emitted[s.kind+":"+o.probeID("id")]
		})
	}
	d.decode(&page, s.kind, objs)
	for _, raw := range pg.Data {
		if r, err := newReader(raw); err == nil {
			id := r.Fields.probeID("id")
			p.emitted[s.kind+":"+id] = true
			if main := r.Fields.probeID(p.c.mapping.PrimaryContact.Field); s.kind == kindCompany && main != "" && p.mains[main] == "" {
				p.mains[main] = model.ID(p.c.opts.Source, p.c.extID(kindCompany, id))
			}
		}
	}
	return page, nil
}
