package mondayfake

import (
	"fmt"
	"strconv"
	"strings"
)

// This file is a small GraphQL parser for the query shapes a client of
// monday's API sends: one operation (query, optionally named, with
// variable definitions), fields with arguments (literals or $variables),
// nested selections and inline fragments (... on Type { }). Fragment
// definitions, aliases, directives and mutations are refused with a parse
// error, as a real server would accept them but the fake does not serve
// them.

// value is an argument's value as written.
type value struct {
	kind  byte // 's' string, 'n' number, 'b' boolean, 'z' null, 'e' enum, 'v' variable, 'l' list, 'o' object
	text  string
	list  []value
	keys  []string // object keys, in order
	items []value  // object values
}

// field is one selected field.
type field struct {
	name      string
	line, col int
	args      []string
	argVals   []value
	sel       []selection
}

// selection is a field or an inline fragment on a type.
type selection struct {
	field    *field
	fragType string
	fragSel  []selection
}

// variableDef is a declared variable: $name: Type.
type variableDef struct {
	name, typ string
}

// operation is a parsed query document.
type operation struct {
	kind string // query or mutation
	vars []variableDef
	sel  []selection
}

// parseError is a syntax error at a position.
type parseError struct {
	msg       string
	line, col int
}

func (e *parseError) Error() string { return e.msg }

type token struct {
	kind      byte // 'n' name, 's' string, 'd' number, 'p' punctuator, 'E' end
	text      string
	line, col int
}

type parser struct {
	toks []token
	pos  int
}

// lex splits a GraphQL document into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	line, col := 1, 1
	for i := 0; i < len(src); {
		c := src[i]
		start, sl, sc := i, line, col
		switch {
		case c == '\n':
			i, line, col = i+1, line+1, 1
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == ',':
			i, col = i+1, col+1
			continue
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case c == '"':
			i++
			for i < len(src) && src[i] != '"' {
				if src[i] == '\\' {
					i++
				}
				if i < len(src) && src[i] == '\n' {
					return nil, &parseError{msg: fmt.Sprintf("Parse error on unterminated string at [%d, %d]", sl, sc), line: sl, col: sc}
				}
				i++
			}
			if i >= len(src) {
				return nil, &parseError{msg: fmt.Sprintf("Parse error on unterminated string at [%d, %d]", sl, sc), line: sl, col: sc}
			}
			i++
			s, err := strconv.Unquote(src[start:i])
			if err != nil {
				return nil, &parseError{msg: fmt.Sprintf("Parse error on bad string at [%d, %d]", sl, sc), line: sl, col: sc}
			}
			toks = append(toks, token{kind: 's', text: s, line: sl, col: sc})
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			for i < len(src) && (src[i] == '_' || src[i] >= 'a' && src[i] <= 'z' || src[i] >= 'A' && src[i] <= 'Z' || src[i] >= '0' && src[i] <= '9') {
				i++
			}
			toks = append(toks, token{kind: 'n', text: src[start:i], line: sl, col: sc})
		case c == '-' || c >= '0' && c <= '9':
			i++
			for i < len(src) && (src[i] >= '0' && src[i] <= '9' || src[i] == '.' || src[i] == 'e' || src[i] == 'E') {
				i++
			}
			toks = append(toks, token{kind: 'd', text: src[start:i], line: sl, col: sc})
		case strings.HasPrefix(src[i:], "..."):
			i += 3
			toks = append(toks, token{kind: 'p', text: "...", line: sl, col: sc})
		case strings.IndexByte("{}()[]:$!=@", c) >= 0:
			i++
			toks = append(toks, token{kind: 'p', text: string(c), line: sl, col: sc})
		default:
			return nil, &parseError{msg: fmt.Sprintf("Parse error on %q at [%d, %d]", string(c), sl, sc), line: sl, col: sc}
		}
		col += i - start
	}
	return append(toks, token{kind: 'E', line: line, col: col}), nil
}

// parse reads a document holding one operation.
func parse(src string) (*operation, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	op := &operation{kind: "query"}
	if t := p.peek(); t.kind == 'n' {
		if t.text != "query" && t.text != "mutation" {
			return nil, p.fail(t)
		}
		op.kind = p.next().text
		if p.peek().kind == 'n' {
			p.next() // the operation's name
		}
		if p.is("(") {
			if op.vars, err = p.varDefs(); err != nil {
				return nil, err
			}
		}
	}
	if op.sel, err = p.selectionSet(); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != 'E' {
		return nil, p.fail(t)
	}
	return op, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != 'E' {
		p.pos++
	}
	return t
}

func (p *parser) is(punct string) bool {
	t := p.peek()
	return t.kind == 'p' && t.text == punct
}

func (p *parser) expect(punct string) error {
	if !p.is(punct) {
		return p.fail(p.peek())
	}
	p.next()
	return nil
}

// fail is graphql-ruby's parse error message.
func (p *parser) fail(t token) error {
	what := t.text
	kind := map[byte]string{'n': "IDENTIFIER", 's': "STRING", 'd': "INT", 'p': "PUNCTUATOR", 'E': "EOF"}[t.kind]
	if t.kind == 'E' {
		what = "end of file"
	}
	return &parseError{msg: fmt.Sprintf("Parse error on %q (%s) at [%d, %d]", what, kind, t.line, t.col), line: t.line, col: t.col}
}

