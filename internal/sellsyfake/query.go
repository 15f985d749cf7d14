package sellsyfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/internal/faults"
)

// searchSpec is what a search endpoint accepts.
type searchSpec struct {
	dates  []string // date range filters: {start,end}
	match  []string // id list filters: {match:[ids]}
	orders []string // order values; the first is the default
}

var specs = map[string]searchSpec{
	KindCompanies:     {dates: []string{"updated_at", "created"}, orders: []string{"id", "updated_at", "name", "created"}},
	KindIndividuals:   {dates: []string{"updated_at", "created"}, orders: []string{"id", "updated_at", "name", "created"}},
	KindContacts:      {dates: []string{"updated", "created"}, orders: []string{"id", "name", "created_at"}},
	KindOpportunities: {dates: []string{"created", "updated_status", "due_date"}, orders: []string{"id", "created", "due_date"}},
	KindActivities:    {dates: []string{"date"}, match: []string{"companies", "peoples"}, orders: []string{"date", "due_date", "id"}},
	KindStaffs:        {orders: []string{"id"}},
	KindLinks:         {orders: []string{"id"}},
}

// answer serves an admitted, authorized API request of kind.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, kind string, body []byte) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, APIPath+"/"), "/")
	switch {
	case kind == KindLinks && r.Method == http.MethodGet:
		id, _ := strconv.Atoi(parts[1])
		s.serveLinks(w, r, id)
	case kind == KindStaffs && r.Method == http.MethodGet:
		s.serveList(w, r, kind, nil, nil)
	case parts[len(parts)-1] == "search" && r.Method == http.MethodPost:
		s.serveSearch(w, r, kind, body)
	case len(parts) == 2 && isID(parts[1]) && r.Method == http.MethodGet:
		id, _ := strconv.Atoi(parts[1])
		s.serveOne(w, r, kind, id)
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed", "method_not_allowed", nil)
	}
}

// serveOne answers GET /{kind}/{id}.
func (s *Server) serveOne(w http.ResponseWriter, r *http.Request, kind string, id int) {
	s.mu.Lock()
	rec := s.data[kind].byID[id]
	var out map[string]any
	if rec != nil {
		out = s.render(kind, rec, r.URL.Query())
	}
	s.mu.Unlock()
	if rec == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s %d not found", strings.TrimSuffix(kind, "s"), id), "not_found", nil)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// serveLinks answers GET /contacts/{id}/companies.
func (s *Server) serveLinks(w http.ResponseWriter, r *http.Request, contact int) {
	s.mu.Lock()
	if s.data[KindContacts].byID[contact] == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, fmt.Sprintf("contact %d not found", contact), "not_found", nil)
		return
	}
	ids := slices.Clone(s.links[contact])
	s.mu.Unlock()
	if ids == nil {
		ids = []int{}
	}
	s.serveList(w, r, KindLinks, nil, ids)
}

