package dynamicsfake

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The $filter subset the fake evaluates (anything else answers 400):
//
//	expr    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | "(" expr ")" | column op literal
//	op      = eq | ne | gt | ge | lt | le
//	literal = null | true | false | integer | decimal | 'string' (” escapes ')
//	        | guid (unquoted) | date (2006-01-02) | datetime (RFC 3339, unquoted)
//
// A literal must fit its column's Edm type (a datetime column takes an
// unquoted datetime, a lookup _x_value a bare GUID), as Dataverse checks.

var (
	guidRe     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	guidLit    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	dateTimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})`)
	dateRe     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
	numberRe   = regexp.MustCompile(`^-?\d+(\.\d+)?`)
	identRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)
)

// opNames are the comparison operators and their OData kind names.
var opNames = map[string]string{"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
	"lt": "LessThan", "le": "LessThanOrEqual"}

// token is one lexical token of a filter.
type token struct {
	kind string // ident, string, guid, datetime, date, number, (, ), ","
	text string
	pos  int
}

func lex(src string) ([]token, error) {
	var out []token
	for i := 0; i < len(src); {
		rest := src[i:]
		switch c := src[i]; {
		case c == ' ':
			i++
			continue
		case c == '(' || c == ')' || c == ',':
			out = append(out, token{string(c), string(c), i})
			i++
			continue
		case c == '\'':
			text, n, ok := lexString(rest)
			if !ok {
				return nil, fmt.Errorf("Syntax error: unterminated string literal at position %d in '%s'.", i, src)
			}
			out = append(out, token{"string", text, i})
			i += n
			continue
		}
		kind, m := "", ""
		for _, try := range []struct {
			kind string
			re   *regexp.Regexp
		}{{"guid", guidLit}, {"datetime", dateTimeRe}, {"date", dateRe}, {"number", numberRe}, {"ident", identRe}} {
			if m = try.re.FindString(rest); m != "" {
				kind = try.kind
				break
			}
		}
		if kind == "" {
			return nil, fmt.Errorf("Syntax error: character '%c' is not valid at position %d in '%s'.", src[i], i, src)
		}
		out = append(out, token{kind, m, i})
		i += len(m)
	}
	return out, nil
}

// lexString reads a quoted literal; n is its length with the quotes.
func lexString(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

// cond is a parsed filter: it tells whether a row matches.
type cond func(fields map[string]any) bool

// filterParser parses one $filter against a table.
type filterParser struct {
	def  *tableDef
	src  string
	toks []token
	i    int
}

// parseFilter parses src; the error's text is Dataverse's 400 message.
func parseFilter(def *tableDef, src string) (cond, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &filterParser{def: def, src: src, toks: toks}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.syntax()
	}
	return c, nil
}

func (p *filterParser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *filterParser) keyword(word string) bool {
	t, ok := p.peek()
	if ok && t.kind == "ident" && t.text == word {
		p.i++
		return true
	}
	return false
}

func (p *filterParser) syntax() error {
	if t, ok := p.peek(); ok {
		return fmt.Errorf("Syntax error at position %d in '%s'.", t.pos, p.src)
	}
	return fmt.Errorf("Expression expected at position %d in '%s'.", len(p.src), p.src)
}

func (p *filterParser) or() (cond, error) {
	left, err := p.and()
	for err == nil && p.keyword("or") {
		var right cond
		if right, err = p.and(); err == nil {
			l := left
			left = func(f map[string]any) bool { return l(f) || right(f) }
		}
	}
	return left, err
}

func (p *filterParser) and() (cond, error) {
	left, err := p.unary()
	for err == nil && p.keyword("and") {
		var right cond
		if right, err = p.unary(); err == nil {
			l := left
			left = func(f map[string]any) bool { return l(f) && right(f) }
		}
	}
	return left, err
}

func (p *filterParser) unary() (cond, error) {
	if p.keyword("not") {
		c, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(f map[string]any) bool { return !c(f) }, nil
	}
	t, ok := p.peek()
	if !ok {
		return nil, p.syntax()
	}
	if t.kind == "(" {
		p.i++
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if t, ok := p.peek(); !ok || t.kind != ")" {
			return nil, p.syntax()
		}
		p.i++
		return c, nil
	}
	return p.comparison()
}

// comparison parses column op literal.
func (p *filterParser) comparison() (cond, error) {
	name, _ := p.peek()
	if name.kind != "ident" {
		return nil, p.syntax()
	}
	p.i++
	if next, ok := p.peek(); ok && next.kind == "(" {
		return nil, fmt.Errorf("An unknown function with name '%s' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed. (The Dataverse fake evaluates comparisons joined by and, or, not only.)", name.text)
	}
	col, ok := p.def.col(name.text)
	if !ok {
		return nil, fmt.Errorf("%s", badProperty(p.def, name.text))
	}
	op, ok := p.peek()
	if !ok || op.kind != "ident" || opNames[op.text] == "" {
		return nil, p.syntax()
	}
	p.i++
	lit, ok := p.peek()
	if !ok {
		return nil, p.syntax()
	}
	p.i++
	want, err := literal(col, op.text, lit)
	if err != nil {
		return nil, err
	}
	return func(f map[string]any) bool { return compareOp(op.text, f[col.name], want, col.typ) }, nil
}

// literal converts a literal token to its column's value type.
func literal(col column, op string, lit token) (any, error) {
	if lit.kind == "ident" && lit.text == "null" {
		return nil, nil
	}
	kinds := map[colType][]string{tString: {"string"}, tGUID: {"guid"}, tDateTime: {"datetime"},
		tDate: {"date"}, tInt: {"number"}, tDecimal: {"number"}, tBool: {"ident"}}
	litType := map[string]string{"string": "Edm.String", "guid": "Edm.Guid", "datetime": "Edm.DateTimeOffset",
		"date": "Edm.Date", "number": "Edm.Int32", "ident": "Edm.Boolean"}[lit.kind]
	ok := false
	for _, k := range kinds[col.typ] {
		ok = ok || k == lit.kind
	}
	if col.typ == tBool && lit.text != "true" && lit.text != "false" {
		ok = false
	}
	if col.typ == tInt && strings.Contains(lit.text, ".") {
		ok, litType = false, "Edm.Decimal"
	}
	if !ok {
		return nil, fmt.Errorf("A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.",
			edmNames[col.typ], litType, opNames[op])
	}
	switch col.typ {
	case tInt:
		n, err := strconv.Atoi(lit.text)
		return n, err
	case tDecimal:
		f, err := strconv.ParseFloat(lit.text, 64)
		return f, err
	case tBool:
		return lit.text == "true", nil
	case tDateTime:
		t, err := time.Parse(time.RFC3339, lit.text)
		if err != nil {
			return nil, fmt.Errorf("The DateTimeOffset text '%s' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?'.", lit.text)
		}
		return t.UTC().Format(time.RFC3339Nano), nil
	case tGUID:
		return strings.ToLower(lit.text), nil
	}
	return lit.text, nil
}

// compareOp applies op to a row value and a literal of the same type.
func compareOp(op string, got, want any, typ colType) bool {
	if got == nil || want == nil {
		eq := got == nil && want == nil
		switch op {
		case "eq":
			return eq
		case "ne":
			return !eq
		}
		return false
	}
	c := compareValues(got, want, typ)
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	}
	return c <= 0
}

// compareValues orders two non-nil values of a column type.
func compareValues(a, b any, typ colType) int {
	switch typ {
	case tInt:
		return cmpOrdered(a.(int), b.(int))
	case tDecimal:
		return cmpOrdered(a.(float64), b.(float64))
	case tBool:
		return cmpOrdered(boolInt(a.(bool)), boolInt(b.(bool)))
	case tDateTime:
		ta, _ := time.Parse(time.RFC3339Nano, a.(string))
		tb, _ := time.Parse(time.RFC3339Nano, b.(string))
		return ta.Compare(tb)
	case tString:
		return strings.Compare(strings.ToLower(a.(string)), strings.ToLower(b.(string)))
	}
	return strings.Compare(a.(string), b.(string))
}

func cmpOrdered[T int | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// orderKey is one $orderby term.
type orderKey struct {
	col  column
	desc bool
}

// parseOrderBy parses "col [asc|desc], ..." and adds the primary key as
// the last tiebreaker unless it is there.
func parseOrderBy(def *tableDef, src string) ([]orderKey, error) {
	var out []orderKey
	hasKey := false
	if strings.TrimSpace(src) != "" {
		for term := range strings.SplitSeq(src, ",") {
			f := strings.Fields(term)
			if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "asc" && f[1] != "desc") {
				return nil, fmt.Errorf("Syntax error at position 0 in '%s'.", src)
			}
			col, ok := def.col(f[0])
			if !ok {
				return nil, fmt.Errorf("%s", badProperty(def, f[0]))
			}
			hasKey = hasKey || col.name == def.key
			out = append(out, orderKey{col: col, desc: len(f) == 2 && f[1] == "desc"})
		}
	}
	if !hasKey {
		key, _ := def.col(def.key)
		out = append(out, orderKey{col: key})
	}
	return out, nil
}

// sortKey extracts the values of keys from a row.
func sortKey(keys []orderKey, fields map[string]any) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = fields[k.col.name]
	}
	return out
}

// compareKeys orders two sort keys; nulls sort first ascending.
func compareKeys(keys []orderKey, a, b []any) int {
	for i, k := range keys {
		va, vb := a[i], b[i]
		c := 0
		switch {
		case va == nil && vb == nil:
		case va == nil:
			c = -1
		case vb == nil:
			c = 1
		default:
			c = compareValues(va, vb, k.col.typ)
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
