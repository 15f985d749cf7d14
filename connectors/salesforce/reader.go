package salesforce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/connectors"
)

// reader reads the fields of one record; the first error sticks.
type reader struct {
	m   []member
	err error
}

// newReader splits a record into its fields, appending them to buf.
func newReader(raw json.RawMessage, buf []member) (*reader, error) {
	m, err := objectMembers(raw, buf)
	if err != nil {
		return nil, errors.New("record is not a JSON object")
	}
	return &reader{m: m}, nil
}

// raw returns a field's JSON, nil when absent; field names are
// case-insensitive in Salesforce.
func (r *reader) raw(name string) json.RawMessage {
	for _, m := range r.m {
		if string(m.key) == name {
			return m.value
		}
	}
	for _, m := range r.m {
		if strings.EqualFold(string(m.key), name) {
			return m.value
		}
	}
	return nil
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

// id returns the record's Id, which it must have.
func (r *reader) id() string {
	id := r.str("Id")
	switch {
	case r.err != nil:
	case id == "":
		r.fail("Id", "missing")
	case !validID(id):
		r.fail("Id", "%q is not a Salesforce id", id)
	}
	return id
}

// position returns the record's place in the keyset order, when its Id
// and SystemModstamp are readable.
func (r *reader) position() (position, bool) {
	probe := &reader{m: r.m}
	id, ts := probe.id(), probe.str("SystemModstamp")
	if _, err := parseDatetime(ts); probe.err != nil || err != nil {
		return position{}, false
	}
	return position{ts: ts, id: id}, true
}

func (r *reader) str(name string) string {
	v := r.raw(name)
	if isNull(v) {
		return ""
	}
	if v[0] != '"' {
		r.fail(name, "want a string, got %s", kind(v))
		return ""
	}
	if inner := v[1 : len(v)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		r.fail(name, "%v", err)
	}
	return s
}

func (r *reader) boolean(name string) bool {
	switch v := r.raw(name); {
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
	v := r.raw(name)
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
	t, err := parseDatetime(s)
	if err != nil {
		r.fail(name, "unparseable datetime %q", s)
	}
	return t
}

// latest returns the latest of date or datetime fields.
func (r *reader) latest(fields []string) time.Time {
	var out time.Time
	for _, f := range fields {
		if t := r.moment(f); t.After(out) {
			out = t
		}
	}
	return out
}

// moment reads a field that is a date or a datetime.
func (r *reader) moment(name string) time.Time {
	if s := r.str(name); len(s) == len(dateLayout) {
		return r.date(name)
	}
	return r.datetime(name)
}

// text returns a scalar field as text (numbers without exponent, booleans
// as true/false, objects and arrays as their JSON), "" when null.
func (r *reader) text(name string) string {
	v := r.raw(name)
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

// extra returns the non-null extra fields as text, nil when none.
func (r *reader) extra(fields []string) map[string]string {
	var out map[string]string
	for _, f := range fields {
		if isNull(r.raw(f)) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(fields))
		}
		out[f] = r.text(f)
	}
	return out
}

// language reads the language field name as a tag (connectors.Language:
// "fr-FR", "French", "French;English" from a multi-select picklist); ""
// when name is "", the field is null or it names no language.
func (r *reader) language(name string) string {
	if name == "" {
		return ""
	}
	tag, _ := connectors.Language(r.text(name))
	return tag
}
