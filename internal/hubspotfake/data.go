package hubspotfake

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Kind names a CRM object type as in HubSpot's paths.
type Kind string

// Object types the Server serves.
const (
	Companies Kind = "companies"
	Contacts  Kind = "contacts"
	Deals     Kind = "deals"
)

// Kinds lists the object types the Server serves.
var Kinds = []Kind{Companies, Contacts, Deals}

// ModifiedProperty returns the property HubSpot keeps the last
// modification time in: lastmodifieddate for contacts,
// hs_lastmodifieddate for the others.
func (k Kind) ModifiedProperty() string {
	if k == Contacts {
		return "lastmodifieddate"
	}
	return "hs_lastmodifieddate"
}

// Association type ids HubSpot defines (v4) for associations to companies.
const (
	TypeContactPrimaryCompany = 1
	TypeContactCompany        = 279
	TypeDealPrimaryCompany    = 5
	TypeDealCompany           = 341
)

// Object is one CRM record. Property values are strings, as HubSpot
// serves them; a property missing from Properties is served as null.
type Object struct {
	ID         string
	Properties map[string]string
	CreatedAt  time.Time
	Modified   time.Time // the modified property, kept in sync with Properties
	Archived   bool
	ArchivedAt time.Time
	// Companies are the companies a contact or deal is associated with.
	Companies []Association
}

// Association links a contact or deal to a company.
type Association struct {
	CompanyID string
	Primary   bool     // HubSpot's "Primary" association (type 1 or 5)
	Labels    []string // user-defined association labels
}

// Owner is a HubSpot user who can own records.
type Owner struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
	UserID    int
	Archived  bool
}

// record is an Object as stored: its properties packed into one string
// (so that a portal of a million records costs the garbage collector
// little, which keeps benchmarks about the client), its numeric id and,
// when set, the raw JSON served instead of it.
type record struct {
	ID         string
	props      packed
	CreatedAt  time.Time
	Modified   time.Time
	Archived   bool
	ArchivedAt time.Time
	Companies  []Association
	num        int64
	rank       uint32 // order among records sharing a sort value
	raw        string
}

// packed holds properties as "name\x00value\x00" pairs sorted by name.
type packed string

func pack(m map[string]string) packed {
	names := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(0)
		b.WriteString(m[n])
		b.WriteByte(0)
	}
	return packed(b.String())
}

// get returns a property's value and whether it is set.
func (p packed) get(name string) (string, bool) {
	s := string(p)
	for s != "" {
		n, rest, _ := strings.Cut(s, "\x00")
		v, rest, _ := strings.Cut(rest, "\x00")
		if n == name {
			return v, true
		}
		s = rest
	}
	return "", false
}

// value returns a property's value, "" when unset.
func (p packed) value(name string) string {
	v, _ := p.get(name)
	return v
}

func (p packed) unpack() map[string]string {
	m := map[string]string{}
	s := string(p)
	for s != "" {
		n, rest, _ := strings.Cut(s, "\x00")
		v, rest, _ := strings.Cut(rest, "\x00")
		m[n] = v
		s = rest
	}
	return m
}