// serveSearch answers POST /{kind}/search.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request, kind string, body []byte) {
	var req struct {
		Filters map[string]json.RawMessage `json:"filters"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Validation error", "validation_error", map[string]string{"body": "The body is not valid JSON."})
		return
	}
	if req.Filters == nil {
		writeError(w, http.StatusBadRequest, "Validation error", "validation_error", map[string]string{"filters": "This field is missing."})
		return
	}
	keep, details := compileFilters(specs[kind], req.Filters)
	if len(details) > 0 {
		writeError(w, http.StatusBadRequest, "Validation error", "validation_error", details)
		return
	}
	s.serveList(w, r, kind, keep, nil)
}

// compileFilters checks a search's filters against spec and returns the
// predicate they make, or the validation details.
func compileFilters(spec searchSpec, filters map[string]json.RawMessage) (func(string, *record) bool, map[string]string) {
	details := map[string]string{}
	var preds []func(*record) bool
	for key, raw := range filters {
		switch {
		case slices.Contains(spec.dates, key):
			var rng struct{ Start, End string }
			if json.Unmarshal(raw, &rng) != nil {
				details["filters."+key] = "This value should be an object with start and end."
				continue
			}
			start, errS := parseBound(rng.Start)
			end, errE := parseBound(rng.End)
			if errS != nil || errE != nil {
				details["filters."+key] = "This value is not a valid datetime."
				continue
			}
			preds = append(preds, func(rec *record) bool { return inRange(rec.fields[key], start, end) })
		case slices.Contains(spec.match, key):
			var m struct{ Match []int }
			if json.Unmarshal(raw, &m) != nil {
				details["filters."+key] = "This value should be an object with match."
				continue
			}
			field := key
			if key == "peoples" { // the filter is plural, the field is not
				field = "people"
			}
			preds = append(preds, func(rec *record) bool { return matches(rec.fields[field], m.Match) })
		default:
			details["filters."+key] = "This field was not expected."
		}
	}
	return func(_ string, rec *record) bool {
		for _, p := range preds {
			if !p(rec) {
				return false
			}
		}
		return true
	}, details
}

// parseBound reads a range bound: RFC 3339, or a date; "" is open.
func parseBound(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// inRange reports whether a time field lies in [start, end].
func inRange(v any, start, end time.Time) bool {
	s, _ := v.(string)
	t, err := parseBound(s)
	if err != nil || s == "" {
		return false
	}
	return (start.IsZero() || !t.Before(start)) && (end.IsZero() || !t.After(end))
}

// matches reports whether an activity's companies (a list of {id}) or
// people ({id}) name one of ids.
func matches(v any, ids []int) bool {
	var objs []any
	switch x := v.(type) {
	case []any:
		objs = x
	case map[string]any:
		objs = []any{x}
	}
	for _, o := range objs {
		if m, ok := o.(map[string]any); ok {
			if id, ok := m["id"].(float64); ok && slices.Contains(ids, int(id)) {
				return true
			}
		}
	}
	return false
}

// listQuery is a list's paging and shaping parameters.
type listQuery struct {
	limit   int
	order   string
	desc    bool
	offset  string
	numeric bool
	start   int // numeric offset
	embeds  []string
	fields  []string
}

// parseListQuery reads limit, offset, order, direction, embed[] and
// field[]; details say what is wrong.
func parseListQuery(q url.Values, spec searchSpec) (listQuery, map[string]string) {
	lq := listQuery{limit: DefaultLimit, order: spec.orders[0], embeds: q["embed[]"], fields: q["field[]"]}
	details := map[string]string{}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			details["limit"] = fmt.Sprintf("This value should be between 1 and %d.", MaxLimit)
		}
		lq.limit = n
	}
	if v := q.Get("order"); v != "" {
		if !slices.Contains(spec.orders, v) {
			details["order"] = "The value you selected is not a valid choice."
		}
		lq.order = v
	}
	switch q.Get("direction") {
	case "", "asc":
	case "desc":
		lq.desc = true
	default:
		details["direction"] = "The value you selected is not a valid choice."
	}
	if q.Has("offset") {
		v := q.Get("offset")
		if n, err := strconv.Atoi(v); err == nil {
			lq.numeric, lq.start = true, n
		} else {
			lq.offset = v
		}
	}
	return lq, details
}

// serveList answers one page of the objects of kind that keep accepts,
// among those of ids when ids is not nil.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, kind string, keep func(string, *record) bool, ids []int) {
	spec := specs[kind]
	lq, details := parseListQuery(r.URL.Query(), spec)
	if len(details) > 0 {
		writeError(w, http.StatusBadRequest, "Validation error", "validation_error", details)
		return
	}
	source := kind
	if kind == KindLinks {
		source = KindCompanies
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	candidates := s.data[source].sorted
	if ids != nil {
		candidates = func() []*record {
			var out []*record
			for _, id := range ids {
				if rec := s.data[source].byID[id]; rec != nil {
					out = append(out, rec)
				}
			}
			return out
		}
	}
	var all []*record
	for _, rec := range candidates() {
		if keep == nil || keep(kind, rec) {
			all = append(all, rec)
		}
	}
	slices.SortStableFunc(all, func(a, b *record) int {
		c := compareKeys(sortKey(a, lq.order), a.id, sortKey(b, lq.order), b.id)
		if lq.desc {
			return -c
		}
		return c
	})
	var page []*record
	var next any
	switch {
	case lq.numeric:
		if lq.start+lq.limit > s.opts.NumericCap {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Numeric pagination is limited to the first %d results; use the seek offset", s.opts.NumericCap), "pagination_limit_exceeded", map[string]string{"offset": "This value is too high."})
			return
		}
		page = window(all, lq.start, lq.limit)
		next = lq.start + len(page)
	default:
		from := 0
		if lq.offset != "" {
			key, id, ok := decodeOffset(lq.offset)
			if !ok || !s.offsets[lq.offset] {
				writeError(w, http.StatusBadRequest, "Invalid pagination offset", "pagination_offset_invalid", map[string]string{"offset": "This offset is not valid or has expired."})
				return
			}
			from = len(all)
			for i, rec := range all {
				c := compareKeys(sortKey(rec, lq.order), rec.id, key, id)
				if lq.desc {
					c = -c
				}
				if c > 0 {
					from = i
					break
				}
			}
		}
		page = window(all, from, lq.limit)
		if len(page) > 0 {
			last := page[len(page)-1]
			off := encodeOffset(sortKey(last, lq.order), last.id)
			s.offsets[off] = true
			next = off
		} else {
			next = lq.offset
		}
	}
	data := make([]map[string]any, len(page))
	for i, rec := range page {
		data[i] = s.render(source, rec, r.URL.Query())
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":       data,
		"pagination": map[string]any{"limit": lq.limit, "count": len(page), "total": len(all), "offset": next},
	})
}

func window(all []*record, from, n int) []*record {
	if from >= len(all) {
		return nil
	}
	return all[from:min(len(all), from+n)]
}

// sortKey is the value a record sorts by: times in UTC, ids zero-padded.
func sortKey(rec *record, order string) string {
	if order == "id" {
		return fmt.Sprintf("%012d", rec.id)
	}
	if order == "created_at" {
		order = "created"
	}
	s, _ := rec.fields[order].(string)
	if t, err := parseBound(s); err == nil && s != "" {
		return t.UTC().Format(time.DateTime)
	}
	return s
}

func compareKeys(ka string, ida int, kb string, idb int) int {
	if c := strings.Compare(ka, kb); c != 0 {
		return c
	}
	return ida - idb
}

// encodeOffset is a seek offset: base64 of ["<sort value>","<id>"], as in
// Sellsy's example (WyIyMDI0LTA5LTEyIDA5OjEyOjQ1IiwiNTEyOTkiXQ==).
func encodeOffset(key string, id int) string {
	b, _ := json.Marshal([]string{key, strconv.Itoa(id)})
	return base64.StdEncoding.EncodeToString(b)
}

func decodeOffset(off string) (string, int, bool) {
	b, err := base64.StdEncoding.DecodeString(off)
	if err != nil {
		return "", 0, false
	}
	var parts []string
	if json.Unmarshal(b, &parts) != nil || len(parts) != 2 {
		return "", 0, false
	}
	id, err := strconv.Atoi(parts[1])
	return parts[0], id, err == nil
}

// render returns an object as the API sends it: with the embeds asked
// for (embed[]=owner, embed[]=main_contact) and cut to field[] when set.
func (s *Server) render(kind string, rec *record, q url.Values) map[string]any {
	out := make(map[string]any, len(rec.fields)+1)
	for k, v := range rec.fields {
		out[k] = v
	}
	if embeds := q["embed[]"]; len(embeds) > 0 {
		emb := map[string]any{}
		for _, e := range embeds {
			switch e {
			case "owner":
				emb["owner"] = s.lookup(KindStaffs, out["owner"])
			case "main_contact":
				emb["main_contact"] = s.lookup(KindContacts, map[string]any{"id": out["main_contact_id"]})
			}
		}
		out["_embed"] = emb
	}
	if fields := q["field[]"]; len(fields) > 0 {
		cut := map[string]any{"id": out["id"]}
		for _, f := range fields {
			if v, ok := out[f]; ok {
				cut[f] = v
			}
		}
		out = cut
	}
	return out
}

// lookup returns the object of kind a {id} reference names, nil when
// there is none (as an embed the client cannot see is null).
func (s *Server) lookup(kind string, ref any) any {
	m, _ := ref.(map[string]any)
	id, ok := m["id"].(float64)
	if !ok {
		if i, isInt := m["id"].(int); isInt {
			id, ok = float64(i), true
		}
	}
	if !ok || faults.IsDenied(&s.refusals.Denials, kind) {
		return nil
	}
	rec := s.data[kind].byID[int(id)]
	if rec == nil {
		return nil
	}
	return rec.fields
}
