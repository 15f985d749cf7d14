package hubspot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// Sizes of the pulls.
const (
	ownersPageSize = 100
	maxRaw         = 2048 // bytes of a rejected record kept in Reject.Raw
)

// run is one pull's producer: it walks the portal and sends pages, in
// order, each with the watermark reached once it is stored.
type run struct {
	c     *Connector
	wm    connectors.Watermark // working copy; pages get clones
	send  func(connectors.Page) error
	m     mapper
	trace *connectors.Trace
	n     counts // of the object type being pulled
}

// counts sums what the pages of one object type held, for the logs.
type counts struct {
	pages, records, rejects, deleted int
}

func (c *Connector) newRun(from connectors.Watermark, send func(connectors.Page) error) *run {
	return &run{c: c, wm: from.Clone(), send: send, m: c.mapper}
}

// all runs the pull: owners, portal details, then each object type.
func (r *run) all(ctx context.Context) error {
	r.trace = connectors.ContextTrace(ctx)
	if err := r.owners(ctx); err != nil {
		return fmt.Errorf("hubspot: owners: %w", err)
	}
	if err := r.portal(ctx); err != nil {
		return fmt.Errorf("hubspot: account details: %w", err)
	}
	for _, e := range r.c.entities {
		r.n = counts{}
		err := r.entity(ctx, e)
		r.c.logger.Info("hubspot pulled", "object", e.object, "pages", r.n.pages, "records", r.n.records,
			"rejects", r.n.rejects, "deleted", r.n.deleted, "complete", err == nil)
		if err != nil {
			return fmt.Errorf("hubspot: %s: %w", e.object, err)
		}
	}
	return nil
}

// emit sends a page with the current watermark, then stops the pull if
// the daily allocation has fallen to the reserve.
func (r *run) emit(b model.Batch, rejects []model.Reject) error {
	r.n.pages++
	r.n.records += len(b.Accounts) + len(b.Contacts) + len(b.Deals) + len(b.Owners)
	r.n.rejects += len(rejects)
	r.n.deleted += len(b.Deleted)
	if err := r.send(connectors.Page{Batch: b, Rejects: rejects, Watermark: r.wm.Clone()}); err != nil {
		return err
	}
	return r.c.client.dailyStop()
}

// owners lists active then deactivated owners, a page per answer.
func (r *run) owners(ctx context.Context) error {
	for _, archived := range []string{"false", "true"} {
		q := url.Values{"limit": {strconv.Itoa(ownersPageSize)}, "archived": {archived}}
		for {
			var p page
			if err := r.c.client.get(ctx, ownersPath, q, &p); err != nil {
				return err
			}
			if err := r.emit(r.mapOwners(p.Results)); err != nil {
				return err
			}
			after := p.Paging.next()
			if after == "" {
				break
			}
			q.Set("after", after)
		}
	}
	return nil
}

func (r *run) mapOwners(raws []json.RawMessage) (model.Batch, []model.Reject) {
	var b model.Batch
	var rejects []model.Reject
	for _, raw := range raws {
		var o owner
		err := json.Unmarshal(raw, &o)
		if err == nil {
			var mo model.Owner
			if mo, err = r.m.owner(o); err == nil {
				b.Owners = append(b.Owners, mo)
				continue
			}
		}
		rejects = append(rejects, r.reject(model.EntityOwner, o.ID, err, raw))
	}
	return b, rejects
}

// portal reads the portal's details once per connector: its id and app
// domain make record URLs, its time zone says when the daily allocation
// resets. Without them (a token lacking the scope) records get no URL.
func (r *run) portal(ctx context.Context) error {
	info := r.c.portal.Load()
	if info == nil {
		var got accountInfo
		if err := r.c.client.get(ctx, accountInfoPath, nil, &got); err != nil {
			if isFatal(ctx, err) {
				return err
			}
			r.c.logger.Warn("hubspot account details unavailable: records get no URL", "err", err)
			return nil
		}
		info = &got
		r.c.portal.Store(info)
		r.c.client.zone.Store(portalZone(got))
	}
	r.m.portal = info
	return nil
}

// portalZone returns the portal's time zone: its name, else its offset.
func portalZone(i accountInfo) *time.Location {
	if loc, err := time.LoadLocation(i.TimeZone); err == nil && i.TimeZone != "" {
		return loc
	}
	return time.FixedZone("portal", int(i.UTCOffsetMilliseconds/1000))
}

