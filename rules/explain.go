package rules

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/crmsync/crmsync/model"
)

// Explanation tells why a rule did or did not flag an account: the
// conditions of its `when` that decided the outcome.
type Explanation struct {
	Rule    string `json:"rule"`
	When    string `json:"when"`
	Matched bool   `json:"matched"`
	// Conditions are the smallest parts of `when` (comparisons, calls,
	// names) that decided the outcome: for a rule that did not match, the
	// ones that were false (or true under a not); for one that matched,
	// the ones that made it true. In `a && b`, a false a alone decides;
	// in `a || b`, both must be false.
	Conditions []Condition `json:"conditions,omitempty"`
	// Err is the run-time error of the expression, if any; the rule then
	// does not match.
	Err string `json:"error,omitempty"`
}

// Condition is one leaf of a `when` expression and its value for the
// account.
type Condition struct {
	Expr  string `json:"expr"`  // the sub-expression, as expr prints it: `days_inactive >= 90`
	Holds bool   `json:"holds"` // its value
	// Operands are the values of the names and calculated sides it
	// compares: days_inactive = 23, len(contacts) = 0.
	Operands []Operand `json:"operands,omitempty"`
	Err      string    `json:"error,omitempty"` // its run-time error, if any
}

// Operand is a value a condition reads.
type Operand struct {
	Expr  string `json:"expr"`
	Value any    `json:"value"` // scalars as they are; lists, maps and records as a summary
}

