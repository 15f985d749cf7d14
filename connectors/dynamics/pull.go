package dynamics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// Watermark key suffixes: "accounts.delta" is the delta link of the next
// read of accounts, "accounts.next" the next page of the read under way;
// both are kept relative to the Web API root.
const (
	suffixDelta = ".delta"
	suffixNext  = ".next"
)

// Pull reads the currencies and the owners, then accounts, contacts and
// opportunities changed since from (everything when from is empty, or when Dataverse has
// expired its delta tokens), and the accounts and contacts whose
// activities changed, and calls fn with a page per Web API page. It
// returns fn's error, a *connectors.StopError when Dataverse asks to wait
// longer than the retry loop allows, or an error wrapping
// connectors.ErrAuth when it refuses the credentials or a privilege.
func (c *Connector) Pull(ctx context.Context, from connectors.Watermark, fn connectors.PageFunc) error {
	wm, err := c.startWatermark(from)
	if err != nil {
		return err
	}
	p := &puller{c: c, Pager: connectors.NewPager(wm, from, fn), started: c.now(), fresh: map[string]bool{}}
	if p.currencies, err = c.currencies(ctx); err != nil {
		return err
	}
	err = p.run(ctx)
	if !errors.Is(err, errDeltaExpired) {
		return err
	}
	c.logger.Warn("dataverse expired the delta tokens; reading everything again and removing what is gone", "err", err)
	if err := p.resync(ctx); err != nil {
		return err
	}
	err = p.run(ctx)
	if errors.Is(err, errDeltaExpired) {
		return fmt.Errorf("dynamics: a delta token expired again right after a full read: %w", err)
	}
	return err
}

// startWatermark checks a stored watermark: its links must be relative
// to the Web API root, so that a token never leaves for another host.
func (c *Connector) startWatermark(from connectors.Watermark) (connectors.Watermark, error) {
	for k, v := range from {
		if k == keyActivitySince {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return nil, fmt.Errorf("dynamics: watermark %s: %q is not a time; reset the source's watermark", k, v)
			}
			continue
		}
		if strings.Contains(v, "://") || strings.HasPrefix(v, "/") {
			return nil, fmt.Errorf("dynamics: watermark %s: %q is not a Web API link; reset the source's watermark", k, v)
		}
	}
	return from.Clone(), nil
}

// puller is one Pull.
type puller struct {
	c                *Connector
	connectors.Pager // the watermark reached and the pages' hand-over
	started          time.Time
	currencies       map[string]string
	fresh            map[string]bool      // entity sets read from their start in this pull
	activity         map[string]time.Time // every row's last activity, read once for fresh tables
}

// run reads every table, then the rows whose activities changed.
func (p *puller) run(ctx context.Context) error {
	for _, e := range p.c.entities() {
		if err := p.read(ctx, e); err != nil {
			return err
		}
	}
	if err := p.touched(ctx); err != nil {
		return err
	}
	return p.flush(ctx)
}

// resync forgets every delta link and opens a sweep, so that the rows
// deleted while the tokens were valid no longer go away at the end.
func (p *puller) resync(ctx context.Context) error {
	wm := p.WM.Clone()
	maps.DeleteFunc(wm, func(k, _ string) bool {
		return strings.HasSuffix(k, suffixDelta) || strings.HasSuffix(k, suffixNext)
	})
	p.WM = wm
	if p.c.opts.BeginSweep == nil {
		p.c.logger.Warn("no sweep configured: rows deleted while the delta tokens were expired stay until the next full sync")
		return nil
	}
	if err := p.c.opts.BeginSweep(ctx, p.c.now()); err != nil {
		return fmt.Errorf("dynamics: begin sweep: %w", err)
	}
	return nil
}

// flush hands over a watermark no page carried yet.
func (p *puller) flush(ctx context.Context) error {
	return p.Emit(ctx, connectors.Page{})
}

// read pages through one table: from the page a previous pull stopped
// at, else from its delta link, else from the start.
func (p *puller) read(ctx context.Context, e *entity) error {
	link, resumed := p.start(e), false
	if next := p.WM[e.set+suffixNext]; e.tracks && next != "" {
		link, resumed = p.c.api+next, true
	}
	for {
		col, err := p.c.get(ctx, link, prefer{track: e.tracks, pageSize: p.c.opts.PageSize})
		if resumed && stale(err) {
			// A paging cookie kept since an interrupted pull may be gone:
			// read again from where that read started.
			p.c.logger.Warn("the page an earlier pull stopped at is gone; reading the table again", "table", e.set, "err", err)
			p.Set(e.set+suffixNext, "")
			link, resumed = p.start(e), false
			continue
		}
		resumed = false
		if err != nil {
			return p.c.readError(e, err)
		}
		page, err := p.decode(ctx, e, col)
		if err != nil {
			return err
		}
		if e.tracks {
			if err := p.advance(e, col); err != nil {
				return err
			}
		}
		if err := p.Emit(ctx, page); err != nil {
			return err
		}
		if col.NextLink == "" {
			return nil
		}
		link = col.NextLink
	}
}

