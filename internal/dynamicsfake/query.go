package dynamicsfake

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// supportedOptions are the query options the fake serves.
var supportedOptions = map[string]bool{"$select": true, "$filter": true, "$orderby": true, "$top": true,
	"$apply": true, "$skiptoken": true, "$deltatoken": true}

// trackingRefused are the options Dataverse refuses with track-changes.
var trackingRefused = []string{"$filter", "$orderby", "$expand", "$top"}

// prefer is a request's parsed Prefer header.
type prefer struct {
	maxPageSize  int // 0: not asked
	trackChanges bool
	annotations  string // the odata.include-annotations value, unquoted
}

// parsePrefer reads every Prefer header, commas inside quotes kept.
func parsePrefer(values []string) prefer {
	var p prefer
	for _, v := range values {
		for _, part := range splitOutside(v, ',') {
			name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch strings.TrimSpace(name) {
			case "odata.maxpagesize":
				if n, err := strconv.Atoi(strings.TrimSpace(val)); err == nil && n > 0 {
					p.maxPageSize = n
				}
			case "odata.track-changes":
				p.trackChanges = true
			case "odata.include-annotations":
				p.annotations = strings.Trim(strings.TrimSpace(val), `"`)
			}
		}
	}
	return p
}

// wants reports whether the annotation is included.
func (p prefer) wants(annotation string) bool {
	if p.annotations == "" {
		return false
	}
	for _, a := range strings.Split(p.annotations, ",") {
		a = strings.TrimSpace(a)
		if a == "*" || a == annotation || (strings.HasSuffix(a, ".*") && strings.HasPrefix(annotation, strings.TrimSuffix(a, "*"))) {
			return true
		}
	}
	return false
}

// splitOutside splits s at sep outside quotes and parentheses.
func splitOutside(s string, sep byte) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// query is one list request, parsed.
type query struct {
	t       *table
	q       url.Values
	raw     string // the raw query without $skiptoken
	pref    prefer
	sel     []string // $select columns; nil for all
	size    int      // rows per page
	track   bool     // change tracking applies
	delta   string   // the $deltatoken followed, if any
	applied []string // Preference-Applied values
}

// serveQuery answers GET /api/data/v9.2/{set} and /{set}({id}): the
// answer is built under the Server's lock and sent after it.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, set string) {
	buf := &bufferedAnswer{header: http.Header{}}
	s.mu.Lock()
	s.answerQuery(buf, r, set)
	s.mu.Unlock()
	buf.flush(w)
}

// bufferedAnswer holds an answer until the lock is released.
type bufferedAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedAnswer) Header() http.Header { return b.header }

func (b *bufferedAnswer) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedAnswer) Write(p []byte) (int, error) { return b.body.Write(p) }

func (b *bufferedAnswer) flush(w http.ResponseWriter) {
	maps.Copy(w.Header(), b.header)
	w.WriteHeader(cmp.Or(b.status, http.StatusOK))
	w.Write(b.body.Bytes())
}

// answerQuery answers a query; the caller holds the lock.
func (s *Server) answerQuery(w http.ResponseWriter, r *http.Request, set string) {
	t := s.tables[set]
	rest := strings.TrimPrefix(r.URL.Path, APIPath+set)
	pref := parsePrefer(r.Header.Values("Prefer"))
	q := r.URL.Query()
	for name := range q {
		if strings.HasPrefix(name, "$") && !supportedOptions[name] && name != "$expand" {
			writeError(w, http.StatusBadRequest, CodeBadQuery, fmt.Sprintf("The query parameter %s is not supported.", name))
			return
		}
	}
	if rest != "" {
		s.serveOne(w, t, rest, q, pref)
		return
	}
	tracking := (pref.trackChanges || q.Has("$deltatoken")) && !s.noTracking[set]
	if tracking {
		for _, name := range trackingRefused {
			if q.Has(name) {
				writeError(w, http.StatusBadRequest, "", fmt.Sprintf(msgUnsupported, name))
				return
			}
		}
	}
	if q.Has("$expand") {
		writeError(w, http.StatusBadRequest, CodeBadQuery, "The Dataverse fake does not serve $expand.")
		return
	}
	if q.Has("$apply") {
		s.serveApply(w, t, q.Get("$apply"), pref)
		return
	}
	qu, err := s.newQuery(t, r, pref, tracking)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadQuery, err.Error())
		return
	}
	s.servePage(w, qu)
}

