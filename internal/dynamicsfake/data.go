package dynamicsfake

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Layouts of Dataverse values.
const (
	DateTimeLayout = "2006-01-02T15:04:05Z" // UTC, whole seconds
	DateLayout     = "2006-01-02"           // DateOnly columns
)

// colType is the Edm type of a column.
type colType int

const (
	tString colType = iota
	tGUID
	tDateTime
	tDate
	tInt
	tDecimal // Edm.Decimal: money and decimals
	tBool
)

var edmNames = map[colType]string{tString: "Edm.String", tGUID: "Edm.Guid", tDateTime: "Edm.DateTimeOffset",
	tDate: "Edm.Date", tInt: "Edm.Int32", tDecimal: "Edm.Decimal", tBool: "Edm.Boolean"}

// column is one column of a table.
type column struct {
	name string
	typ  colType
}

// tableDef describes one table the fake serves.
type tableDef struct {
	set, logical, key, privilege string
	otc                          int
	nameCol                      string // primary name, the FormattedValue of lookups to it
	cols                         []column
}

func (t *tableDef) col(name string) (column, bool) {
	for _, c := range t.cols {
		if c.name == name {
			return c, true
		}
	}
	return column{}, false
}

func cols(typ colType, names ...string) []column {
	out := make([]column, len(names))
	for i, n := range names {
		out[i] = column{n, typ}
	}
	return out
}

var common = slices.Concat(cols(tGUID, "_ownerid_value"), cols(tInt, "statecode", "statuscode"),
	cols(tDateTime, "modifiedon", "createdon"))

// tableDefs are the tables served, by entity set name.
var tableDefs = map[string]*tableDef{
	"accounts": {set: "accounts", logical: "account", key: "accountid", privilege: "Account", otc: 1, nameCol: "name",
		cols: slices.Concat(cols(tGUID, "accountid"), cols(tString, "name", "websiteurl", "emailaddress1", "telephone1"),
			cols(tDecimal, "revenue"), cols(tGUID, "_transactioncurrencyid_value", "_parentaccountid_value", "_primarycontactid_value"),
			cols(tInt, "customertypecode"),
			cols(tBool, "donotemail", "donotbulkemail"), cols(tDateTime, "lastusedincampaign"), common)},
	"contacts": {set: "contacts", logical: "contact", key: "contactid", privilege: "Contact", otc: 2, nameCol: "fullname",
		cols: slices.Concat(cols(tGUID, "contactid"), cols(tString, "fullname", "firstname", "lastname",
			"emailaddress1", "emailaddress2", "emailaddress3", "jobtitle", "telephone1"),
			cols(tGUID, "_parentcustomerid_value"),
			cols(tBool, "donotemail", "donotbulkemail", "donotphone", "donotpostalmail", "donotsendmm"),
			cols(tDateTime, "lastusedincampaign"), common)},
	"opportunities": {set: "opportunities", logical: "opportunity", key: "opportunityid", privilege: "Opportunity", otc: 3, nameCol: "name",
		cols: slices.Concat(cols(tGUID, "opportunityid"), cols(tString, "name"),
			cols(tGUID, "_parentaccountid_value", "_parentcontactid_value", "_customerid_value"),
			cols(tDecimal, "estimatedvalue", "actualvalue"), cols(tGUID, "_transactioncurrencyid_value"),
			cols(tDate, "actualclosedate", "estimatedclosedate"),
			cols(tInt, "closeprobability"), common)},
	"systemusers": {set: "systemusers", logical: "systemuser", key: "systemuserid", privilege: "User", otc: 8, nameCol: "fullname",
		cols: slices.Concat(cols(tGUID, "systemuserid"), cols(tString, "fullname", "internalemailaddress", "domainname"),
			cols(tBool, "isdisabled"), cols(tGUID, "azureactivedirectoryobjectid"), cols(tDateTime, "modifiedon", "createdon"))},
	"organizations": {set: "organizations", logical: "organization", key: "organizationid", privilege: "Organization", otc: 1019, nameCol: "name",
		cols: slices.Concat(cols(tGUID, "organizationid"), cols(tString, "name"), cols(tInt, "expirechangetrackingindays"),
			cols(tDateTime, "modifiedon", "createdon"))},
	"transactioncurrencies": {set: "transactioncurrencies", logical: "transactioncurrency", key: "transactioncurrencyid", privilege: "TransactionCurrency", otc: 9105, nameCol: "currencyname",
		cols: slices.Concat(cols(tGUID, "transactioncurrencyid"), cols(tString, "isocurrencycode", "currencyname", "currencysymbol"),
			cols(tDecimal, "exchangerate"), cols(tInt, "statecode"), cols(tDateTime, "modifiedon", "createdon"))},
	"activitypointers": {set: "activitypointers", logical: "activitypointer", key: "activityid", privilege: "Activity", otc: 4200, nameCol: "subject",
		cols: slices.Concat(cols(tGUID, "activityid"), cols(tString, "activitytypecode", "subject"),
			cols(tGUID, "_regardingobjectid_value"), cols(tDateTime, "actualend", "scheduledend", "sortdate"), common)},
}