func (p *parser) varDefs() ([]variableDef, error) {
	p.next() // (
	var defs []variableDef
	for !p.is(")") {
		if err := p.expect("$"); err != nil {
			return nil, err
		}
		name := p.next()
		if name.kind != 'n' {
			return nil, p.fail(name)
		}
		if err := p.expect(":"); err != nil {
			return nil, err
		}
		typ, err := p.typeRef()
		if err != nil {
			return nil, err
		}
		if p.is("=") {
			p.next()
			if _, err := p.value(); err != nil {
				return nil, err
			}
		}
		defs = append(defs, variableDef{name: name.text, typ: typ})
	}
	p.next() // )
	return defs, nil
}

// typeRef reads a type such as [ID!]!, returned as written.
func (p *parser) typeRef() (string, error) {
	var b strings.Builder
	if p.is("[") {
		p.next()
		inner, err := p.typeRef()
		if err != nil {
			return "", err
		}
		if err := p.expect("]"); err != nil {
			return "", err
		}
		b.WriteString("[" + inner + "]")
	} else {
		t := p.next()
		if t.kind != 'n' {
			return "", p.fail(t)
		}
		b.WriteString(t.text)
	}
	if p.is("!") {
		p.next()
		b.WriteString("!")
	}
	return b.String(), nil
}

func (p *parser) selectionSet() ([]selection, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var out []selection
	for !p.is("}") {
		if p.is("...") {
			p.next()
			on := p.next()
			if on.kind != 'n' || on.text != "on" {
				return nil, p.fail(on)
			}
			typ := p.next()
			if typ.kind != 'n' {
				return nil, p.fail(typ)
			}
			sel, err := p.selectionSet()
			if err != nil {
				return nil, err
			}
			out = append(out, selection{fragType: typ.text, fragSel: sel})
			continue
		}
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		out = append(out, selection{field: f})
	}
	p.next() // }
	if len(out) == 0 {
		return nil, p.fail(p.toks[p.pos-1])
	}
	return out, nil
}

func (p *parser) field() (*field, error) {
	t := p.next()
	if t.kind != 'n' {
		return nil, p.fail(t)
	}
	f := &field{name: t.text, line: t.line, col: t.col}
	if p.is("(") {
		p.next()
		for !p.is(")") {
			name := p.next()
			if name.kind != 'n' {
				return nil, p.fail(name)
			}
			if err := p.expect(":"); err != nil {
				return nil, err
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			f.args = append(f.args, name.text)
			f.argVals = append(f.argVals, v)
		}
		p.next() // )
	}
	if p.is("{") {
		sel, err := p.selectionSet()
		if err != nil {
			return nil, err
		}
		f.sel = sel
	}
	return f, nil
}

func (p *parser) value() (value, error) {
	t := p.next()
	switch {
	case t.kind == 's':
		return value{kind: 's', text: t.text}, nil
	case t.kind == 'd':
		return value{kind: 'n', text: t.text}, nil
	case t.kind == 'n' && (t.text == "true" || t.text == "false"):
		return value{kind: 'b', text: t.text}, nil
	case t.kind == 'n' && t.text == "null":
		return value{kind: 'z'}, nil
	case t.kind == 'n':
		return value{kind: 'e', text: t.text}, nil
	case t.kind == 'p' && t.text == "$":
		name := p.next()
		if name.kind != 'n' {
			return value{}, p.fail(name)
		}
		return value{kind: 'v', text: name.text}, nil
	case t.kind == 'p' && t.text == "[":
		v := value{kind: 'l'}
		for !p.is("]") {
			item, err := p.value()
			if err != nil {
				return value{}, err
			}
			v.list = append(v.list, item)
		}
		p.next()
		return v, nil
	case t.kind == 'p' && t.text == "{":
		v := value{kind: 'o'}
		for !p.is("}") {
			k := p.next()
			if k.kind != 'n' {
				return value{}, p.fail(k)
			}
			if err := p.expect(":"); err != nil {
				return value{}, err
			}
			item, err := p.value()
			if err != nil {
				return value{}, err
			}
			v.keys = append(v.keys, k.text)
			v.items = append(v.items, item)
		}
		p.next()
		return v, nil
	}
	return value{}, p.fail(t)
}

// resolve turns a value into what encoding/json would decode: strings,
// float64, bool, nil, []any and map[string]any; enums become strings.
// Variables are looked up in vars (absent: nil).
func (v value) resolve(vars map[string]any) any {
	switch v.kind {
	case 's', 'e':
		return v.text
	case 'n':
		f, _ := strconv.ParseFloat(v.text, 64)
		return f
	case 'b':
		return v.text == "true"
	case 'v':
		return vars[v.text]
	case 'l':
		out := make([]any, len(v.list))
		for i, item := range v.list {
			out[i] = item.resolve(vars)
		}
		return out
	case 'o':
		out := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			out[k] = v.items[i].resolve(vars)
		}
		return out
	}
	return nil
}

// variables lists the variables a value refers to.
func (v value) variables(out []string) []string {
	switch v.kind {
	case 'v':
		return append(out, v.text)
	case 'l':
		for _, item := range v.list {
			out = item.variables(out)
		}
	case 'o':
		for _, item := range v.items {
			out = item.variables(out)
		}
	}
	return out
}
