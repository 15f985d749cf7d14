package dynamics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/model"
)

// Dataverse has no last activity column on accounts and contacts. Every
// page of accounts or contacts asks, for its rows, the latest actualend
// of the completed activities (statecode 1) regarding each, with one
// aggregate per activityChunk rows:
//
//	GET activitypointers?$apply=filter(statecode eq 1 and
//	  (_regardingobjectid_value eq A or ...))/groupby((_regardingobjectid_value),
//	  aggregate(actualend with max as lastactivity))
//
// A table read from its start takes the last activities from one read
// of every completed activity instead (select
// _regardingobjectid_value,actualend, filter statecode eq 1 and
// actualend ne null, pages of 5,000), kept for the pull: a request per
// 5,000 activities rather than one per 25 rows.
//
// Logging a call changes no account or contact row, so change tracking
// never sees it. A last phase therefore reads the activities modified
// since "activities.since" (the previous pull's start less
// activityOverlap), and reads again, by id, the accounts and contacts
// they regard, with their recomputed last activity. A table read from its
// start in this pull needs no catching up.

// keyActivitySince is the watermark key of the activities phase.
const keyActivitySince = "activities.since"

// activityChunk is how many rows one aggregate or one read by id names:
// 25 GUIDs keep the URL under 2 KB.
const activityChunk = 25

// activityOverlap is how far before a pull's start the next one reads
// activities again: an activity saved while the pull ran, and the clock
// skew between crmsync and Dataverse.
const activityOverlap = 5 * time.Minute

// allActivity returns the latest actualend of the completed activities
// regarding each account or contact that has one.
func (c *Connector) allActivity(ctx context.Context) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	link := c.api + "activitypointers?$select=activityid,_regardingobjectid_value,actualend" +
		"&$filter=" + escape("statecode eq 1 and actualend ne null")
	for link != "" {
		col, err := c.get(ctx, link, prefer{pageSize: MaxPageSize})
		if err != nil {
			return nil, fmt.Errorf("dynamics: activities: %w", err)
		}
		for _, raw := range col.Value {
			r, err := newReader(raw)
			if err != nil {
				return nil, fmt.Errorf("dynamics: activities: %w", err)
			}
			table, _ := r.probe("_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname")
			id := strings.ToLower(r.Str("_regardingobjectid_value"))
			at := r.Datetime("actualend")
			if r.Err() != nil {
				return nil, fmt.Errorf("dynamics: activities: %w", r.Err())
			}
			if (table == "account" || table == "contact") && at.After(out[id]) {
				out[id] = at
			}
		}
		link = col.NextLink
	}
	return out, nil
}

// rowIDs returns the ids of a page's rows, deleted stubs left out.
func rowIDs(e *entity, col *collection) []string {
	ids := make([]string, 0, len(col.Value))
	for _, raw := range col.Value {
		r, err := newReader(raw)
		if err != nil {
			continue
		}
		if _, gone := r.deleted(e); gone {
			continue
		}
		if id, _ := r.probe(e.key); guidRe.MatchString(id) {
			ids = append(ids, strings.ToLower(id))
		}
	}
	return ids
}

// lastActivity returns the latest actualend of the completed activities
// regarding each of ids, which are absent when they have none.
func (c *Connector) lastActivity(ctx context.Context, ids []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(ids))
	for chunk := range slices.Chunk(ids, activityChunk) {
		apply := "filter(statecode eq 1 and (" + orFilter("_regardingobjectid_value", chunk) + "))" +
			"/groupby((_regardingobjectid_value),aggregate(actualend with max as lastactivity))"
		col, err := c.get(ctx, c.api+"activitypointers?$apply="+escape(apply), prefer{})
		if err != nil {
			return nil, fmt.Errorf("dynamics: last activity: %w", err)
		}
		for _, raw := range col.Value {
			r, err := newReader(raw)
			if err != nil {
				return nil, fmt.Errorf("dynamics: last activity: %w", err)
			}
			id := strings.ToLower(r.Str("_regardingobjectid_value"))
			at := r.Datetime("lastactivity")
			if r.Err() != nil {
				return nil, fmt.Errorf("dynamics: last activity: %w", r.Err())
			}
			if id != "" && !at.IsZero() {
				out[id] = at
			}
		}
	}
	return out, nil
}

// touched reads again the accounts and contacts whose activities changed
// since the last pull, unless their table was read from its start.
func (p *puller) touched(ctx context.Context) error {
	horizon := p.started.Add(-activityOverlap).Truncate(time.Second)
	since := p.WM[keyActivitySince]
	if since != "" {
		ids, err := p.c.regarded(ctx, since)
		if err != nil {
			return err
		}
		for _, e := range p.c.entities() {
			if len(ids[e.kind]) == 0 || p.fresh[e.set] {
				continue
			}
			if err := p.reread(ctx, e, ids[e.kind]); err != nil {
				return err
			}
		}
	}
	if t, err := time.Parse(time.RFC3339, since); err != nil || horizon.After(t) {
		p.Set(keyActivitySince, horizon.Format(time.RFC3339))
	}
	return nil
}

// regarded returns the ids of the accounts and contacts regarded by the
// activities modified since, by model entity.
func (c *Connector) regarded(ctx context.Context, since string) (map[string][]string, error) {
	seen := map[string]bool{}
	out := map[string][]string{}
	link := c.api + "activitypointers?$select=activityid,_regardingobjectid_value,modifiedon" +
		"&$filter=" + escape("modifiedon ge "+since) + "&$orderby=" + escape("modifiedon asc,activityid asc")
	for link != "" {
		col, err := c.get(ctx, link, prefer{pageSize: c.opts.PageSize})
		if err != nil {
			return nil, fmt.Errorf("dynamics: activities: %w", err)
		}
		for _, raw := range col.Value {
			r, err := newReader(raw)
			if err != nil {
				continue
			}
			id, _ := r.probe("_regardingobjectid_value")
			table, _ := r.probe("_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname")
			kind := map[string]string{"account": model.EntityAccount, "contact": model.EntityContact}[table]
			id = strings.ToLower(id)
			if kind == "" || !guidRe.MatchString(id) || seen[id] {
				continue
			}
			seen[id] = true
			out[kind] = append(out[kind], id)
		}
		link = col.NextLink
	}
	return out, nil
}

// reread reads rows of e by id and hands them over with their last
// activity.
func (p *puller) reread(ctx context.Context, e *entity, ids []string) error {
	for chunk := range slices.Chunk(ids, activityChunk) {
		link := p.c.api + e.set + "?" + selectQuery(e) + "&$filter=" + escape(orFilter(e.key, chunk))
		col, err := p.c.get(ctx, link, prefer{})
		if err != nil {
			return p.c.readError(e, err)
		}
		page, err := p.decode(ctx, e, col)
		if err != nil {
			return err
		}
		if err := p.Emit(ctx, page); err != nil {
			return err
		}
	}
	return nil
}
