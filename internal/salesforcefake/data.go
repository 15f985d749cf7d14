package salesforcefake

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Layouts of Salesforce values.
const (
	DatetimeLayout = "2006-01-02T15:04:05.000-0700" // "2024-09-13T20:23:03.000+0000"
	DateLayout     = "2006-01-02"
)

// deleteLogDays is how far back the delete log answers when no purge was
// set: "results are returned for no more than 15 days".
const deleteLogDays = 15

// standardFields are the fields every fake org knows, per sObject.
var standardFields = map[string][]string{
	"User": {"Id", "Name", "FirstName", "LastName", "Email", "Username", "IsActive", "UserType",
		"CreatedDate", "LastModifiedDate", "SystemModstamp"},
	"Account": {"Id", "Name", "Website", "Type", "Industry", "AnnualRevenue", "Phone", "OwnerId", "ParentId",
		"LastActivityDate", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"},
	"Contact": {"Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title", "OwnerId",
		"HasOptedOutOfEmail", "DoNotCall", "IsEmailBounced", "EmailBouncedDate", "LastActivityDate",
		"CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"},
	"Opportunity": {"Id", "AccountId", "Name", "Amount", "CloseDate", "StageName", "IsClosed", "IsWon",
		"Probability", "Type", "OwnerId", "LastActivityDate", "CreatedDate", "LastModifiedDate",
		"SystemModstamp", "IsDeleted"},
	"Task": {"Id", "Subject", "WhoId", "WhatId", "AccountId", "OwnerId", "ActivityDate", "Status", "TaskSubtype",
		"Type", "CompletedDateTime", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"},
	"Event": {"Id", "Subject", "WhoId", "WhatId", "AccountId", "OwnerId", "ActivityDate", "ActivityDateTime",
		"StartDateTime", "EndDateTime", "DurationInMinutes", "EventSubtype", "Type", "CreatedDate",
		"LastModifiedDate", "SystemModstamp", "IsDeleted"},
}

// keyPrefixes are the first three characters of each sObject's ids.
var keyPrefixes = map[string]string{"User": "005", "Account": "001", "Contact": "003", "Opportunity": "006",
	"Task": "00T", "Event": "00U"}

// record is one stored record. It is never changed once stored (a change
// stores a new record), so cursors can keep snapshots of pointers.
type record struct {
	id     string
	mod    time.Time      // SystemModstamp, for ordering
	fields map[string]any // canonical field name → value
}

type deletion struct {
	id string
	at time.Time
}

// sobject is one object type of the org.
type sobject struct {
	name     string
	fields   map[string]string // lower-case → canonical name
	recs     map[string]*record
	deleted  []deletion
	earliest time.Time // delete log purged before this; zero when never
}

// org holds the Server's records.
type org struct {
	now     func() time.Time
	objects map[string]*sobject // lower-case name → object
	seq     int
}

func newOrg(now func() time.Time) *org {
	o := &org{now: now, objects: map[string]*sobject{}}
	for name, fields := range standardFields {
		obj := &sobject{name: name, fields: map[string]string{}, recs: map[string]*record{}}
		for _, f := range fields {
			obj.fields[strings.ToLower(f)] = f
		}
		o.objects[strings.ToLower(name)] = obj
	}
	return o
}

// object returns the sObject named name (any case), or panics: test
// helpers name objects the fake knows.
func (o *org) object(name string) *sobject {
	obj, ok := o.objects[strings.ToLower(name)]
	if !ok {
		panic(fmt.Sprintf("salesforcefake: unknown sObject %q", name))
	}
	return obj
}

// stamp returns the time Salesforce would stamp now: whole seconds.
func (o *org) stamp() time.Time { return o.now().UTC().Truncate(time.Second) }

// newID returns a new 18-character id for obj.
func (o *org) newID(obj *sobject) string {
	o.seq++
	return ID(keyPrefixes[obj.name], o.seq)
}

// ID returns the 18-character Salesforce id with the given key prefix and
// sequence number, its case-safe suffix computed as Salesforce does.
func ID(prefix string, seq int) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := []byte("5g0000000000")
	for i := len(b) - 1; seq > 0 && i >= 2; i-- {
		b[i] = digits[seq%62]
		seq /= 62
	}
	return withSuffix(prefix + string(b))
}

// withSuffix appends the three-character checksum that makes a 15-char id
// case-insensitive.
func withSuffix(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	out := []byte(id15)
	for chunk := range 3 {
		flags := 0
		for j := range 5 {
			if c := id15[chunk*5+j]; c >= 'A' && c <= 'Z' {
				flags |= 1 << j
			}
		}
		out = append(out, alphabet[flags])
	}
	return string(out)
}

// put stores a new version of a record built from fields; it registers
// unknown fields and stamps the system fields that fields leave out.
func (o *org) put(obj *sobject, fields map[string]any, touch bool) *record {
	f := make(map[string]any, len(fields)+4)
	for k, v := range fields {
		f[o.field(obj, k)] = normalise(v)
	}
	id, _ := f["Id"].(string)
	if id == "" {
		id = o.newID(obj)
	}
	if _, given := f["Id"]; !given || f["Id"] == "" {
		f["Id"] = id // else a malformed Id is sent as given
	}
	now := o.stamp()
	if _, ok := f["CreatedDate"]; !ok {
		f["CreatedDate"] = now.Format(DatetimeLayout)
	}
	mod := now
	if v, ok := f["SystemModstamp"]; ok && !touch {
		if s, ok := v.(string); ok {
			if t, err := time.Parse(DatetimeLayout, s); err == nil {
				mod = t
			}
		}
	} else {
		f["SystemModstamp"] = now.Format(DatetimeLayout)
		f["LastModifiedDate"] = f["SystemModstamp"]
	}
	r := &record{id: id, mod: mod, fields: f}
	obj.recs[id] = r
	return r
}

// field returns the canonical name of obj's field name, registering it
// when unknown.
func (o *org) field(obj *sobject, name string) string {
	if c, ok := obj.fields[strings.ToLower(name)]; ok {
		return c
	}
	obj.fields[strings.ToLower(name)] = name
	return name
}

// normalise turns Go values into what the fake stores.
func normalise(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(DatetimeLayout)
	case int:
		return float64(x)
	}
	return v
}

