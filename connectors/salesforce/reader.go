package salesforce

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/crmsync/crmsync/connectors/jsonrec"
)

// members are a record's fields; names are case-insensitive in Salesforce.
type members []member

// Raw returns a field's JSON, nil when absent, preferring an exact name.
func (ms members) Raw(name string) json.RawMessage {
	for _, m := range ms {
		if string(m.key) == name {
			return m.value
		}
	}
	for _, m := range ms {
		if strings.EqualFold(string(m.key), name) {
			return m.value
		}
	}
	return nil
}

// reader reads the fields of one record; the first error sticks.
type reader struct {
	jsonrec.Reader[members]
}

// newReader splits a record into its fields, appending them to buf.
func newReader(raw json.RawMessage, buf []member) (*reader, error) {
	m, err := objectMembers(raw, buf)
	if err != nil {
		return nil, errors.New("record is not a JSON object")
	}
	return readerOf(m), nil
}

// readerOf reads fields already split.
func readerOf(m []member) *reader {
	return &reader{jsonrec.New(members(m), parseDatetime)}
}

// id returns the record's Id, which it must have.
func (r *reader) id() string {
	id := r.Str("Id")
	switch {
	case r.Err() != nil:
	case id == "":
		r.Fail("Id", "missing")
	case !validID(id):
		r.Fail("Id", "%q is not a Salesforce id", id)
	}
	return id
}

// position returns the record's place in the keyset order, when its Id
// and SystemModstamp are readable.
func (r *reader) position() (position, bool) {
	probe := readerOf(r.Fields)
	id, ts := probe.id(), probe.Str("SystemModstamp")
	if _, err := parseDatetime(ts); probe.Err() != nil || err != nil {
		return position{}, false
	}
	return position{ts: ts, id: id}, true
}