// set changes properties (an empty value clears one).
func (r *record) set(props map[string]string) {
	m := r.props.unpack()
	for k, v := range props {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	r.props = pack(m)
}

// object returns a copy of r as an Object.
func (r *record) object() Object {
	return Object{ID: r.ID, Properties: r.props.unpack(), CreatedAt: r.CreatedAt, Modified: r.Modified,
		Archived: r.Archived, ArchivedAt: r.ArchivedAt, Companies: slices.Clone(r.Companies)}
}

// table holds the records of one kind in id order.
type table struct {
	byID  map[string]*record
	order []*record
	next  int64
}

func newTable(first int64) *table {
	return &table{byID: map[string]*record{}, next: first}
}

// put inserts or replaces r, keeping order sorted by id.
func (t *table) put(r *record) {
	if old, ok := t.byID[r.ID]; ok {
		*old = *r
		return
	}
	t.byID[r.ID] = r
	if n := len(t.order); n == 0 || t.order[n-1].num < r.num {
		t.order = append(t.order, r)
	} else {
		i := sort.Search(n, func(i int) bool { return t.order[i].num >= r.num })
		t.order = slices.Insert(t.order, i, r)
	}
	if r.num >= t.next {
		t.next = r.num + 1
	}
}

// remove deletes the record with id for good (merged away).
func (t *table) remove(id string) {
	r, ok := t.byID[id]
	if !ok {
		return
	}
	delete(t.byID, id)
	i := sort.Search(len(t.order), func(i int) bool { return t.order[i].num >= r.num })
	t.order = slices.Delete(t.order, i, i+1)
}

// from returns the index of the first record whose id is ≥ num.
func (t *table) from(num int64) int {
	return sort.Search(len(t.order), func(i int) bool { return t.order[i].num >= num })
}

// first ids given to records of each kind, so that ids never collide.
var firstID = map[Kind]int64{Companies: 5000000001, Contacts: 1001, Deals: 9000000001}

// Base is the time seeded records were created around.
var Base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// isoMillis formats t the way HubSpot formats date-time properties.
func isoMillis(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// Put stores o under kind, replacing any record with its id, and returns
// its id: a new one when o.ID is empty. A zero Modified is now; a zero
// CreatedAt is Modified. The modified property, createdate and
// hs_object_id are set from the fields.
func (s *Server) Put(kind Kind, o Object) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putLocked(kind, o)
}

func (s *Server) putLocked(kind Kind, o Object) string {
	t := s.tables[kind]
	if o.ID == "" {
		o.ID = strconv.FormatInt(t.next, 10)
	}
	num, err := strconv.ParseInt(o.ID, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("hubspotfake: id %q is not numeric", o.ID))
	}
	if o.Modified.IsZero() {
		o.Modified = s.now()
	}
	o.Modified = o.Modified.Truncate(time.Millisecond)
	if o.CreatedAt.IsZero() {
		o.CreatedAt = o.Modified
	}
	props := make(map[string]string, len(o.Properties)+3)
	maps.Copy(props, o.Properties)
	props[kind.ModifiedProperty()] = isoMillis(o.Modified)
	props["hs_object_id"] = o.ID
	if _, ok := props["createdate"]; !ok {
		props["createdate"] = isoMillis(o.CreatedAt)
	}
	t.put(&record{ID: o.ID, props: pack(props), CreatedAt: o.CreatedAt, Modified: o.Modified,
		Archived: o.Archived, ArchivedAt: o.ArchivedAt, Companies: slices.Clone(o.Companies), num: num, rank: tieRank(o.ID)})
	return o.ID
}

// Get returns a copy of the record kind/id.
func (s *Server) Get(kind Kind, id string) (Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.tables[kind].byID[id]
	if !ok {
		return Object{}, false
	}
	return r.object(), true
}