// record is one stored row. It is never changed once stored: a change
// stores a new record.
type record struct {
	id      string
	version int64 // row version of its last change
	etag    string
	fields  map[string]any // column → value (nil for null)
}

// removal is a deleted row, for $deletedEntity stubs.
type removal struct {
	id      string
	version int64
}

// table holds the rows of one tableDef.
type table struct {
	def     *tableDef
	recs    map[string]*record
	removed []removal
}

func newTables() map[string]*table {
	out := map[string]*table{}
	for set, def := range tableDefs {
		out[set] = &table{def: def, recs: map[string]*record{}}
	}
	return out
}

// newGUID derives a stable GUID from a seed string.
func newGUID(seed string) string {
	h := sha256.Sum256([]byte(seed))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Upsert stores a row of the entity set: fields are merged into the row
// whose primary key fields names, or make a new row (with a generated key
// when none is given). modifiedon is set to Now unless fields give it;
// the row gets a new version, so delta links return it. It returns the
// row's id.
func (s *Server) Upsert(set string, fields map[string]any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upsertLocked(set, fields, "")
}

func (s *Server) upsertLocked(set string, fields map[string]any, etag string) (string, error) {
	t, ok := s.tables[set]
	if !ok {
		return "", fmt.Errorf("dynamicsfake: no entity set %q", set)
	}
	for name, v := range fields {
		c, ok := t.def.col(name)
		if !ok {
			return "", fmt.Errorf("dynamicsfake: %s has no column %q", set, name)
		}
		if err := checkValue(c, v); err != nil {
			return "", err
		}
	}
	fields = maps.Clone(fields)
	for name, v := range fields { // Dataverse writes GUIDs in lower case
		if c, _ := t.def.col(name); c.typ == tGUID && v != nil {
			fields[name] = strings.ToLower(v.(string))
		}
	}
	id, _ := fields[t.def.key].(string)
	if id == "" {
		s.cursorSeq++
		id = newGUID(fmt.Sprintf("%s/%d/%d", set, len(t.recs), s.cursorSeq))
	}
	merged := map[string]any{}
	if old := t.recs[id]; old != nil {
		maps.Copy(merged, old.fields)
	} else if _, ok := fields["createdon"]; !ok {
		merged["createdon"] = s.opts.Now().UTC().Format(DateTimeLayout)
	}
	maps.Copy(merged, fields)
	merged[t.def.key] = id
	if _, ok := fields["modifiedon"]; !ok {
		merged["modifiedon"] = s.opts.Now().UTC().Format(DateTimeLayout)
	}
	s.version++
	if etag == "" {
		etag = fmt.Sprintf("W/\"%d\"", 90000000+s.version)
	}
	t.recs[id] = &record{id: id, version: s.version, etag: etag, fields: merged}
	return id, nil
}

// checkValue refuses a value of the wrong Go type for its column.
func checkValue(c column, v any) error {
	if v == nil {
		return nil
	}
	ok := false
	switch c.typ {
	case tString:
		_, ok = v.(string)
	case tGUID:
		s, isStr := v.(string)
		ok = isStr && guidRe.MatchString(s)
	case tDateTime:
		s, isStr := v.(string)
		_, err := time.Parse(time.RFC3339, s)
		ok = isStr && err == nil
	case tDate:
		s, isStr := v.(string)
		_, err := time.Parse(DateLayout, s)
		ok = isStr && err == nil
	case tInt:
		_, ok = v.(int)
	case tDecimal:
		_, ok = v.(float64)
	case tBool:
		_, ok = v.(bool)
	}
	if !ok {
		return fmt.Errorf("dynamicsfake: column %s wants %s, got %T %v", c.name, edmNames[c.typ], v, v)
	}
	return nil
}

// Delete removes a row of the entity set; delta links report it as a
// $deletedEntity stub.
func (s *Server) Delete(set, id string) error {
	id = strings.ToLower(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[set]
	if !ok {
		return fmt.Errorf("dynamicsfake: no entity set %q", set)
	}
	if _, ok := t.recs[id]; !ok {
		return fmt.Errorf("dynamicsfake: %s(%s) does not exist", set, id)
	}
	delete(t.recs, id)
	s.version++
	t.removed = append(t.removed, removal{id: id, version: s.version})
	return nil
}

// Get returns a copy of a row's fields, or nil.
func (s *Server) Get(set, id string) map[string]any {
	id = strings.ToLower(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[set]
	if t == nil || t.recs[id] == nil {
		return nil
	}
	return maps.Clone(t.recs[id].fields)
}

// Len returns how many rows the entity set holds.
func (s *Server) Len(set string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tables[set]; t != nil {
		return len(t.recs)
	}
	return 0
}

// lookupName returns the primary name and logical name of the row id
// refers to, in any table.
func (s *Server) lookupName(id string) (name any, logical any) {
	for _, t := range s.tables {
		if r := t.recs[id]; r != nil {
			return r.fields[t.def.nameCol], t.def.logical
		}
	}
	return nil, nil
}

// sortedRecords returns the rows of t in primary key order.
func (t *table) sortedRecords() []*record {
	out := slices.Collect(maps.Values(t.recs))
	slices.SortFunc(out, func(a, b *record) int { return strings.Compare(a.id, b.id) })
	return out
}
