package hubspotfake

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Search API limits HubSpot documents.
const (
	maxFilterGroups     = 5
	maxFiltersPerGroup  = 6
	maxFiltersTotal     = 18
	maxQueryLength      = 3000
	defaultSearchLimit  = 10
	searchObjectIDField = "hs_object_id"
)

// searchRequest is HubSpot's PublicObjectSearchRequest.
type searchRequest struct {
	FilterGroups []struct {
		Filters []filter `json:"filters"`
	} `json:"filterGroups"`
	Sorts      []json.RawMessage `json:"sorts"`
	Properties []string          `json:"properties"`
	Limit      *int              `json:"limit"`
	After      json.RawMessage   `json:"after"`
	Query      string            `json:"query"`
}

type filter struct {
	PropertyName string            `json:"propertyName"`
	Operator     string            `json:"operator"`
	Value        json.RawMessage   `json:"value"`
	Values       []json.RawMessage `json:"values"`
	HighValue    json.RawMessage   `json:"highValue"`
}

type sortSpec struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

// search answers POST /crm/v3/objects/{kind}/search.
func (s *Server) search(kind Kind, req Request) reply {
	var sr searchRequest
	if err := strictDecode(req.Body, &sr); err != nil {
		return s.validation("Invalid input JSON: " + err.Error())
	}
	limit, after, sorter, match, rep, ok := s.parseSearch(kind, sr)
	if !ok {
		return rep
	}
	if after >= MaxSearchResult {
		return s.errorReply(http.StatusBadRequest, "VALIDATION_ERROR", BeyondLimitMessage)
	}
	enc := objectJSON{kind: kind, props: properties(kind, sr.Properties)}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*record
	visible := s.now().Add(-s.opts.SearchLag)
	for _, r := range s.tables[kind].order {
		if r.Archived || (s.opts.SearchLag > 0 && r.Modified.After(visible)) || !match(r) {
			continue
		}
		found = append(found, r)
	}
	if sorter != nil {
		slices.SortFunc(found, sorter)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"total":%d,"results":[`, len(found))
	end := min(after+limit, len(found))
	for i := after; i < end; i++ {
		if i > after {
			b.WriteByte(',')
		}
		enc.write(&b, found[i])
	}
	b.WriteByte(']')
	if end < len(found) {
		fmt.Fprintf(&b, `,"paging":{"next":{"after":"%d","link":"?after=%d"}}`, end, end)
	}
	b.WriteByte('}')
	return jsonReply(http.StatusOK, &b)
}

// parseSearch validates a search request and compiles its paging, sort
// and filters.
func (s *Server) parseSearch(kind Kind, sr searchRequest) (limit, after int, sorter func(a, b *record) int, match func(*record) bool, rep reply, ok bool) {
	limit = defaultSearchLimit
	if sr.Limit != nil {
		limit = *sr.Limit
	}
	if limit < 0 || limit > MaxSearchLimit {
		return 0, 0, nil, nil, s.validation(fmt.Sprintf("Invalid input: limit must be between 0 and %d, got %d", MaxSearchLimit, limit)), false
	}
	if len(sr.Query) > maxQueryLength {
		return 0, 0, nil, nil, s.validation("Invalid input: query is too long"), false
	}
	after, err := offset(sr.After)
	if err != nil {
		return 0, 0, nil, nil, s.validation(err.Error()), false
	}
	sorter, err = compileSorts(kind, sr.Sorts)
	if err != nil {
		return 0, 0, nil, nil, s.validation(err.Error()), false
	}
	match, err = compileFilters(kind, sr)
	if err != nil {
		return 0, 0, nil, nil, s.validation(err.Error()), false
	}
	return limit, after, sorter, match, reply{}, true
}

// offset reads the search "after", a string or a number holding an offset.
func offset(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	v, err := scalar(raw)
	if err != nil {
		return 0, err
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("Invalid input: after %q is not a valid offset", v)
	}
	return n, nil
}

// scalar returns a JSON string's or number's text.
func scalar(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("Invalid input: %s is neither a string nor a number", raw)
}

func compileSorts(kind Kind, sorts []json.RawMessage) (func(a, b *record) int, error) {
	if len(sorts) == 0 {
		return nil, nil
	}
	if len(sorts) > 1 {
		return nil, fmt.Errorf("Invalid input: only one sort is supported")
	}
	var sp sortSpec
	if err := json.Unmarshal(sorts[0], &sp.PropertyName); err == nil {
		sp.Direction = "ASCENDING"
		if name, ok := strings.CutPrefix(sp.PropertyName, "-"); ok {
			sp.PropertyName, sp.Direction = name, "DESCENDING"
		}
	} else if err := strictDecode(sorts[0], &sp); err != nil {
		return nil, fmt.Errorf("Invalid input JSON: sorts: %v", err)
	}
	if sp.PropertyName == "" {
		return nil, fmt.Errorf("Invalid input JSON: Cannot build Sort, some of required attributes are not set [propertyName]")
	}
	sign := 1
	switch sp.Direction {
	case "", "ASCENDING":
	case "DESCENDING":
		sign = -1
	default:
		return nil, fmt.Errorf("Invalid input: direction %q is not ASCENDING or DESCENDING", sp.Direction)
	}
	name := sp.PropertyName
	return func(a, b *record) int {
		if c := compareField(kind, a, b, name); c != 0 {
			return sign * c
		}
		// HubSpot orders equal values arbitrarily: so does the fake,
		// deterministically, so that clients cannot rely on id order.
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		return cmp.Compare(a.num, b.num)
	}, nil
}

// tieRank scrambles ids so that records sharing a sort value come in no
// particular order.
func tieRank(id string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()
}

// compareField orders two records by one field.
func compareField(kind Kind, a, b *record, name string) int {
	if ms, ok := dateField(kind, name); ok {
		return cmp.Compare(ms(a), ms(b))
	}
	if name == searchObjectIDField {
		return cmp.Compare(a.num, b.num)
	}
	av, bv := a.props.value(name), b.props.value(name)
	af, aerr := strconv.ParseFloat(av, 64)
	bf, berr := strconv.ParseFloat(bv, 64)
	if aerr == nil && berr == nil {
		return cmp.Compare(af, bf)
	}
	return strings.Compare(av, bv)
}

// dateField returns the millisecond value of a date field the fake knows.
func dateField(kind Kind, name string) (func(*record) int64, bool) {
	switch name {
	case kind.ModifiedProperty():
		return func(r *record) int64 { return r.Modified.UnixMilli() }, true
	case "createdate", "hs_createdate":
		return func(r *record) int64 { return r.CreatedAt.UnixMilli() }, true
	}
	return nil, false
}

// compileFilters returns the predicate of the request's filter groups
// (OR of groups, AND within one).
func compileFilters(kind Kind, sr searchRequest) (func(*record) bool, error) {
	if len(sr.FilterGroups) > maxFilterGroups {
		return nil, fmt.Errorf("Invalid input: at most %d filterGroups are allowed", maxFilterGroups)
	}
	total := 0
	var groups [][]func(*record) bool
	for _, g := range sr.FilterGroups {
		if len(g.Filters) > maxFiltersPerGroup {
			return nil, fmt.Errorf("Invalid input: at most %d filters are allowed in a filterGroup", maxFiltersPerGroup)
		}
		total += len(g.Filters)
		var preds []func(*record) bool
		for _, f := range g.Filters {
			p, err := compileFilter(kind, f)
			if err != nil {
				return nil, err
			}
			preds = append(preds, p)
		}
		groups = append(groups, preds)
	}
	if total > maxFiltersTotal {
		return nil, fmt.Errorf("Invalid input: at most %d filters are allowed", maxFiltersTotal)
	}
	return func(r *record) bool {
		if len(groups) == 0 {
			return true
		}
		for _, g := range groups {
			if all(g, r) {
				return true
			}
		}
		return false
	}, nil
}

func all(preds []func(*record) bool, r *record) bool {
	for _, p := range preds {
		if !p(r) {
			return false
		}
	}
	return true
}

// compileFilter compiles one filter; its value must suit its field.
func compileFilter(kind Kind, f filter) (func(*record) bool, error) {
	if f.PropertyName == "" {
		return nil, fmt.Errorf("Invalid input JSON on line 1, column 15: Cannot build Filter, some of required attributes are not set [propertyName]")
	}
	switch f.Operator {
	case "HAS_PROPERTY", "NOT_HAS_PROPERTY":
		want := f.Operator == "HAS_PROPERTY"
		return func(r *record) bool { return (r.props.value(f.PropertyName) != "") == want }, nil
	case "IN", "NOT_IN":
		return compileIn(kind, f)
	case "EQ", "NEQ", "GT", "GTE", "LT", "LTE", "BETWEEN":
	case "":
		return nil, fmt.Errorf("Invalid input JSON: Cannot build Filter, some of required attributes are not set [operator]")
	default:
		return nil, fmt.Errorf("Invalid input: operator %q is not supported", f.Operator)
	}
	cmpTo, err := comparer(kind, f.PropertyName, f.Value)
	if err != nil {
		return nil, err
	}
	if f.Operator == "BETWEEN" {
		cmpHigh, err := comparer(kind, f.PropertyName, f.HighValue)
		if err != nil {
			return nil, err
		}
		return func(r *record) bool { return cmpTo(r) >= 0 && cmpHigh(r) <= 0 }, nil
	}
	test := map[string]func(int) bool{
		"EQ": func(c int) bool { return c == 0 }, "NEQ": func(c int) bool { return c != 0 },
		"GT": func(c int) bool { return c > 0 }, "GTE": func(c int) bool { return c >= 0 },
		"LT": func(c int) bool { return c < 0 }, "LTE": func(c int) bool { return c <= 0 },
	}[f.Operator]
	return func(r *record) bool { return test(cmpTo(r)) }, nil
}

func compileIn(kind Kind, f filter) (func(*record) bool, error) {
	var cs []func(*record) int
	for _, v := range f.Values {
		c, err := comparer(kind, f.PropertyName, v)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	want := f.Operator == "IN"
	return func(r *record) bool {
		for _, c := range cs {
			if c(r) == 0 {
				return want
			}
		}
		return !want
	}, nil
}

// comparer returns a function comparing a record's field with the filter
// value raw (record's value minus raw's, in sign).
func comparer(kind Kind, name string, raw json.RawMessage) (func(*record) int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("Invalid input: filter on %s needs a value", name)
	}
	v, err := scalar(raw)
	if err != nil {
		return nil, err
	}
	if ms, ok := dateField(kind, name); ok {
		at, err := parseDate(v)
		if err != nil {
			return nil, fmt.Errorf("Invalid input: %q is not a valid value for %s: %v", v, name, err)
		}
		return func(r *record) int { return cmp.Compare(ms(r), at) }, nil
	}
	if name == searchObjectIDField {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("Invalid input: %q is not a valid value for %s", v, name)
		}
		return func(r *record) int { return cmp.Compare(r.num, n) }, nil
	}
	f, ferr := strconv.ParseFloat(v, 64)
	return func(r *record) int {
		pv := r.props.value(name)
		if pf, err := strconv.ParseFloat(pv, 64); err == nil && ferr == nil {
			return cmp.Compare(pf, f)
		}
		return strings.Compare(pv, v)
	}, nil
}

// parseDate reads a filter date: epoch milliseconds or ISO-8601.
func parseDate(v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, err
	}
	return t.UnixMilli(), nil
}