// entity pulls one object type: its full phase when it has none yet,
// then its incremental phase and its archived sweep.
func (r *run) entity(ctx context.Context, e *entity) error {
	if _, ok := millis(r.wm, e.key(suffixSince)); !ok {
		if err := r.full(ctx, e); err != nil {
			return err
		}
	}
	if err := r.incremental(ctx, e); err != nil {
		return err
	}
	return r.archived(ctx, e)
}

// full lists every record of e with after cursors.
func (r *run) full(ctx context.Context, e *entity) error {
	r.c.logger.Info("hubspot full sync", "object", e.object, "resumed", r.wm[e.key(suffixAfter)] != "")
	if _, ok := millis(r.wm, keyFullStarted); !ok {
		r.wm[keyFullStarted] = formatMillis(r.c.opts.Now().UnixMilli())
	}
	after := r.wm[e.key(suffixAfter)]
	if after == "" {
		if err := r.estimate(ctx, e); err != nil {
			return err
		}
	}
	v3 := r.v3Associations(e)
	q := url.Values{"limit": {strconv.Itoa(r.c.opts.PageSize)}, "properties": {strings.Join(e.properties, ",")}}
	if e.associated() && v3 {
		q.Set("associations", "companies")
	}
	for {
		if after != "" {
			q.Set("after", after)
		}
		var p page
		if err := r.c.client.get(ctx, objectsPath(e.object), q, &p); err != nil {
			return fmt.Errorf("list: %w", err)
		}
		recs := decodeAll(e, p.Results)
		companies, err := r.companies(ctx, e, recs, v3)
		if err != nil {
			return err
		}
		b, rejects := r.mapRecords(e, recs, companies)
		if after = p.Paging.next(); after != "" {
			r.wm[e.key(suffixAfter)] = after
		} else {
			r.fullDone(e)
		}
		if err := r.emit(b, rejects); err != nil {
			return err
		}
		if after == "" {
			return nil
		}
	}
}

// v3Associations reports whether the list's associations=companies is
// enough: not when contacts' association labels are needed.
func (r *run) v3Associations(e *entity) bool {
	return !(e.model == model.EntityContact && r.m.mapping.PrimaryContact.AssociationLabel != "")
}

// fullDone switches e to incremental from the time the full phases
// started, and drops that time once every type is incremental.
func (r *run) fullDone(e *entity) {
	started := r.wm[keyFullStarted]
	delete(r.wm, e.key(suffixAfter))
	delete(r.wm, e.key(suffixTies))
	delete(r.wm, e.key(suffixTie))
	if ms, ok := millis(r.wm, keyFullStarted); ok {
		r.wm[e.key(suffixSince)] = formatMillis(ms - r.c.opts.Overlap.Milliseconds())
	}
	if _, ok := millis(r.wm, e.key(suffixArchived)); !ok {
		r.wm[e.key(suffixArchived)] = started
	}
	for _, other := range r.c.entities {
		if _, ok := millis(r.wm, other.key(suffixSince)); !ok {
			return
		}
	}
	delete(r.wm, keyFullStarted)
}

// estimate tells the trace how many records e has, from a one-record
// search; it is best effort.
func (r *run) estimate(ctx context.Context, e *entity) error {
	var p page
	req := searchRequest{Properties: []string{objectIDProperty}, Limit: 1}
	if err := r.c.client.post(ctx, r.c.client.search, searchPath(e.object), req, &p); err != nil {
		if isFatal(ctx, err) {
			return fmt.Errorf("search: %w", err)
		}
		r.c.logger.Debug("hubspot count unavailable", "object", e.object, "err", err)
		return nil
	}
	if p.Total != nil {
		r.trace.Estimated(e.model, *p.Total)
	}
	return nil
}

