package hubspot

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/connectors"
)

// Watermark keys (see the package documentation).
const (
	keyFullStarted     = "full.started"
	suffixAfter        = "after"
	suffixSince        = "since"
	suffixTies         = "ties"
	suffixTie          = "tie"
	suffixArchived     = "archived"
	suffixArchivedNext = "archived.next"
	suffixArchivedFrom = "archived.after"
)

// key returns the watermark key of one of e's values.
func (e *entity) key(suffix string) string { return e.object + "." + suffix }

// millis reads a time kept in the watermark.
func millis(wm connectors.Watermark, key string) (int64, bool) {
	n, err := strconv.ParseInt(wm[key], 10, 64)
	return n, err == nil
}

func formatMillis(ms int64) string { return strconv.FormatInt(ms, 10) }

// isID reports whether v looks like a HubSpot record id.
func isID(v string) bool {
	_, err := strconv.ParseUint(v, 10, 64)
	return err == nil
}

// idLess orders numeric ids without parsing them.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// cursor is an incremental phase's position: every record modified
// before since is delivered, and so are those modified at since listed
// in ties or, while walking since by id (tie != ""), those with an id up
// to tie. Search shows changes with a delay, so a position is only
// trusted up to the horizon (the pull's start less Overlap): records
// modified before it were searchable when the pull began.
type cursor struct {
	since   int64
	ties    map[string]bool
	tie     string
	floor   int64 // the position the pull started from
	horizon int64
}

// readCursor reads e's incremental position from wm.
func readCursor(wm connectors.Watermark, e *entity, horizon int64) cursor {
	since, _ := millis(wm, e.key(suffixSince))
	c := cursor{since: since, ties: map[string]bool{}, floor: since, horizon: horizon}
	for _, id := range strings.Split(wm[e.key(suffixTies)], ",") {
		if isID(id) {
			c.ties[id] = true
		}
	}
	if t := wm[e.key(suffixTie)]; isID(t) {
		c.tie = t
	}
	return c
}

// query returns the search for the next page: modified ≥ since by
// modified time, or, walking since by id, modified = since and id > tie
// by id.
func (c *cursor) query(e *entity) searchRequest {
	since := formatMillis(c.since)
	if c.tie != "" {
		return searchRequest{
			FilterGroups: []filterGroup{{Filters: []filter{
				{PropertyName: e.modified, Operator: "EQ", Value: since},
				{PropertyName: objectIDProperty, Operator: "GT", Value: c.tie},
			}}},
			Sorts:      []sortSpec{{PropertyName: objectIDProperty, Direction: "ASCENDING"}},
			Properties: e.properties,
			Limit:      SearchPageSize,
		}
	}
	return searchRequest{
		FilterGroups: []filterGroup{{Filters: []filter{{PropertyName: e.modified, Operator: "GTE", Value: since}}}},
		Sorts:        []sortSpec{{PropertyName: e.modified, Direction: "ASCENDING"}},
		Properties:   e.properties,
		Limit:        SearchPageSize,
	}
}

// objectIDProperty is the property holding a record's id.
const objectIDProperty = "hs_object_id"

// step takes one page of search results (full when it holds a whole
// page) and returns the records not delivered before, and whether to
// query again.
func (c *cursor) step(recs []decoded, full bool) (fresh []decoded, more bool) {
	if c.tie != "" {
		return c.stepByID(recs, full)
	}
	for _, d := range recs {
		if !(d.hasMod && d.mod == c.since && c.ties[d.id]) {
			fresh = append(fresh, d)
		}
	}
	if len(fresh) == 0 {
		if full { // a whole page of delivered ties: walk since by id
			c.tie = "0"
			return nil, true
		}
		return nil, false
	}
	progress := false
	if latest := latestMod(recs, c.since); latest > c.since {
		c.since, c.ties, progress = latest, map[string]bool{}, true
	}
	for _, d := range fresh {
		if d.hasMod && d.mod == c.since && d.id != "" && !c.ties[d.id] {
			c.ties[d.id], progress = true, true
		}
	}
	return fresh, full && progress
}

// stepByID takes a page of the records modified at since, by id.
func (c *cursor) stepByID(recs []decoded, full bool) (fresh []decoded, more bool) {
	last := c.tie
	for _, d := range recs {
		if !c.ties[d.id] {
			fresh = append(fresh, d)
		}
		if isID(d.id) && idLess(last, d.id) {
			last = d.id
		}
	}
	progress := last != c.tie
	c.tie = last
	maps.DeleteFunc(c.ties, func(id string, _ bool) bool { return !idLess(last, id) })
	if !full || !progress { // since is walked: go on after it
		c.since, c.ties, c.tie = c.since+1, map[string]bool{}, ""
	}
	return fresh, true
}

// latestMod returns the latest modified time in recs, at least floor.
func latestMod(recs []decoded, floor int64) int64 {
	for _, d := range recs {
		if d.hasMod && d.mod > floor {
			floor = d.mod
		}
	}
	return floor
}

// save writes into wm the position to resume from and reports whether
// that changed it: the cursor while it is before the horizon, else the
// horizon (which done, the search exhausted, also reaches). It never
// moves back.
func (c *cursor) save(wm connectors.Watermark, e *entity, done bool) bool {
	since, ties, tie := c.since, c.ties, c.tie
	if done || since > c.horizon {
		since, ties, tie = c.horizon, nil, ""
	}
	if since < c.floor {
		return false
	}
	changed := false
	set := func(k, v string) {
		if wm[k] == v {
			return
		}
		changed = true
		if v == "" {
			delete(wm, k)
		} else {
			wm[k] = v
		}
	}
	set(e.key(suffixSince), formatMillis(since))
	set(e.key(suffixTies), joinIDs(ties))
	set(e.key(suffixTie), tie)
	return changed
}

// joinIDs returns ids in id order, comma-separated.
func joinIDs(ids map[string]bool) string {
	s := slices.Collect(maps.Keys(ids))
	slices.SortFunc(s, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case idLess(a, b):
			return -1
		}
		return 1
	})
	return strings.Join(s, ",")
}
