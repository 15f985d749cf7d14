package sellsy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/model"
)

// Sellsy has no last activity field. A read of everything takes the last
// activities from one read of every CRM activity (POST
// /activities/crm/search, pages of 100), kept for the pull; a page of
// changed objects asks for the activities naming its objects, newest
// first (filters companies.match or peoples.match), until each object's
// newest is known or none is left. An activity's companies[] name
// companies and individuals ({id,type}); its people names a contact.
//
// Logging an activity changes no company or contact, so the updated
// filters never see it. A last phase therefore reads the activities
// dated since "activities.since" (the previous pull's start less
// Options.Overlap), and reads again, by id, the objects they name with
// their new last activity; objects read in this pull need no catching up.

// keyActivitySince is the watermark key of the activities phase.
const keyActivitySince = "activities.since"

// activityKey names an object in the last-activity maps: "company:51234".
func activityKey(kind, id string) string { return kind + ":" + id }

// activityRefs returns the objects an activity names and its date.
func activityRefs(raw json.RawMessage) ([]string, time.Time) {
	var a struct {
		Date      string `json:"date"`
		Companies []struct {
			ID   int64  `json:"id"`
			Type string `json:"type"`
		} `json:"companies"`
		People *struct {
			ID int64 `json:"id"`
		} `json:"people"`
	}
	if json.Unmarshal(raw, &a) != nil {
		return nil, time.Time{}
	}
	at, err := parseDatetime(a.Date)
	if err != nil {
		return nil, time.Time{}
	}
	var keys []string
	for _, c := range a.Companies {
		if (c.Type == kindCompany || c.Type == kindIndividual) && c.ID > 0 {
			keys = append(keys, activityKey(c.Type, strconv.FormatInt(c.ID, 10)))
		}
	}
	if a.People != nil && a.People.ID > 0 {
		keys = append(keys, activityKey(kindContact, strconv.FormatInt(a.People.ID, 10)))
	}
	return keys, at
}

// activities pages through a search of CRM activities, newest first when
// desc, calling each until it returns false.
func (c *Connector) activities(ctx context.Context, filters map[string]any, desc bool, each func(raw json.RawMessage) bool) error {
	offset := ""
	for {
		q := url.Values{"limit": {strconv.Itoa(c.opts.PageSize)}, "order": {"date"}, "direction": {"asc"}}
		if desc {
			q.Set("direction", "desc")
		}
		if offset != "" {
			q.Set("offset", offset)
		}
		pg, err := c.list(ctx, "/activities/crm/search", q, filters)
		if err != nil {
			return fmt.Errorf("sellsy: activities: %w", err)
		}
		for _, raw := range pg.Data {
			if !each(raw) {
				return nil
			}
		}
		if len(pg.Data) < c.opts.PageSize || pg.offset() == "" {
			return nil
		}
		offset = pg.offset()
	}
}