// incremental searches e's records modified since the watermark.
func (r *run) incremental(ctx context.Context, e *entity) error {
	horizon := r.c.opts.Now().Add(-r.c.opts.Overlap).UnixMilli()
	cur := readCursor(r.wm, e, horizon)
	for first := true; ; first = false {
		var p page
		if err := r.c.client.post(ctx, r.c.client.search, searchPath(e.object), cur.query(e), &p); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		if first && p.Total != nil {
			r.trace.Estimated(e.model, *p.Total)
		}
		fresh, more := cur.step(decodeAll(e, p.Results), len(p.Results) >= SearchPageSize)
		companies, err := r.companies(ctx, e, fresh, false)
		if err != nil {
			return err
		}
		b, rejects := r.mapRecords(e, fresh, companies)
		if cur.save(r.wm, e, !more) || len(fresh) > 0 {
			if err := r.emit(b, rejects); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

// archived sweeps e's archived records and deletes those archived since
// the last sweep (less Overlap). The list cannot be filtered by date, so
// the sweep reads it all (HubSpot keeps archived records for 90 days):
// it runs at most every ArchivedEvery.
func (r *run) archived(ctx context.Context, e *entity) error {
	next, ok := millis(r.wm, e.key(suffixArchivedNext))
	if !ok {
		next = r.c.opts.Now().UnixMilli()
	}
	since, swept := millis(r.wm, e.key(suffixArchived)) // 0: delete every archived record
	if swept && r.wm[e.key(suffixArchivedFrom)] == "" && next-since < r.c.opts.ArchivedEvery.Milliseconds() {
		return nil // swept recently; no sweep under way
	}
	threshold := since - r.c.opts.Overlap.Milliseconds()
	q := url.Values{"limit": {strconv.Itoa(r.c.opts.PageSize)}, "archived": {"true"}, "properties": {objectIDProperty}}
	if after := r.wm[e.key(suffixArchivedFrom)]; after != "" {
		q.Set("after", after)
	}
	for {
		var p page
		if err := r.c.client.get(ctx, objectsPath(e.object), q, &p); err != nil {
			return fmt.Errorf("archived: %w", err)
		}
		b, rejects := r.deletions(e, p.Results, threshold)
		after := p.Paging.next()
		if after != "" {
			r.wm[e.key(suffixArchivedFrom)] = after
			r.wm[e.key(suffixArchivedNext)] = formatMillis(next)
		} else {
			r.wm[e.key(suffixArchived)] = formatMillis(next)
			delete(r.wm, e.key(suffixArchivedFrom))
			delete(r.wm, e.key(suffixArchivedNext))
		}
		if err := r.emit(b, rejects); err != nil {
			return err
		}
		if after == "" {
			return nil
		}
		q.Set("after", after)
	}
}

// deletions returns the Deleted of archived records archived at or after
// threshold (or at an unknown time).
func (r *run) deletions(e *entity, raws []json.RawMessage, threshold int64) (model.Batch, []model.Reject) {
	var b model.Batch
	var rejects []model.Reject
	for _, raw := range raws {
		var o object
		if err := json.Unmarshal(raw, &o); err != nil || o.ID == "" {
			rejects = append(rejects, r.reject(e.model, o.ID, cmp.Or(err, errors.New("archived record without an id")), raw))
			continue
		}
		if at, err := parseTime(o.ArchivedAt); err == nil && !at.IsZero() && at.UnixMilli() < threshold {
			continue
		}
		b.Deleted = append(b.Deleted, model.Deletion{Entity: e.model, ID: model.ID(r.m.source, o.ID)})
	}
	return b, rejects
}

// decoded is one record of a page: decoded, or the reason it is not, with
// what paging needs of it.
type decoded struct {
	raw    json.RawMessage
	obj    *object
	err    error
	id     string
	mod    int64 // modified time (ms), when hasMod
	hasMod bool
}

// decodeAll decodes each record on its own, so that one bad record
// cannot spoil its page.
func decodeAll(e *entity, raws []json.RawMessage) []decoded {
	out := make([]decoded, len(raws))
	for i, raw := range raws {
		d := &out[i]
		d.raw = raw
		o := new(object)
		if err := json.Unmarshal(raw, o); err != nil {
			d.err = fmt.Errorf("malformed record: %w", err)
			d.keyOf(e, raw)
			continue
		}
		d.obj, d.id = o, o.ID
		if o.ID == "" {
			d.err = errors.New("record without an id")
		}
		if t, err := parseTime(cmp.Or(o.prop(e.modified), o.UpdatedAt)); err == nil && !t.IsZero() {
			d.mod, d.hasMod = t.UnixMilli(), true
		}
	}
	return out
}

// keyOf reads the id and modified time of a record that does not decode.
func (d *decoded) keyOf(e *entity, raw json.RawMessage) {
	var k key
	if json.Unmarshal(raw, &k) != nil {
		return
	}
	d.id = k.ID
	var v string
	if json.Unmarshal(k.Properties[e.modified], &v) != nil {
		return
	}
	if t, err := parseTime(v); err == nil && !t.IsZero() {
		d.mod, d.hasMod = t.UnixMilli(), true
	}
}

// companies returns the company of each contact or deal in recs, by id:
// from the list's associations when v3, else from one v4 batch read.
func (r *run) companies(ctx context.Context, e *entity, recs []decoded, v3 bool) (map[string]company, error) {
	if !e.associated() {
		return nil, nil
	}
	out := make(map[string]company, len(recs))
	in := batchRead{Inputs: make([]objectID, 0, len(recs))}
	for _, d := range recs {
		switch {
		case d.obj == nil || d.err != nil:
		case v3:
			out[d.id] = company{id: primaryV3(d.obj, e.v3Primary)}
		default:
			in.Inputs = append(in.Inputs, objectID{ID: d.id})
		}
	}
	if v3 || len(in.Inputs) == 0 {
		return out, nil
	}
	var resp batchAssociations
	if err := r.c.client.post(ctx, r.c.client.api, associationsPath(e.object), in, &resp); err != nil {
		return nil, fmt.Errorf("associations: %w", err)
	}
	for _, res := range resp.Results {
		out[res.From.ID] = primaryV4(res.To, e.primary)
	}
	return out, nil
}

// primaryV3 picks the primary company from a list's associations, else
// the first.
func primaryV3(o *object, primaryType string) string {
	res := o.Associations["companies"].Results
	for _, a := range res {
		if a.Type == primaryType {
			return a.ID
		}
	}
	if len(res) > 0 {
		return res[0].ID
	}
	return ""
}

// primaryV4 picks the association with the primary type id, else the
// first, with its user-defined labels.
func primaryV4(to []associatedV4, primary int) company {
	pick := -1
	for i, t := range to {
		for _, at := range t.AssociationTypes {
			if at.TypeID == primary && at.Category == "HUBSPOT_DEFINED" && pick < 0 {
				pick = i
			}
		}
	}
	if pick < 0 && len(to) > 0 {
		pick = 0
	}
	if pick < 0 {
		return company{}
	}
	c := company{id: string(to[pick].ToObjectID)}
	for _, at := range to[pick].AssociationTypes {
		if at.Category == "USER_DEFINED" && at.Label != nil {
			c.labels = append(c.labels, *at.Label)
		}
	}
	return c
}

// mapRecords maps a page's records; those that do not map become rejects.
func (r *run) mapRecords(e *entity, recs []decoded, companies map[string]company) (model.Batch, []model.Reject) {
	var b model.Batch
	var rejects []model.Reject
	switch e.model {
	case model.EntityAccount:
		b.Accounts = make([]model.Account, 0, len(recs))
	case model.EntityContact:
		b.Contacts = make([]model.Contact, 0, len(recs))
	case model.EntityDeal:
		b.Deals = make([]model.Deal, 0, len(recs))
	}
	for _, d := range recs {
		err := d.err
		if err == nil {
			err = r.mapOne(e, &b, d.obj, companies[d.id])
		}
		if err != nil {
			rejects = append(rejects, r.reject(e.model, d.id, err, d.raw))
		}
	}
	return b, rejects
}

// mapOne maps one record into b, with the records merged into it as
// deletions.
func (r *run) mapOne(e *entity, b *model.Batch, o *object, c company) error {
	switch e.model {
	case model.EntityAccount:
		a, err := r.m.account(o)
		if err != nil {
			return err
		}
		b.Accounts = append(b.Accounts, a)
	case model.EntityContact:
		ct, err := r.m.contact(o, c)
		if err != nil {
			return err
		}
		b.Contacts = append(b.Contacts, ct)
	case model.EntityDeal:
		d, err := r.m.deal(o, c)
		if err != nil {
			return err
		}
		b.Deals = append(b.Deals, d)
	}
	for _, id := range merged(o) {
		b.Deleted = append(b.Deleted, model.Deletion{Entity: e.model, ID: model.ID(r.m.source, id)})
	}
	return nil
}

// reject sets a record aside with the reason and its raw JSON.
func (r *run) reject(entity, id string, err error, raw []byte) model.Reject {
	return model.Reject{
		Source: r.m.source,
		Entity: entity,
		Where:  cmp.Or(id, "(no id)"),
		Reason: err.Error(),
		At:     r.c.opts.Now(),
		Raw:    truncate(raw, maxRaw),
	}
}

// truncate cuts b to at most n bytes on a rune boundary.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n])
}