// newQuery parses a list request's options.
func (s *Server) newQuery(t *table, r *http.Request, pref prefer, tracking bool) (*query, error) {
	q := r.URL.Query()
	qu := &query{t: t, q: q, raw: withoutSkipToken(r.URL.RawQuery), pref: pref, track: tracking, delta: q.Get("$deltatoken")}
	if sel := q.Get("$select"); sel != "" {
		for name := range strings.SplitSeq(sel, ",") {
			name = strings.TrimSpace(name)
			if _, ok := t.def.col(name); !ok {
				return nil, fmt.Errorf("%s", badProperty(t.def, name))
			}
			qu.sel = append(qu.sel, name)
		}
	}
	qu.size = MaxPageSize
	if pref.maxPageSize > 0 {
		qu.size = min(pref.maxPageSize, MaxPageSize)
		qu.applied = append(qu.applied, "odata.maxpagesize="+strconv.Itoa(qu.size))
	} else if top := q.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("Invalid value '%s' for $top query option found. The $top query option requires a non-negative integer value.", top)
		}
		qu.size = min(n, MaxPageSize)
	}
	if tracking {
		qu.applied = append(qu.applied, "odata.track-changes")
	}
	if pref.annotations != "" {
		qu.applied = append(qu.applied, `odata.include-annotations="`+pref.annotations+`"`)
	}
	return qu, nil
}

// withoutSkipToken drops the $skiptoken option of a raw query.
func withoutSkipToken(raw string) string {
	var keep []string
	for part := range strings.SplitSeq(raw, "&") {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil && n == "$skiptoken" || part == "" {
			continue
		}
		keep = append(keep, part)
	}
	return strings.Join(keep, "&")
}

// item is a row or a deletion to page through, with its sort key; it is
// rendered only when served.
type item struct {
	key     []any   // values of the sort keys
	rec     *record // nil for a deletion
	removed string  // the id of a deleted row
}

// render writes an item as Dataverse does: a row, or a $deletedEntity stub.
func (s *Server) render(qu *query, it item) obj {
	if it.rec != nil {
		return s.row(qu.t, it.rec, qu.sel, qu.pref)
	}
	return obj{
		{"@odata.context", s.APIURL() + "$metadata#" + qu.t.def.set + "/$deletedEntity"},
		{"id", it.removed}, {"reason", "deleted"},
	}
}

// cursor is the state behind a $skiptoken.
type cursor struct {
	sig     string
	last    []any // sort key of the last item served
	page    int
	version int64 // row version the deltaLink will carry (tracking)
}

var cursorRe = regexp.MustCompile(`fakecursor%253d%2522(c\d+)%2522`)

// servePage answers one page of a list request.
func (s *Server) servePage(w http.ResponseWriter, qu *query) {
	sig := qu.t.def.set + "|" + qu.raw + "|" + strconv.Itoa(qu.size)
	id, cur := "", (*cursor)(nil)
	if tok := qu.q.Get("$skiptoken"); tok != "" {
		m := cursorRe.FindStringSubmatch(tok)
		if m != nil {
			id, cur = m[1], s.cursors[m[1]]
		}
		if cur == nil || cur.sig != sig {
			writeError(w, http.StatusBadRequest, CodeBadQuery, "The $skiptoken does not belong to this query: use @odata.nextLink unchanged, with the same odata.maxpagesize preference.")
			return
		}
	} else {
		s.cursorSeq++
		id, cur = "c"+strconv.Itoa(s.cursorSeq), &cursor{sig: sig, version: s.version}
	}
	items, keys, err := s.items(qu, cur)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.code, err.msg)
		return
	}
	slices.SortFunc(items, func(a, b item) int { return compareKeys(keys, a.key, b.key) }) // keys end with the primary key
	if cur.last != nil {
		n, _ := slices.BinarySearchFunc(items, cur.last, func(it item, last []any) int {
			if compareKeys(keys, it.key, last) <= 0 {
				return -1
			}
			return 1
		})
		items = items[n:]
	}
	more := len(items) > qu.size && (qu.pref.maxPageSize > 0 || qu.track || !qu.q.Has("$top"))
	page := items[:min(len(items), qu.size)]
	s.writePage(w, qu, page, more, id, cur)
}

// apiErr is a 400 body.
type apiErr struct{ code, msg string }