// AddField adds a field (a custom field such as "Tier__c") to sObject.
func (s *Server) AddField(sobject, field string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.org.field(s.org.object(sobject), field)
}

// Put stores a record of sObject with fields (values: string, float64,
// int, bool, nil, time.Time for datetimes, or anything JSON encodes, to
// send malformed records) and returns its id. Fields it lacks are null;
// Id, CreatedDate and SystemModstamp are set unless given (an Id or a
// SystemModstamp that is not a valid string is sent as given, the record
// keeping an id and a stamp of its own); unknown fields are added to the
// sObject.
func (s *Server) Put(sobject string, fields map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.org.put(s.org.object(sobject), fields, false).id
}

// Modify changes fields of a record as a user would: its SystemModstamp
// becomes now. It reports whether the record exists.
func (s *Server) Modify(sobject, id string, fields map[string]any) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modify(s.org.object(sobject), id, fields)
}

func (s *Server) modify(obj *sobject, id string, fields map[string]any) bool {
	r, ok := obj.recs[id]
	if !ok {
		return false
	}
	f := maps.Clone(r.fields)
	for k, v := range fields {
		f[k] = v
	}
	s.org.put(obj, f, true)
	return true
}

// Delete deletes a record, logging it for the deleted resource. It
// reports whether the record existed.
func (s *Server) Delete(sobject, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delete(s.org.object(sobject), id)
}

func (s *Server) delete(obj *sobject, id string) bool {
	if _, ok := obj.recs[id]; !ok {
		return false
	}
	delete(obj.recs, id)
	obj.deleted = append(obj.deleted, deletion{id: id, at: s.org.stamp()})
	return true
}

// Merge merges losers into winner as Salesforce does: the losers are
// deleted (they appear in the deleted resource) and, for accounts, their
// contacts and opportunities move to the winner. The winner is modified.
func (s *Server) Merge(sobject, winner string, losers ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.org.object(sobject)
	for _, l := range losers {
		if obj.name == "Account" {
			s.reparent(l, winner)
		}
		s.delete(obj, l)
	}
	s.modify(obj, winner, nil)
}

// reparent moves the contacts and opportunities of account from to to.
func (s *Server) reparent(from, to string) {
	for _, name := range []string{"Contact", "Opportunity"} {
		obj := s.org.object(name)
		for _, r := range slices.Collect(maps.Values(obj.recs)) {
			if r.fields["AccountId"] == from {
				s.modify(obj, r.id, map[string]any{"AccountId": to})
			}
		}
	}
}

// Get returns a copy of a record's fields.
func (s *Server) Get(sobject, id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.org.object(sobject).recs[id]
	if !ok {
		return nil, false
	}
	return maps.Clone(r.fields), true
}

// IDs returns the ids of sObject's records, sorted.
func (s *Server) IDs(sobject string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.org.object(sobject).recs))
}

// SetEarliestDeleted pretends the delete log of sObject was purged before
// t: the deleted resource refuses a start before it.
func (s *Server) SetEarliestDeleted(sobject string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.org.object(sobject).earliest = t.UTC().Truncate(time.Minute)
}

// snapshot returns obj's records matching keep, ordered by SystemModstamp
// then Id.
func (obj *sobject) snapshot(keep func(*record) bool) []*record {
	out := make([]*record, 0, len(obj.recs))
	for _, r := range obj.recs {
		if keep(r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *record) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}
