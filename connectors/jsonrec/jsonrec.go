// Package jsonrec reads typed fields (strings, booleans, numbers, dates,
// datetimes, free text) from one JSON record of a CRM API, keeping the
// first error so a caller checks once per record.
package jsonrec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/connectors"
)

// DateLayout is the form of a date-only field.
const DateLayout = "2006-01-02"

// Fields looks a record's fields up by name.
type Fields interface {
	// Raw returns the field's JSON, nil when absent.
	Raw(name string) json.RawMessage
}

// Reader reads the fields of one record; the first error sticks.
type Reader[F Fields] struct {
	// Fields are the record's fields.
	Fields F
	// parseDatetime parses a datetime field's text.
	parseDatetime func(string) (time.Time, error)
	err           error
}

// New returns a reader of fields whose datetimes parseDatetime parses.
func New[F Fields](fields F, parseDatetime func(string) (time.Time, error)) Reader[F] {
	return Reader[F]{Fields: fields, parseDatetime: parseDatetime}
}

// Err returns the first error met, nil when none.
func (r *Reader[F]) Err() error { return r.err }

// Fail records an error on field name unless one is already kept.
func (r *Reader[F]) Fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("field %s: %s", name, fmt.Sprintf(format, args...))
	}
}

// IsNull reports whether a field's JSON is absent or null.
func IsNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

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

// Str reads a string field, "" when null.
func (r *Reader[F]) Str(name string) string {
	v := r.Fields.Raw(name)
	if IsNull(v) {
		return ""
	}
	if v[0] != '"' {
		r.Fail(name, "want a string, got %s", kind(v))
		return ""
	}
	if inner := v[1 : len(v)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		r.Fail(name, "%v", err)
	}
	return s
}

// Boolean reads a boolean field, false when null.
func (r *Reader[F]) Boolean(name string) bool {
	switch v := r.Fields.Raw(name); {
	case IsNull(v):
		return false
	case string(v) == "true":
		return true
	case string(v) == "false":
		return false
	default:
		r.Fail(name, "want a boolean, got %s", kind(v))
		return false
	}
}

// Number reads a number field, 0 when null.
func (r *Reader[F]) Number(name string) float64 {
	v := r.Fields.Raw(name)
	if IsNull(v) {
		return 0
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		r.Fail(name, "want a number, got %s", kind(v))
	}
	return f
}

// Date reads a date-only field, zero when null.
func (r *Reader[F]) Date(name string) time.Time {
	s := r.Str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		r.Fail(name, "unparseable date %q", s)
	}
	return t
}

// Datetime reads a datetime field, zero when null.
func (r *Reader[F]) Datetime(name string) time.Time {
	s := r.Str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := r.parseDatetime(s)
	if err != nil {
		r.Fail(name, "unparseable datetime %q", s)
	}
	return t
}

// Moment reads a field that is a date or a datetime.
func (r *Reader[F]) Moment(name string) time.Time {
	if s := r.Str(name); len(s) == len(DateLayout) {
		return r.Date(name)
	}
	return r.Datetime(name)
}

// Latest returns the latest of date or datetime fields.
func (r *Reader[F]) Latest(fields []string) time.Time {
	var out time.Time
	for _, f := range fields {
		if t := r.Moment(f); t.After(out) {
			out = t
		}
	}
	return out
}

// Text returns a scalar field as text (numbers without exponent, booleans
// as true/false, objects and arrays as their JSON), "" when null.
func (r *Reader[F]) Text(name string) string {
	v := r.Fields.Raw(name)
	switch {
	case IsNull(v):
		return ""
	case v[0] == '"':
		return r.Str(name)
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

// Extra returns the non-null fields among fields as text, nil when none.
func (r *Reader[F]) Extra(fields []string) map[string]string {
	var out map[string]string
	for _, f := range fields {
		if IsNull(r.Fields.Raw(f)) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(fields))
		}
		out[f] = r.Text(f)
	}
	return out
}

// Language reads the language field name as a tag (connectors.Language:
// "fr-FR", "French", "French;English" from a multi-select picklist); ""
// when name is "", the field is null or it names no language.
func (r *Reader[F]) Language(name string) string {
	if name == "" {
		return ""
	}
	tag, _ := connectors.Language(r.Text(name))
	return tag
}