// items lists what a request pages through, and the sort keys.
func (s *Server) items(qu *query, cur *cursor) ([]item, []orderKey, *apiErr) {
	t := qu.t
	if qu.track {
		from := int64(-1)
		if qu.delta != "" {
			v, ok := s.deltaVersion(qu.delta)
			if !ok {
				return nil, nil, &apiErr{"", MsgDeltaExpired}
			}
			from = v
		}
		return s.deltaItems(qu, from, cur.version), deltaKeys, nil
	}
	keys, err := parseOrderBy(t.def, qu.q.Get("$orderby"))
	if err != nil {
		return nil, nil, &apiErr{CodeBadQuery, err.Error()}
	}
	match := func(map[string]any) bool { return true }
	if f := qu.q.Get("$filter"); f != "" {
		c, err := parseFilter(t.def, f)
		if err != nil {
			return nil, nil, &apiErr{CodeBadQuery, err.Error()}
		}
		match = c
	}
	var out []item
	for _, r := range t.recs {
		if match(r.fields) {
			out = append(out, item{key: sortKey(keys, r.fields), rec: r})
		}
	}
	return out, keys, nil
}

// deltaKeys order a change-tracking answer: rows, then deletions, each by
// row version.
var deltaKeys = []orderKey{{col: column{"_group", tInt}}, {col: column{"_version", tInt}}, {col: column{"_id", tString}}}

// deltaItems lists rows changed and rows deleted after version from, up
// to version upto (rows changed while paging are left to the next delta).
func (s *Server) deltaItems(qu *query, from, upto int64) []item {
	var out []item
	for _, r := range qu.t.recs {
		if r.version > from && r.version <= upto {
			out = append(out, item{key: []any{0, int(r.version), r.id}, rec: r})
		}
	}
	if from < 0 {
		return out
	}
	for _, d := range qu.t.removed {
		if d.version > from && d.version <= upto && qu.t.recs[d.id] == nil {
			out = append(out, item{key: []any{1, int(d.version), d.id}, removed: d.id})
		}
	}
	return out
}

// writePage writes a page with its nextLink or deltaLink.
func (s *Server) writePage(w http.ResponseWriter, qu *query, page []item, more bool, id string, cur *cursor) {
	context := s.APIURL() + "$metadata#" + qu.t.def.set
	if qu.sel != nil {
		context += "(" + strings.Join(qu.sel, ",") + ")"
	}
	if qu.delta != "" {
		context += "/$delta"
	}
	body := obj{{"@odata.context", context}}
	values := make([]obj, len(page))
	for i, it := range page {
		values[i] = s.render(qu, it)
	}
	link := ""
	switch {
	case more:
		cur.page++
		cur.last = page[len(page)-1].key
		s.cursors[id] = cur
		link = s.APIURL() + qu.t.def.set + "?" + joinQuery(qu.raw, "$skiptoken="+skipToken(cur.page+1, id, qu.track))
	case qu.track:
		delete(s.cursors, id)
		sel := ""
		if qu.q.Has("$select") {
			sel = "$select=" + qu.q.Get("$select")
		}
		body = append(body, kv{"@odata.deltaLink", s.APIURL() + qu.t.def.set + "?" + joinQuery(sel, "$deltatoken="+s.deltaToken(cur.version))})
	default:
		delete(s.cursors, id)
	}
	body = append(body, kv{"value", values})
	if more {
		body = append(body, kv{"@odata.nextLink", link})
	}
	if len(qu.applied) > 0 {
		w.Header().Set("Preference-Applied", strings.Join(qu.applied, ","))
	}
	writeJSON(w, http.StatusOK, body)
}

func joinQuery(a, b string) string {
	if a == "" {
		return b
	}
	return a + "&" + b
}

var cookieEscaper = strings.NewReplacer("%", "%25", "<", "%3C", ">", "%3E", " ", "%20", `"`, "%22")

// skipToken builds a paging cookie like Dataverse's, naming the cursor.
func skipToken(page int, id string, tracking bool) string {
	inner := fmt.Sprintf("%%253ccookie%%2520page%%253d%%2522%d%%2522%%2520fakecursor%%253d%%2522%s%%2522%%2520%%252f%%253e", page-1, id)
	raw := fmt.Sprintf(`<cookie pagenumber="%d" pagingcookie="%s" istracking="%s" />`, page, inner, map[bool]string{false: "False", true: "True"}[tracking])
	return cookieEscaper.Replace(raw)
}

var deltaEscaper = strings.NewReplacer("!", "%21", "/", "%2f", " ", "%20", ":", "%3a")

// deltaTokenLayout is the date part of a delta token.
const deltaTokenLayout = "01/02/2006 15:04:05"

// deltaToken builds a delta token for version, escaped for a deltaLink:
// "919042%2108%2f22%2f2024%2008%3a10%3a44".
func (s *Server) deltaToken(version int64) string {
	return deltaEscaper.Replace(fmt.Sprintf("%d!%s", version, s.opts.Now().UTC().Format(deltaTokenLayout)))
}

