package ruletest

import (
	"cmp"
	"fmt"
	"github.com/crmsync/crmsync/internal/yamlnode"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/rules"
)

// entry is one key and its value in a YAML mapping.
type entry = yamlnode.Entry

// decoder reads the nodes of one test file and collects every problem,
// located in the file.
type decoder struct {
	file string
	errs []error
}

// fail records a problem located at n.
func (d *decoder) fail(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, at(d.file, n, format, args...))
}

// at returns a *rules.Error located at node n of file.
func at(file string, n *yaml.Node, format string, args ...any) *rules.Error {
	return &rules.Error{File: file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}
}

// scalar returns the text of scalar n, "" for null; false and a problem
// when n is not a scalar.
func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if yamlnode.IsNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n, "%s: must be a single value", path)
		return "", false
	}
	return n.Value, true
}

// str returns the text of key in m, "" when absent.
func (d *decoder) str(m map[string]entry, key, path string) string {
	e, ok := m[key]
	if !ok {
		return ""
	}
	s, _ := d.scalar(e.Val, yamlnode.Join(path, key))
	return s
}

// required returns the non-empty text of key in m, reporting its absence
// at n.
func (d *decoder) required(m map[string]entry, n *yaml.Node, key, path string) string {
	e, ok := m[key]
	if !ok || yamlnode.IsNull(e.Val) {
		d.fail(n, "%s: missing %s", path, key)
		return ""
	}
	s, ok := d.scalar(e.Val, yamlnode.Join(path, key))
	if ok && s == "" {
		d.fail(e.Val, "%s: must not be empty", yamlnode.Join(path, key))
	}
	return s
}

// boolean returns the boolean at key in m, def when absent.
func (d *decoder) boolean(m map[string]entry, key, path string, def bool) bool {
	e, ok := m[key]
	if !ok || yamlnode.IsNull(e.Val) {
		return def
	}
	var b bool
	if e.Val.Kind != yaml.ScalarNode || e.Val.Tag != "!!bool" || e.Val.Decode(&b) != nil {
		d.fail(e.Val, "%s: must be true or false", yamlnode.Join(path, key))
	}
	return b
}

// number returns the number at key in m, 0 when absent.
func (d *decoder) number(m map[string]entry, key, path string) float64 {
	e, ok := m[key]
	if !ok || yamlnode.IsNull(e.Val) {
		return 0
	}
	var f float64
	if e.Val.Kind != yaml.ScalarNode || (e.Val.Tag != "!!int" && e.Val.Tag != "!!float") || e.Val.Decode(&f) != nil {
		d.fail(e.Val, "%s: must be a number", yamlnode.Join(path, key))
	}
	return f
}

// list returns the items of sequence n; nil for null.
func (d *decoder) list(n *yaml.Node, path string) []*yaml.Node {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, "%s: must be a list", path)
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		items[i] = yamlnode.Resolve(item)
	}
	return items
}

// strMap returns the text keys and values of the mapping at key in m.
func (d *decoder) strMap(m map[string]entry, key, path string) map[string]string {
	e, ok := m[key]
	if !ok || yamlnode.IsNull(e.Val) {
		return nil
	}
	path = yamlnode.Join(path, key)
	out := map[string]string{}
	for _, p := range d.pairs(e.Val, path) {
		if v, ok := d.scalar(p.Val, yamlnode.Join(path, p.Key.Value)); ok {
			out[p.Key.Value] = v
		}
	}
	return out
}

// yamlErrRe extracts the line of a YAML syntax error.
var yamlErrRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError converts a YAML syntax error into a *rules.Error.
func syntaxError(file string, err error) *rules.Error {
	if m := yamlErrRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &rules.Error{File: file, Line: line, Col: 1, Msg: m[2]}
	}
	return &rules.Error{File: file, Line: 1, Col: 1, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
}

// sortErrors sorts errs, all *rules.Error of one file, by position.
func sortErrors(errs []error) {
	slices.SortStableFunc(errs, func(a, b error) int {
		ea, eb := a.(*rules.Error), b.(*rules.Error)
		return cmp.Or(cmp.Compare(ea.Line, eb.Line), cmp.Compare(ea.Col, eb.Col))
	})
}

// pairs returns the entries of mapping n in order (see yamlnode.Pairs).
func (d *decoder) pairs(n *yaml.Node, path string) []entry {
	return yamlnode.Pairs(d.fail, n, path)
}

// mapping returns the entries of mapping n by key, reporting keys not in
// allowed (see yamlnode.Mapping).
func (d *decoder) mapping(n *yaml.Node, path string, allowed ...string) map[string]entry {
	return yamlnode.Mapping(d.fail, n, path, allowed...)
}
