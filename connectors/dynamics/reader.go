package dynamics

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors/jsonrec"
)

// columns are a row's columns by name.
type columns map[string]json.RawMessage

// Raw returns a column's JSON, nil when absent.
func (c columns) Raw(name string) json.RawMessage { return c[name] }

// reader reads the columns of one row; the first error sticks.
type reader struct {
	jsonrec.Reader[columns]
}

func newReader(raw json.RawMessage) (*reader, error) {
	var m columns
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errors.New("row is not a JSON object")
	}
	return &reader{jsonrec.New(m, parseDatetime)}, nil
}

// parseDatetime parses a DateTime column (RFC 3339) into UTC.
func parseDatetime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err
}

func isNull(v json.RawMessage) bool { return jsonrec.IsNull(v) }

// deleted returns the id of a deleted-row stub: Dataverse's
// {"@odata.context":".../$metadata#accounts/$deletedEntity","id":...,
// "reason":"deleted"}, or OData 4.01's {"@removed":{...},"@id":
// "accounts(...)"} or with the primary key.
func (r *reader) deleted(e *entity) (string, bool) {
	var ctx string
	if v, ok := r.Fields["@odata.context"]; ok && json.Unmarshal(v, &ctx) == nil && strings.HasSuffix(ctx, "/$deletedEntity") {
		id, _ := r.probe("id")
		return id, true
	}
	if _, ok := r.Fields["@removed"]; !ok {
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
	v, ok := r.Fields[name]
	return s, ok && json.Unmarshal(v, &s) == nil
}

// id returns the row's primary key, which it must have.
func (r *reader) id(key string) string {
	id := r.Str(key)
	switch {
	case r.Err() != nil:
	case id == "":
		r.Fail(key, "missing")
	case !guidRe.MatchString(id):
		r.Fail(key, "%q is not a Dataverse id", id)
	}
	return strings.ToLower(id)
}