// deltaVersion reads a delta token; false when it is malformed or expired.
func (s *Server) deltaVersion(tok string) (int64, bool) {
	v, date, ok := strings.Cut(tok, "!")
	version, err := strconv.ParseInt(v, 10, 64)
	if !ok || err != nil {
		return 0, false
	}
	issued, err := time.Parse(deltaTokenLayout, date)
	if err != nil || version < s.deltaFloor || s.opts.Now().Sub(issued) > s.opts.ChangeTrackingExpiry {
		return 0, false
	}
	return version, true
}

// serveOne answers GET /{set}({id}).
func (s *Server) serveOne(w http.ResponseWriter, t *table, rest string, q url.Values, pref prefer) {
	id, ok := strings.CutPrefix(rest, "(")
	id, ok2 := strings.CutSuffix(id, ")")
	if !ok || !ok2 || !guidRe.MatchString(id) {
		writeError(w, http.StatusBadRequest, CodeBadQuery, fmt.Sprintf("Bad Request - Error in query syntax: '%s%s'.", t.def.set, rest))
		return
	}
	r := t.recs[strings.ToLower(id)]
	if r == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("%s With Id = %s Does Not Exist", t.def.logical, id))
		return
	}
	var sel []string
	if v := q.Get("$select"); v != "" {
		for name := range strings.SplitSeq(v, ",") {
			if _, ok := t.def.col(name); !ok {
				writeError(w, http.StatusBadRequest, CodeBadQuery, badProperty(t.def, name))
				return
			}
			sel = append(sel, name)
		}
	}
	context := s.APIURL() + "$metadata#" + t.def.set
	if sel != nil {
		context += "(" + strings.Join(sel, ",") + ")"
	}
	writeJSON(w, http.StatusOK, append(obj{{"@odata.context", context + "/$entity"}}, s.row(t, r, sel, pref)...))
}

// row renders a record: its etag, the selected columns (all when sel is
// nil) with their annotations when asked, and the primary key.
func (s *Server) row(t *table, r *record, sel []string, pref prefer) obj {
	names := sel
	if names == nil {
		for _, c := range t.def.cols {
			names = append(names, c.name)
		}
	}
	if !slices.Contains(names, t.def.key) {
		names = append(slices.Clone(names), t.def.key)
	}
	out := obj{{"@odata.etag", r.etag}}
	for _, name := range names {
		c, _ := t.def.col(name)
		out = append(out, s.annotations(t.def, c, r.fields[name], pref)...)
		out = append(out, kv{name, r.fields[name]})
	}
	return out
}

const (
	annFormatted = "OData.Community.Display.V1.FormattedValue"
	annLogical   = "Microsoft.Dynamics.CRM.lookuplogicalname"
)

var stateLabels = map[string][]string{
	"account": {"Active", "Inactive"}, "contact": {"Active", "Inactive"}, "systemuser": {"Active", "Inactive"},
	"opportunity": {"Open", "Won", "Lost"}, "activitypointer": {"Open", "Completed", "Canceled", "Scheduled"},
}

var moneyCols = map[string]bool{"revenue": true, "estimatedvalue": true, "actualvalue": true}

// annotations returns the annotations Dataverse adds before a value.
func (s *Server) annotations(def *tableDef, c column, v any, pref prefer) obj {
	var out obj
	add := func(ann string, val any) {
		if pref.wants(ann) {
			out = append(out, kv{c.name + "@" + ann, val})
		}
	}
	switch {
	case c.typ == tGUID && strings.HasPrefix(c.name, "_"):
		var name, logical any
		if id, ok := v.(string); ok {
			name, logical = s.lookupName(id)
		}
		add(annFormatted, name)
		add(annLogical, logical)
	case moneyCols[c.name]:
		var f any
		if x, ok := v.(float64); ok {
			f = money(x)
		}
		add(annFormatted, f)
	case c.name == "statecode":
		if n, ok := v.(int); ok && n >= 0 && n < len(stateLabels[def.logical]) {
			add(annFormatted, stateLabels[def.logical][n])
		}
	case c.typ == tBool && strings.HasPrefix(c.name, "donot"):
		if b, ok := v.(bool); ok {
			add(annFormatted, map[bool]string{false: "Allow", true: "Do Not Allow"}[b])
		}
	case c.name == "modifiedon":
		if ts, ok := v.(string); ok {
			if tm, err := time.Parse(time.RFC3339, ts); err == nil {
				add(annFormatted, tm.UTC().Format("2006-01-02 15:04:05"))
			}
		}
	}
	return out
}