// IDs returns the ids of the live (not archived) records of kind, in id
// order.
func (s *Server) IDs(kind Kind) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, r := range s.tables[kind].order {
		if !r.Archived {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// Modify sets properties of kind/id (an empty value clears one) and moves
// its modified time to now, as any update in HubSpot does.
func (s *Server) Modify(kind Kind, id string, props map[string]string) {
	s.ModifyAt(kind, id, time.Time{}, props)
}

// ModifyAt is Modify with an explicit modified time (zero: now), for
// records sharing one millisecond.
func (s *Server) ModifyAt(kind Kind, id string, at time.Time, props map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustGet(kind, id)
	r.set(props)
	s.touch(kind, r, at)
}

func (s *Server) touch(kind Kind, r *record, at time.Time) {
	if at.IsZero() {
		at = s.now()
	}
	r.Modified = at.Truncate(time.Millisecond)
	r.set(map[string]string{kind.ModifiedProperty(): isoMillis(r.Modified)})
}

func (s *Server) mustGet(kind Kind, id string) *record {
	r, ok := s.tables[kind].byID[id]
	if !ok {
		panic(fmt.Sprintf("hubspotfake: no %s %s", kind, id))
	}
	return r
}

// Archive deletes kind/id the way HubSpot does: it leaves lists and search
// and shows in lists with archived=true, with its archivedAt.
func (s *Server) Archive(kind Kind, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustGet(kind, id)
	r.Archived = true
	r.ArchivedAt = s.now().Truncate(time.Millisecond)
}

// Merge merges kind/gone into kind/keep: gone disappears for good, keep
// lists it in hs_merged_object_ids and is modified; for companies, the
// contacts and deals of gone move to keep (and are modified too).
func (s *Server) Merge(kind Kind, keep, gone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.mustGet(kind, keep)
	s.mustGet(kind, gone)
	s.tables[kind].remove(gone)
	ids := strings.Split(k.props.value("hs_merged_object_ids"), ";")
	ids = slices.DeleteFunc(append(ids, gone), func(v string) bool { return v == "" })
	k.set(map[string]string{"hs_merged_object_ids": strings.Join(ids, ";")})
	s.touch(kind, k, time.Time{})
	if kind != Companies {
		return
	}
	for _, other := range []Kind{Contacts, Deals} {
		for _, r := range s.tables[other].order {
			if s.reassociate(r, gone, keep) {
				s.touch(other, r, time.Time{})
			}
		}
	}
}

// reassociate moves r's associations with company from to company to.
func (s *Server) reassociate(r *record, from, to string) bool {
	moved := false
	for i := range r.Companies {
		if r.Companies[i].CompanyID == from {
			r.Companies[i].CompanyID = to
			moved = true
		}
	}
	return moved
}

// Associate associates contact or deal kind/id with a company (replacing
// an association with the same company) and modifies the record.
func (s *Server) Associate(kind Kind, id string, a Association) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustGet(kind, id)
	r.Companies = slices.DeleteFunc(r.Companies, func(x Association) bool { return x.CompanyID == a.CompanyID })
	if a.Primary {
		for i := range r.Companies {
			r.Companies[i].Primary = false
		}
	}
	r.Companies = append(r.Companies, a)
	s.touch(kind, r, time.Time{})
}

// SetRaw makes the Server answer raw (a JSON object) for kind/id in lists
// and searches instead of the record: for malformed-record tests. The
// record keeps its place (id and modified time).
func (s *Server) SetRaw(kind Kind, id, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustGet(kind, id).raw = raw
}

// AddOwner adds or replaces an owner.
func (s *Server) AddOwner(o Owner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owners = slices.DeleteFunc(s.owners, func(x Owner) bool { return x.ID == o.ID })
	s.owners = append(s.owners, o)
	slices.SortFunc(s.owners, func(a, b Owner) int { return strings.Compare(a.ID, b.ID) })
}

// seedOwners are the owners Seed adds; the last one is deactivated.
var seedOwners = []Owner{
	{ID: "41629779", Email: "jsmith@example.com", FirstName: "John", LastName: "Smith", UserID: 1296619},
	{ID: "52810011", Email: "ava.patel@example.com", FirstName: "Ava", LastName: "Patel", UserID: 1296620},
	{ID: "52810012", Email: "li.chen@example.com", FirstName: "Li", LastName: "Chen", UserID: 1296621},
	{ID: "52810013", Email: "omar.diaz@example.com", FirstName: "Omar", LastName: "Díaz", UserID: 1296622},
	{ID: "52810014", Email: "old.rep@example.com", FirstName: "Old", LastName: "Rep", UserID: 1296623, Archived: true},
}

// SeedOwners returns the owners Seed adds.
func SeedOwners() []Owner { return slices.Clone(seedOwners) }

var (
	stages     = []string{"customer", "customer", "lead", "opportunity", "evangelist", "salesqualifiedlead", "other", "subscriber"}
	zones      = []string{"europe_slash_paris", "america_slash_new_york", "asia_slash_tokyo", "", "america_slash_los_angeles"}
	firsts     = []string{"Maria", "Tom", "Li", "Sara", "Jorge", "Zoë", "Ava"}
	lasts      = []string{"Johnson", "Becker", "Wei", "Ng", "Ruiz", "Müller", "O'Brien"}
	industries = []string{"RETAIL", "SOFTWARE", "", "MANUFACTURING"}
	// hs_language ("Preferred language") values as HubSpot writes them.
	languages = []string{"fr", "en-us", "", "de", "en"}
)

// Seed adds a deterministic portal: owners (SeedOwners), then companies
// companies, each with contactsPerCompany contacts and dealsPerCompany
// deals associated with it (the first of each as primary). Seeded records
// were modified in 2024, before any test runs.
func (s *Server) Seed(companies, contactsPerCompany, dealsPerCompany int) {
	for _, o := range seedOwners {
		s.AddOwner(o)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range companies {
		cid := s.putLocked(Companies, seedCompany(i))
		for j := range contactsPerCompany {
			s.putLocked(Contacts, seedContact(i, j, cid))
		}
		for j := range dealsPerCompany {
			s.putLocked(Deals, seedDeal(i, j, cid))
		}
	}
}

func seedCompany(i int) Object {
	at := Base.Add(time.Duration(i) * time.Second)
	p := map[string]string{
		"name":                 fmt.Sprintf("Company %06d", i),
		"domain":               fmt.Sprintf("company%d.example", i),
		"hubspot_owner_id":     seedOwners[i%len(seedOwners)].ID,
		"lifecyclestage":       stages[i%len(stages)],
		"notes_last_updated":   isoMillis(at.Add(-48 * time.Hour)),
		"num_associated_deals": "1",
		"annualrevenue":        strconv.Itoa(100000 * (i%50 + 1)),
		"hs_analytics_source":  "DIRECT_TRAFFIC",
		"hs_merged_object_ids": "",
		"notes_last_contacted": "",
		"industry":             industries[i%len(industries)],
	}
	if i%3 == 0 {
		p["notes_last_contacted"] = isoMillis(at.Add(-24 * time.Hour))
	}
	if i%4 == 1 {
		// some date-time properties come as epoch milliseconds
		p["hs_last_sales_activity_timestamp"] = strconv.FormatInt(at.Add(-12*time.Hour).UnixMilli(), 10)
	}
	return Object{Properties: clean(p), CreatedAt: at.AddDate(-2, 0, 0), Modified: at}
}

func seedContact(i, j int, company string) Object {
	at := Base.Add(time.Duration(i)*time.Second + time.Duration(j+1)*time.Millisecond)
	n := i*7 + j
	p := map[string]string{
		"firstname":          firsts[n%len(firsts)],
		"lastname":           lasts[n%len(lasts)],
		"email":              fmt.Sprintf("contact%d.%d@company%d.example", i, j, i),
		"phone":              fmt.Sprintf("+1 555 %04d", n%10000),
		"jobtitle":           "Buyer",
		"hs_timezone":        zones[n%len(zones)],
		"hs_email_optout":    []string{"false", "true", ""}[n%3],
		"hs_language":        languages[n%len(languages)],
		"lifecyclestage":     stages[n%len(stages)],
		"notes_last_updated": isoMillis(at.Add(-72 * time.Hour)),
		"hubspot_owner_id":   seedOwners[i%len(seedOwners)].ID,
	}
	return Object{
		Properties: clean(p),
		CreatedAt:  at.AddDate(-1, 0, 0),
		Modified:   at,
		Companies:  []Association{{CompanyID: company, Primary: j == 0}},
	}
}

func seedDeal(i, j int, company string) Object {
	at := Base.Add(time.Duration(i)*time.Second + time.Duration(500+j)*time.Millisecond)
	won := (i+j)%3 != 2
	p := map[string]string{
		"dealname":           fmt.Sprintf("Company %06d - deal %d", i, j),
		"amount":             strconv.Itoa(1000 * (i%97 + 1)),
		"deal_currency_code": "USD",
		"hs_is_closed_won":   strconv.FormatBool(won),
		"hs_is_closed":       "true",
		"closedate":          isoMillis(at.Add(-30 * 24 * time.Hour)),
		"dealstage":          map[bool]string{true: "closedwon", false: "closedlost"}[won],
		"pipeline":           "default",
	}
	return Object{
		Properties: p,
		CreatedAt:  at.AddDate(0, -3, 0),
		Modified:   at,
		Companies:  []Association{{CompanyID: company, Primary: j == 0}},
	}
}

// clean drops empty values: they are served as null.
func clean(p map[string]string) map[string]string {
	maps.DeleteFunc(p, func(_, v string) bool { return v == "" })
	return p
}