// activityFor returns the last activities of a page's objects of kind:
// from the read of every activity when the stream is read in full, else
// asked for the page's objects.
func (p *puller) activityFor(ctx context.Context, kind string, fresh bool, objs []json.RawMessage) (map[string]time.Time, error) {
	if fresh {
		if p.all == nil {
			all := map[string]time.Time{}
			err := p.c.activities(ctx, map[string]any{}, false, func(raw json.RawMessage) bool {
				keys, at := activityRefs(raw)
				for _, k := range keys {
					all[k] = latest(all[k], at)
				}
				return true
			})
			if err != nil {
				return nil, err
			}
			p.all = all
		}
		return p.all, nil
	}
	var ids []string
	for _, raw := range objs {
		if r, err := newReader(raw); err == nil {
			if id := r.Fields.probeID("id"); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return p.c.lastActivity(ctx, kind, ids)
}

// lastActivity asks for the newest activity of each of ids, objects of
// kind; those without one are absent.
func (c *Connector) lastActivity(ctx context.Context, kind string, ids []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(ids) == 0 {
		return out, nil
	}
	want := map[string]bool{}
	nums := make([]int64, 0, len(ids))
	for _, id := range ids {
		want[activityKey(kind, id)] = true
		n, _ := strconv.ParseInt(id, 10, 64)
		nums = append(nums, n)
	}
	filter := "companies"
	if kind == kindContact {
		filter = "peoples"
	}
	err := c.activities(ctx, map[string]any{filter: map[string]any{"match": nums}}, true, func(raw json.RawMessage) bool {
		keys, at := activityRefs(raw)
		for _, k := range keys {
			if want[k] {
				delete(want, k)
				out[k] = at
			}
		}
		return len(want) > 0
	})
	return out, err
}

// linksFor returns the company each contact of a page is filed under:
// the one it is main contact of in this pull, else asked for.
func (p *puller) linksFor(ctx context.Context, objs []json.RawMessage) (map[string]string, error) {
	out := map[string]string{}
	for _, raw := range objs {
		r, err := newReader(raw)
		if err != nil {
			continue
		}
		id := r.Fields.probeID("id")
		if id == "" {
			continue
		}
		if main := p.mains[id]; main != "" {
			out[id] = main
			continue
		}
		company, err := p.c.companyOf(ctx, id)
		if err != nil {
			return nil, err
		}
		if company != "" {
			out[id] = model.ID(p.c.opts.Source, p.c.extID(kindCompany, company))
		}
	}
	return out, nil
}

// companyOf returns the company a contact is filed under: the first of
// its companies (GET /contacts/{id}/companies, by id) it is the main
// contact of, else the first; "" when it has none.
func (c *Connector) companyOf(ctx context.Context, contact string) (string, error) {
	q := url.Values{"limit": {strconv.Itoa(MaxPageSize)}, "field[]": {"id", c.mapping.PrimaryContact.Field}}
	pg, err := c.list(ctx, "/contacts/"+contact+"/companies", q, nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return "", nil // deleted meanwhile
	}
	if err != nil {
		return "", fmt.Errorf("sellsy: companies of contact %s: %w", contact, err)
	}
	first := ""
	for _, raw := range pg.Data {
		r, err := newReader(raw)
		if err != nil {
			continue
		}
		id := r.Fields.probeID("id")
		if r.Fields.probeID(c.mapping.PrimaryContact.Field) == contact {
			return id, nil
		}
		if first == "" {
			first = id
		}
	}
	return first, nil
}

// touched reads again the objects whose activities are dated since the
// last pull, unless this pull read them already.
func (p *puller) touched(ctx context.Context) error {
	horizon := p.started.Add(-p.c.opts.Overlap).Truncate(time.Second).Format(time.RFC3339)
	since := p.WM[keyActivitySince]
	if since == "" {
		p.Set(keyActivitySince, horizon)
		return nil
	}
	var keys []string
	seen := map[string]bool{}
	err := p.c.activities(ctx, map[string]any{"date": map[string]string{"start": since}}, false, func(raw json.RawMessage) bool {
		refs, _ := activityRefs(raw)
		for _, k := range refs {
			if !seen[k] && !p.emitted[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := p.reread(ctx, k); err != nil {
			return err
		}
	}
	p.Set(keyActivitySince, horizon)
	return nil
}

// paths of the objects a reread fetches by id.
var objectPaths = map[string]string{kindCompany: "/companies/", kindIndividual: "/individuals/", kindContact: "/contacts/"}

// reread reads one object again by id and hands it over.
func (p *puller) reread(ctx context.Context, key string) error {
	kind, id, _ := strings.Cut(key, ":")
	raw, err := p.c.one(ctx, objectPaths[kind]+id, url.Values{"embed[]": {"owner"}})
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil // deleted: the next full read sweeps it
	}
	if err != nil {
		return fmt.Errorf("sellsy: %s %s: %w", kind, id, err)
	}
	objs := []json.RawMessage{raw}
	s := stream{name: kind, kind: kind}
	pg := &page{Data: objs}
	page, err := p.decode(ctx, s, pg)
	if err != nil {
		return err
	}
	return p.Emit(ctx, page)
}