// start returns the link a read of e starts from: its delta link, else
// the table from its start (which marks it fresh).
func (p *puller) start(e *entity) string {
	if delta := p.WM[e.set+suffixDelta]; e.tracks && delta != "" {
		return p.c.api + delta
	}
	if e.tracks {
		p.fresh[e.set] = true
	}
	return p.c.api + e.set + "?" + selectQuery(e)
}

// stale reports whether a link kept in the watermark was refused as
// unknown (not as expired: that needs a full read).
func stale(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && !errors.Is(err, errDeltaExpired) &&
		(ae.Status == http.StatusBadRequest || ae.Status == http.StatusNotFound || ae.Status == http.StatusGone)
}

// advance records where a tracked read stands after a page: its next
// page, or once on its last page, the delta link of the next read.
func (p *puller) advance(e *entity, col *collection) error {
	switch {
	case col.NextLink != "":
		rel, err := p.c.relative(col.NextLink)
		if err != nil {
			return fmt.Errorf("dynamics: %s: @odata.nextLink: %w", e.set, err)
		}
		p.Set(e.set+suffixNext, rel)
	case col.DeltaLink != "":
		rel, err := p.c.relative(col.DeltaLink)
		if err != nil {
			return fmt.Errorf("dynamics: %s: @odata.deltaLink: %w", e.set, err)
		}
		p.Set(e.set+suffixNext, "")
		p.Set(e.set+suffixDelta, rel)
	default:
		return fmt.Errorf("dynamics: %s: the last page of a tracked read has no @odata.deltaLink; is change tracking enabled on the table?", e.set)
	}
	return nil
}

// decode maps a page's rows, with the last activity of accounts and
// contacts: from every activity for a table read from its start, else
// aggregated for the page's rows.
func (p *puller) decode(ctx context.Context, e *entity, col *collection) (connectors.Page, error) {
	d := &decoder{c: p.c, at: p.c.now(), currencies: p.currencies}
	var err error
	switch {
	case e.kind != model.EntityAccount && e.kind != model.EntityContact:
	case p.fresh[e.set]:
		if p.activity == nil {
			if p.activity, err = p.c.allActivity(ctx); err != nil {
				return connectors.Page{}, err
			}
		}
		d.activity = p.activity
	default:
		if d.activity, err = p.c.lastActivity(ctx, rowIDs(e, col)); err != nil {
			return connectors.Page{}, err
		}
	}
	var page connectors.Page
	d.decode(&page, e, col.Value)
	return page, nil
}

// relative returns a link Dataverse sent relative to the Web API root.
func (c *Connector) relative(link string) (string, error) {
	rel, ok := strings.CutPrefix(link, c.api)
	if !ok || rel == "" {
		return "", fmt.Errorf("%q is not under %s", link, c.api)
	}
	return rel, nil
}

// readError explains a failed read of e.
func (c *Connector) readError(e *entity, err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == 400 && strings.Contains(strings.ToLower(ae.Message), "change tracking") {
		return fmt.Errorf("dynamics: %s: %w (enable Track changes on the table in Power Apps: Tables, %s, Properties, Advanced options)", e.set, err, e.set)
	}
	return fmt.Errorf("dynamics: %s: %w", e.set, err)
}

// selectQuery returns $select with e's key and columns.
func selectQuery(e *entity) string {
	return "$select=" + strings.Join(append([]string{e.key}, e.cols...), ",")
}

// currencies reads the organization's currencies: id → ISO code.
func (c *Connector) currencies(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	link := c.api + "transactioncurrencies?$select=transactioncurrencyid,isocurrencycode"
	for link != "" {
		col, err := c.get(ctx, link, prefer{})
		if err != nil {
			return nil, fmt.Errorf("dynamics: transactioncurrencies: %w", err)
		}
		for _, raw := range col.Value {
			r, err := newReader(raw)
			if err != nil {
				continue
			}
			id, _ := r.probe("transactioncurrencyid")
			code, _ := r.probe("isocurrencycode")
			if id != "" && code != "" {
				out[strings.ToLower(id)] = strings.ToUpper(code)
			}
		}
		link = col.NextLink
	}
	return out, nil
}

// orFilter returns "col eq id1 or col eq id2 ...".
func orFilter(col string, ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = col + " eq " + id
	}
	return strings.Join(parts, " or ")
}

// escape encodes a query option's value, keeping the characters OData
// expressions use readable.
func escape(v string) string {
	return strings.NewReplacer("+", "%2B", "&", "%26", "=", "%3D").Replace(url.PathEscape(v))
}
