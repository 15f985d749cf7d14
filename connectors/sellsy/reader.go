package sellsy

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors/jsonrec"
)

// object is a Sellsy object's fields by name; a dotted name
// ("amount.value", "_embed.owner.email") reaches into nested objects.
type object map[string]json.RawMessage

// Raw returns a field's JSON, nil when absent.
func (o object) Raw(name string) json.RawMessage {
	if v, ok := o[name]; ok {
		return v
	}
	head, rest, ok := strings.Cut(name, ".")
	if !ok || jsonrec.IsNull(o[head]) {
		return nil
	}
	var inner object
	if json.Unmarshal(o[head], &inner) != nil {
		return nil
	}
	return inner.Raw(rest)
}

// reader reads one object's fields; the first error sticks.
type reader struct {
	jsonrec.Reader[object]
}

func newReader(raw json.RawMessage) (*reader, error) {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return nil, errors.New("object is not a JSON object")
	}
	return &reader{jsonrec.New(o, parseDatetime)}, nil
}

// parseDatetime parses Sellsy's RFC 3339 times (with their offset) into
// UTC.
func parseDatetime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err
}

// id reads an integer id field ("" when null); a value that is not a
// positive integer is an error.
func (r *reader) id(name string) string {
	v := r.Fields.Raw(name)
	if jsonrec.IsNull(v) {
		return ""
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n <= 0 {
		r.Fail(name, "%s is not a Sellsy id", v)
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// probeID reads an id without recording an error.
func (o object) probeID(name string) string {
	n, err := strconv.ParseInt(string(o.Raw(name)), 10, 64)
	if err != nil || n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// strings reads an array of strings, nil when null or absent; present
// reports whether the field was there at all.
func (r *reader) strings(name string) (list []string, present bool) {
	v := r.Fields.Raw(name)
	if jsonrec.IsNull(v) {
		return nil, false
	}
	if err := json.Unmarshal(v, &list); err != nil {
		r.Fail(name, "not a list of strings")
	}
	return list, true
}
