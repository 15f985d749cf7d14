package dynamics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors"
)

// dateLayout is a DateOnly column's form (actualclosedate).
const dateLayout = "2006-01-02"

// reader reads the columns of one row; the first error sticks.
type reader struct {
	m   map[string]json.RawMessage
	err error
}

func newReader(raw json.RawMessage) (*reader, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errors.New("row is not a JSON object")
	}
	return &reader{m: m}, nil
}

// deleted returns the id of a deleted-row stub: Dataverse's
// {"@odata.context":".../$metadata#accounts/$deletedEntity","id":...,
// "reason":"deleted"}, or OData 4.01's {"@removed":{...},"@id":
// "accounts(...)"} or with the primary key.
func (r *reader) deleted(e *entity) (string, bool) {
	var ctx string
	if v, ok := r.m["@odata.context"]; ok && json.Unmarshal(v, &ctx) == nil && strings.HasSuffix(ctx, "/$deletedEntity") {
		id, _ := r.probe("id")
		return id, true
	}
	if _, ok := r.m["@removed"]; !ok {
		return "", false
	}
	if id, _ := r.probe(e.key); id != "" {
		return id, true
	}
	at, _ := r.probe("@id")
	_, rest, _ := strings.Cut(at, "(")
	id, _, _ := strings.Cut(rest, ")")
	return id, true
}

// probe reads a string column without recording an error.
func (r *reader) probe(name string) (string, bool) {
	var s string
	v, ok := r.m[name]
	return s, ok && json.Unmarshal(v, &s) == nil
}

func (r *reader) fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("field %s: %s", name, fmt.Sprintf(format, args...))
	}
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// kind names a JSON value's type for error messages.
func kind(v json.RawMessage) string {
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// id returns the row's primary key, which it must have.
func (r *reader) id(key string) string {
	id := r.str(key)
	switch {
	case r.err != nil:
	case id == "":
		r.fail(key, "missing")
	case !guidRe.MatchString(id):
		r.fail(key, "%q is not a Dataverse id", id)
	}
	return strings.ToLower(id)
}

func (r *reader) str(name string) string {
	v := r.m[name]
	if isNull(v) {
		return ""
	}
	if v[0] != '"' {
		r.fail(name, "want a string, got %s", kind(v))
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		r.fail(name, "%v", err)
	}
	return s
}

func (r *reader) boolean(name string) bool {
	switch v := r.m[name]; {
	case isNull(v):
		return false
	case string(v) == "true":
		return true
	case string(v) == "false":
		return false
	default:
		r.fail(name, "want a boolean, got %s", kind(v))
		return false
	}
}

func (r *reader) number(name string) float64 {
	v := r.m[name]
	if isNull(v) {
		return 0
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		r.fail(name, "want a number, got %s", kind(v))
	}
	return f
}

func (r *reader) date(name string) time.Time {
	s := r.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		r.fail(name, "unparseable date %q", s)
	}
	return t
}

func (r *reader) datetime(name string) time.Time {
	s := r.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		r.fail(name, "unparseable datetime %q", s)
	}
	return t.UTC()
}

// latest returns the latest of date or datetime columns.
func (r *reader) latest(fields []string) time.Time {
	var out time.Time
	for _, f := range fields {
		t := r.datetime
		if s := r.str(f); len(s) == len(dateLayout) {
			t = r.date
		}
		if v := t(f); v.After(out) {
			out = v
		}
	}
	return out
}

// text returns a scalar column as text (numbers without exponent,
// booleans as true/false), "" when null.
func (r *reader) text(name string) string {
	v := r.m[name]
	switch {
	case isNull(v):
		return ""
	case v[0] == '"':
		return r.str(name)
	case v[0] == '{' || v[0] == '[' || v[0] == 't' || v[0] == 'f':
		var b bytes.Buffer
		if json.Compact(&b, v) != nil {
			return string(v)
		}
		return b.String()
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return string(v)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// extra returns the non-null extra columns as text, nil when none.
func (r *reader) extra(fields []string) map[string]string {
	var out map[string]string
	for _, f := range fields {
		if isNull(r.m[f]) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(fields))
		}
		out[f] = r.text(f)
	}
	return out
}

// language reads a language column as a tag; "" when name is "", the
// column is null or names no language.
func (r *reader) language(name string) string {
	if name == "" {
		return ""
	}
	tag, _ := connectors.Language(r.text(name))
	return tag
}
