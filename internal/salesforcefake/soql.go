package salesforcefake

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// soqlError is a query the fake refuses, with Salesforce's code.
type soqlError struct {
	status  int
	code    string
	message string
}

// query is a parsed SOQL query of the subset the fake serves.
type query struct {
	obj    *sobject
	fields []string // canonical names, in SELECT order
	keep   func(*record) bool
}

var (
	selectRe = regexp.MustCompile(`(?is)^\s*SELECT\s+(.+?)\s+FROM\s+(\S+)(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(.+?))?\s*$`)
	fieldRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	keysetRe = regexp.MustCompile(`(?is)^SystemModstamp\s*>\s*(\S+?)(?:\s+OR\s+\(\s*SystemModstamp\s*=\s*(\S+?)\s+AND\s+Id\s*>\s*(\S+?)\s*\))?$`)
	idRe     = regexp.MustCompile(`^'([A-Za-z0-9]{15}|[A-Za-z0-9]{18})'$`)
	orderRe  = regexp.MustCompile(`(?i)^SystemModstamp(\s+ASC)?\s*,\s*Id(\s+ASC)?$`)
	inRe     = regexp.MustCompile(`(?is)^Id\s+IN\s*\((.*)\)$`)
)

// parseQuery parses soql against o's schema.
func (o *org) parseQuery(soql string) (*query, *soqlError) {
	m := selectRe.FindStringSubmatch(soql)
	if m == nil {
		return nil, malformed(soql, 0, "unexpected token: '"+firstToken(soql)+"'")
	}
	obj, ok := o.objects[strings.ToLower(m[2])]
	if !ok {
		return nil, &soqlError{http.StatusBadRequest, "INVALID_TYPE", "\n" + soql + "\n" + caret(soql, m[2]) +
			"\nsObject type '" + m[2] + "' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."}
	}
	q := &query{obj: obj, keep: func(*record) bool { return true }}
	if err := q.selectFields(soql, m[1]); err != nil {
		return nil, err
	}
	byID := false
	if m[3] != "" {
		keep, in, err := parseWhere(soql, m[3])
		if err != nil {
			return nil, err
		}
		q.keep, byID = keep, in
	}
	// Records read by Id need no order; the others must come in keyset order.
	if order := strings.TrimSpace(m[4]); !orderRe.MatchString(order) && (!byID || order != "") {
		return nil, malformed(soql, strings.Index(soql, m[4]), "fake: the connector must ORDER BY SystemModstamp ASC, Id ASC")
	}
	return q, nil
}

// selectFields checks the SELECT list.
func (q *query) selectFields(soql, list string) *soqlError {
	seen := map[string]bool{}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		switch {
		case strings.Contains(f, "."):
			return malformed(soql, strings.Index(soql, f), "fake: relationship fields are not supported: "+f)
		case !fieldRe.MatchString(f):
			return malformed(soql, strings.Index(soql, f), "unexpected token: '"+f+"'")
		}
		canonical, ok := q.obj.fields[strings.ToLower(f)]
		if !ok {
			return &soqlError{http.StatusBadRequest, "INVALID_FIELD", "\n" + soql + "\n" + caret(soql, f) +
				"\nNo such column '" + f + "' on entity '" + q.obj.name + "'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."}
		}
		if seen[canonical] {
			return &soqlError{http.StatusBadRequest, "INVALID_FIELD", "\n" + soql + "\n" + caret(soql, f) + "\nduplicate field selected: " + f}
		}
		seen[canonical] = true
		q.fields = append(q.fields, canonical)
	}
	return nil
}

// parseWhere accepts the keyset filter "SystemModstamp > dt" optionally
// followed by "OR (SystemModstamp = dt AND Id > 'id')", or "Id IN ('id',
// ...)"; in reports the latter.
func parseWhere(soql, where string) (keep func(*record) bool, in bool, err *soqlError) {
	where = strings.TrimSpace(where)
	if m := inRe.FindStringSubmatch(where); m != nil {
		keep, err := parseIn(soql, m[1])
		return keep, true, err
	}
	keep, err = parseKeyset(soql, where)
	return keep, false, err
}

// parseKeyset parses the keyset filter.
func parseKeyset(soql, where string) (func(*record) bool, *soqlError) {
	m := keysetRe.FindStringSubmatch(where)
	if m == nil {
		return nil, malformed(soql, strings.Index(soql, where), "fake: only the keyset filter on SystemModstamp and Id, or Id IN (...), is supported")
	}
	after, err := datetimeLiteral(soql, m[1])
	if err != nil {
		return nil, err
	}
	if m[2] == "" {
		return func(r *record) bool { return r.mod.After(after) }, nil
	}
	at, err := datetimeLiteral(soql, m[2])
	if err != nil {
		return nil, err
	}
	id := idRe.FindStringSubmatch(m[3])
	if id == nil {
		return nil, invalidID(soql, m[3])
	}
	return func(r *record) bool {
		return r.mod.After(after) || (r.mod.Equal(at) && r.id > id[1])
	}, nil
}

// parseIn parses the list of an Id IN filter: quoted ids, compared by
// their case-sensitive first 15 characters as Salesforce does.
func parseIn(soql, list string) (func(*record) bool, *soqlError) {
	if strings.TrimSpace(list) == "" {
		return nil, malformed(soql, strings.Index(soql, "IN")+2, "unexpected token: ')'")
	}
	want := map[string]bool{}
	for _, lit := range strings.Split(list, ",") {
		lit = strings.TrimSpace(lit)
		id := idRe.FindStringSubmatch(lit)
		switch {
		case lit == "":
			return nil, malformed(soql, strings.Index(soql, ",,"), "unexpected token: ','")
		case id == nil:
			return nil, invalidID(soql, lit)
		}
		want[id[1][:15]] = true
	}
	return func(r *record) bool { return len(r.id) >= 15 && want[r.id[:15]] }, nil
}

// invalidID is Salesforce's answer to an id literal that is not an id.
func invalidID(soql, lit string) *soqlError {
	return &soqlError{http.StatusBadRequest, "INVALID_QUERY_FILTER_OPERATOR", "\n" + soql + "\n" + caret(soql, lit) + "\ninvalid ID field: " + lit}
}

// datetimeLiteral parses an unquoted SOQL dateTime literal.
func datetimeLiteral(soql, lit string) (time.Time, *soqlError) {
	if strings.HasPrefix(lit, "'") {
		return time.Time{}, &soqlError{http.StatusBadRequest, "INVALID_QUERY_FILTER_OPERATOR", "\n" + soql + "\n" + caret(soql, lit) +
			"\nvalue of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes"}
	}
	t, err := time.Parse(time.RFC3339, lit)
	if err != nil {
		return time.Time{}, malformed(soql, strings.Index(soql, lit), "line 1:0 no viable alternative at character '"+lit+"'")
	}
	return t, nil
}

// malformed is Salesforce's MALFORMED_QUERY for soql at byte pos.
func malformed(soql string, pos int, detail string) *soqlError {
	pos = max(pos, 0)
	return &soqlError{http.StatusBadRequest, "MALFORMED_QUERY", "\n" + soql + "\n" + strings.Repeat(" ", pos) +
		"^\nERROR at Row:1:Column:" + itoa(pos+1) + "\n" + detail}
}

// caret points at the first occurrence of token in soql, as Salesforce's
// messages do.
func caret(soql, token string) string {
	pos := max(strings.Index(soql, token), 0)
	return strings.Repeat(" ", pos) + "^\nERROR at Row:1:Column:" + itoa(pos+1)
}

func firstToken(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}
