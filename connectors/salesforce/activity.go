package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors"
)

// Key prefixes of the ids an activity names: its AccountId is an account
// and its WhoId a contact or a lead (00Q), which the model lacks.
const (
	accountPrefix = "001"
	contactPrefix = "003"
)

// maxIDsPerQuery bounds the ids of a query by Id, keeping its URL (about
// 27 bytes an id once encoded) far below the 16,384 bytes Salesforce
// takes.
const maxIDsPerQuery = 200

// nullID is the Id before every other, for a position at a time only.
const nullID = "000000000000000AAA"

// activityMargin is how long before the start of the pull that first
// reads activities they are read from: a margin for clocks apart and for
// the transaction that stamps a task a moment before it commits.
const activityMargin = 5 * time.Minute

// activityFields are the fields read of a Task or an Event.
var activityFields = []string{"Id", "AccountId", "WhoId", "SystemModstamp"}

// ref is a lookup field of an activity to a record whose roll-up fields
// (LastActivityDate) its logging changes.
type ref struct {
	field  string  // AccountId
	prefix string  // key prefix of the ids followed: 001
	target *entity // read again by Id
}

// startActivities reads e's activities from now on when wm has no
// position for them: a full sync reads every LastActivityDate anyway, and
// a watermark older than activity tracking must not read years of
// activities.
func (c *Connector) startActivities(wm connectors.Watermark, e *entity, resumed bool) {
	if wm[e.key(keyTS)] != "" {
		return
	}
	if resumed {
		c.logger.Warn("watermark without activity tracking: activities logged before now are not read; "+
			"a full sync (crmsync sync --full) reads every last activity", "object", e.sobject)
	}
	wm[e.key(keyTS)] = formatDatetime(c.now().Add(-activityMargin))
	wm[e.key(keyID)] = nullID
}

// reread reads again the accounts and contacts that a page of e's
// activities names, and returns them with the position of the last
// activity.
func (p *puller) reread(ctx context.Context, e *entity, records []json.RawMessage) (connectors.Page, position, error) {
	ids, last := p.c.named(e, records)
	var page connectors.Page
	for i, r := range e.refs {
		for chunk := range slices.Chunk(ids[i], maxIDsPerQuery) {
			if err := p.readIDs(ctx, r.target, chunk, &page); err != nil {
				return connectors.Page{}, position{}, err
			}
		}
	}
	return page, last, nil
}

// named returns, per ref of e, the distinct ids with its prefix that the
// activities name, in order, and the position of the last activity.
func (c *Connector) named(e *entity, records []json.RawMessage) ([][]string, position) {
	ids := make([][]string, len(e.refs))
	seen := map[string]bool{}
	var last position
	var buf []member
	skipped := 0
	for _, raw := range records {
		r, err := newReader(raw, buf[:0])
		if err != nil {
			skipped++
			continue
		}
		buf = r.Fields
		if pos, ok := r.position(); ok {
			last = pos
		}
		bad := false
		for i, ref := range e.refs {
			id, ok := lookup(r, ref.field)
			bad = bad || !ok
			if ok && id != "" && !seen[id] && strings.HasPrefix(id, ref.prefix) {
				seen[id] = true
				ids[i] = append(ids[i], id)
			}
		}
		if bad {
			skipped++
		}
	}
	if skipped > 0 {
		c.logger.Warn("activities unreadable or naming something else than a Salesforce id; skipped",
			"object", e.sobject, "count", skipped)
	}
	return ids, last
}

// lookup reads a lookup field: an id or "" when null; false when it is
// neither.
func lookup(r *reader, field string) (string, bool) {
	probe := readerOf(r.Fields)
	id := probe.Str(field)
	return id, probe.Err() == nil && (id == "" || validID(id))
}

// readIDs reads the records of e with the given ids into page, with the
// fields of e's own query. A record deleted since is simply absent: its
// deletion comes from the deleted resource.
func (p *puller) readIDs(ctx context.Context, e *entity, ids []string, page *connectors.Page) error {
	soql, err := e.soqlIn(ids)
	if err != nil {
		return fmt.Errorf("salesforce: query %s: %w", e.sobject, err)
	}
	cur := queryCursor{soql: func() (string, error) { return soql, nil }}
	var records []json.RawMessage
	for {
		if err := p.c.spent(); err != nil {
			return err
		}
		res, err := p.fetch(ctx, e, &cur)
		if err != nil {
			return err
		}
		if cur.next == "" {
			records = records[:0] // the first page, or the first again after an expired cursor
		}
		records = append(records, res.Records...)
		if res.Done {
			p.decoder().decode(page, e, records)
			return nil
		}
		cur.next = res.NextRecordsURL
	}
}

// soqlIn returns the query of e's records with the given ids, 1 to
// maxIDsPerQuery of them. Only Salesforce ids reach the SOQL.
func (e *entity) soqlIn(ids []string) (string, error) {
	if len(ids) == 0 || len(ids) > maxIDsPerQuery {
		return "", fmt.Errorf("%d ids: want 1 to %d", len(ids), maxIDsPerQuery)
	}
	var b strings.Builder
	e.selectFrom(&b)
	b.WriteString(" WHERE Id IN (")
	for i, id := range ids {
		if !validID(id) {
			return "", fmt.Errorf("%q is not a Salesforce id", id)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("'" + id + "'")
	}
	b.WriteByte(')')
	return b.String(), nil
}