// String returns the explanation in one line: `inactive-90-days: not
// flagged — days_inactive >= 90 is false (days_inactive = 23)`.
func (x Explanation) String() string {
	var b strings.Builder
	b.WriteString(x.Rule)
	switch {
	case x.Err != "":
		b.WriteString(": not flagged — ")
		if n := len(x.Conditions); n > 0 && x.Conditions[n-1].Err != "" {
			b.WriteString(x.Conditions[n-1].String())
		} else {
			b.WriteString("error: " + x.Err)
		}
		return b.String()
	case x.Matched:
		b.WriteString(": flagged")
	default:
		b.WriteString(": not flagged")
	}
	for i, c := range x.Conditions {
		if i == 0 {
			b.WriteString(" — ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(c.String())
	}
	return b.String()
}

// String returns `days_inactive >= 90 is false (days_inactive = 23)`.
func (c Condition) String() string {
	if c.Err != "" {
		return c.Expr + " failed: " + c.Err
	}
	s := c.Expr + " is " + strconv.FormatBool(c.Holds)
	if len(c.Operands) == 0 {
		return s
	}
	parts := make([]string, len(c.Operands))
	for i, o := range c.Operands {
		parts[i] = o.Expr + " = " + FormatValue(o.Value)
	}
	return s + " (" + strings.Join(parts, ", ") + ")"
}

// FormatValue writes an operand's value as a rule author would: strings
// quoted, nil as nil, times in RFC 3339, floats without trailing noise.
func FormatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(v)
	case Summary:
		return string(v)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// Explain tells, for each rule of the set in file order, whether its
// expression is true for client c with features f at now and which of
// its conditions decided it. It evaluates each condition alone against
// the env Evaluate builds, so that it is meant for one account at a time
// (a preview), not for a pass.
func (rs *RuleSet) Explain(now time.Time, c *model.Client, f Features) []Explanation {
	ev := newEvaluator()
	ev.env.fill(needs{account: true, owner: true, contacts: true}, now, c, &f)
	x := explainer{env: any(ev.env)}
	out := make([]Explanation, 0, len(rs.Rules))
	for _, r := range rs.Rules {
		out = append(out, x.rule(r))
	}
	return out
}

// explainer evaluates the parts of expressions against one account's env.
type explainer struct {
	vm  vm.VM
	env any
}

// rule explains rule r.
func (x *explainer) rule(r *Rule) Explanation {
	e := Explanation{Rule: r.Name, When: r.When}
	if r.program == nil {
		e.Err = "the expression was not compiled"
		return e
	}
	out, err := x.vm.Run(r.program, x.env)
	if err != nil {
		e.Err = message(err)
	}
	e.Matched = out == true && err == nil
	tree, perr := parser.ParseWithConfig(r.When, parseConfig())
	if perr != nil {
		if e.Err == "" {
			e.Err = perr.Error()
		}
		return e
	}
	_, conds, cerr := x.node(tree.Node)
	e.Conditions = conds
	if e.Err == "" && cerr != nil {
		e.Err = message(cerr)
	}
	return e
}

// message returns err's message without the source excerpt expr adds.
func message(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

// parseConfig returns the configuration rules are compiled with, for
// parsing the same names, builtins and functions.
func parseConfig() *conf.Config {
	c := conf.CreateNew()
	for _, op := range compileOptions {
		op(c)
	}
	for name := range c.Disabled {
		delete(c.Builtins, name)
	}
	return c
}

// node evaluates boolean node n and returns its value and the leaf
// conditions that decide it. Operands are evaluated in expr's order and
// only as far as expr would: in `a && b` with a false, a alone decides and
// b is not evaluated; in `a || b`, both decide when both are false.
func (x *explainer) node(n ast.Node) (bool, []Condition, error) {
	switch n := n.(type) {
	case *ast.UnaryNode:
		if n.Operator == "!" || n.Operator == "not" {
			v, conds, err := x.node(n.Node)
			return !v, conds, err
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and":
			return x.junction(n, false)
		case "||", "or":
			return x.junction(n, true)
		}
	}
	c, err := x.leaf(n)
	return c.Holds, []Condition{c}, err
}

// junction evaluates `a && b` (short false) or `a || b` (short true): an
// operand equal to short decides alone; else both decide.
func (x *explainer) junction(n *ast.BinaryNode, short bool) (bool, []Condition, error) {
	lv, lc, err := x.node(n.Left)
	if err != nil || lv == short {
		return lv, lc, err
	}
	rv, rc, err := x.node(n.Right)
	if err != nil || rv == short {
		return rv, rc, err
	}
	return rv, append(lc, rc...), nil
}

// leaf evaluates the condition n alone and the operands it reads.
func (x *explainer) leaf(n ast.Node) (Condition, error) {
	c := Condition{Expr: n.String()}
	v, err := x.eval(c.Expr, true)
	if err != nil {
		c.Err = message(err)
		return c, err
	}
	c.Holds = v == true
	for _, op := range operands(n) {
		if op == c.Expr {
			continue
		}
		ov, err := x.eval(op, false)
		if err != nil {
			continue // a part that fails alone (a closure's names) is not shown
		}
		c.Operands = append(c.Operands, Operand{Expr: op, Value: shown(ov)})
	}
	return c, nil
}

// anyResult lifts the boolean result that compileOptions require.
func anyResult(c *conf.Config) { c.Expect = reflect.Invalid }

// eval compiles src as rules are compiled (boolean when asBool) and runs
// it against the account's env.
func (x *explainer) eval(src string, asBool bool) (any, error) {
	opts := compileOptions
	if !asBool {
		opts = append(opts[:len(opts):len(opts)], anyResult)
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, err
	}
	return x.vm.Run(prog, x.env)
}

// operands returns the sub-expressions of condition n worth showing, in
// order and once each: the sides of a comparison that are not literals,
// and the names (account.lifecycle, days_inactive) it reads.
func operands(n ast.Node) []string {
	var out []string
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	if b, ok := n.(*ast.BinaryNode); ok {
		for _, side := range []ast.Node{b.Left, b.Right} {
			if !literal(side) {
				add(side.String())
			}
		}
	}
	for _, name := range names(n) {
		add(name)
	}
	return out
}

// literal reports whether n is a constant: a number, string, bool, nil,
// or a list or map of constants.
func literal(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.NilNode, *ast.ConstantNode:
		return true
	case *ast.UnaryNode:
		return literal(n.Node)
	case *ast.ArrayNode:
		for _, e := range n.Nodes {
			if !literal(e) {
				return false
			}
		}
		return true
	case *ast.MapNode:
		for _, p := range n.Pairs {
			if pair, ok := p.(*ast.PairNode); !ok || !literal(pair.Key) || !literal(pair.Value) {
				return false
			}
		}
		return true
	}
	return false
}

// nameVisitor collects the env names an expression reads, whole:
// account.lifecycle, not account; never a function's name, nor a
// closure's element (.opt_out). ast.Walk visits children before their
// parent, so a first walk marks the nodes inside chains and calls
// (marking) and a second collects the others.
type nameVisitor struct {
	marking bool
	inner   map[ast.Node]bool
	names   []string
}

// names returns the names tree n reads, in order.
func names(n ast.Node) []string {
	v := &nameVisitor{marking: true, inner: map[ast.Node]bool{}}
	ast.Walk(&n, v)
	v.marking = false
	ast.Walk(&n, v)
	return v.names
}

// Visit implements ast.Visitor.
func (v *nameVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		if v.marking {
			v.inner[n.Callee] = true
		}
	case *ast.MemberNode:
		if v.marking {
			v.inner[n.Node] = true
		} else if !v.inner[n] && rooted(n) {
			v.names = append(v.names, n.String())
		}
	case *ast.IdentifierNode:
		if !v.marking && !v.inner[n] {
			v.names = append(v.names, n.Value)
		}
	}
}

// rooted reports whether member chain n starts at an env name, not at a
// closure's element or a call's result.
func rooted(n ast.Node) bool {
	for {
		switch m := n.(type) {
		case *ast.MemberNode:
			if !literal(m.Property) {
				return false // contacts[i]: shown through the comparison's sides only
			}
			n = m.Node
		case *ast.IdentifierNode:
			return true
		default:
			return false
		}
	}
}

// Summary stands for a list, map or record an operand reads: "[3 items]".
type Summary string

// shown returns v as an operand shows it: lists, maps and records by
// their size, scalars as they are.
func shown(v any) any {
	switch v.(type) {
	case nil, string, bool, int, float64, time.Time, time.Duration:
		return v
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		switch rv.Len() {
		case 0:
			return Summary("[]")
		case 1:
			return Summary("[1 item]")
		}
		return Summary(fmt.Sprintf("[%d items]", rv.Len()))
	case reflect.Struct:
		return Summary("{…}")
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return shown(rv.Elem().Interface())
	}
	return v
}
