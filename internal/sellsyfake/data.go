package sellsyfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// record is one object: its id and its fields as Sellsy sends them.
type record struct {
	id     int
	fields map[string]any
}

// collection holds the objects of one kind.
type collection struct {
	byID map[int]*record
}

// sorted returns the records by id.
func (c *collection) sorted() []*record {
	out := slices.Collect(maps.Values(c.byID))
	slices.SortFunc(out, func(a, b *record) int { return a.id - b.id })
	return out
}

// stampField is the field a change bumps: companies and individuals have
// updated_at, contacts updated; opportunities have none (updated_status
// moves only with the status), nor staff and activities.
var stampField = map[string]string{KindCompanies: "updated_at", KindIndividuals: "updated_at", KindContacts: "updated"}

// zone is the offset of the times the fake writes, as Sellsy writes
// Paris time with its offset.
var zone = time.FixedZone("CET", 3600)

// Stamp formats t as the fake writes times.
func Stamp(t time.Time) string { return t.In(zone).Format(time.RFC3339) }

// Put creates or updates the object of kind with id (0: a new id),
// merging fields into it, and returns its id. A change stamps the kind's
// updated field with the clock (and, for an opportunity whose status
// changes, updated_status), as Sellsy does.
func (s *Server) Put(kind string, id int, fields map[string]any) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putLocked(kind, id, fields, true)
}

func (s *Server) putLocked(kind string, id int, fields map[string]any, stamp bool) (int, error) {
	c, ok := s.data[kind]
	if !ok {
		return 0, fmt.Errorf("sellsyfake: unknown kind %q", kind)
	}
	if id == 0 {
		s.seq[kind]++
		id = s.seq[kind]
	}
	s.seq[kind] = max(s.seq[kind], id)
	r := c.byID[id]
	if r == nil {
		r = &record{id: id, fields: map[string]any{"id": id}}
		c.byID[id] = r
	}
	now := Stamp(s.opts.Now())
	if kind == KindOpportunities && stamp {
		if st, ok := fields["status"]; ok && st != r.fields["status"] {
			r.fields["updated_status"] = now
		}
	}
	for k, v := range fields {
		r.fields[k] = normalize(v)
	}
	if f := stampField[kind]; f != "" && stamp {
		r.fields[f] = now
	}
	return id, nil
}

// normalize turns v into what decoding its JSON gives, so that records
// compare and sort alike whatever Go types tests pass.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// Delete removes an object; a contact or a company also loses its links.
func (s *Server) Delete(kind string, id int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.data[kind]
	if !ok || c.byID[id] == nil {
		return fmt.Errorf("sellsyfake: no %s %d", kind, id)
	}
	delete(c.byID, id)
	switch kind {
	case KindContacts:
		delete(s.links, id)
	case KindCompanies:
		for contact, ids := range s.links {
			s.links[contact] = slices.DeleteFunc(ids, func(c int) bool { return c == id })
		}
	}
	return nil
}

// Link links a contact to a company (many-to-many, as in Sellsy).
func (s *Server) Link(contactID, companyID int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.linkLocked(contactID, companyID)
}

func (s *Server) linkLocked(contactID, companyID int) {
	if !slices.Contains(s.links[contactID], companyID) {
		s.links[contactID] = append(s.links[contactID], companyID)
		slices.Sort(s.links[contactID])
	}
}

// Get returns a copy of an object's fields, nil when there is none.
func (s *Server) Get(kind string, id int) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.data[kind]
	if c == nil || c.byID[id] == nil {
		return nil
	}
	return maps.Clone(c.byID[id].fields)
}

// Len returns how many objects of kind there are.
func (s *Server) Len(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data[kind].byID)
}
