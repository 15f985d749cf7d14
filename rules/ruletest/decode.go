package ruletest

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/internal/suggest"
	"github.com/crmsync/crmsync/rules"
)

// entry is one key and its value in a YAML mapping.
type entry struct{ key, val *yaml.Node }

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

// join returns path.key, or key at the top level.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index returns path[i].
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit YAML null.
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// pairs returns the entries of mapping n in order, with merge keys (<<)
// expanded and repeated keys reported. It returns nil and reports a
// problem when n is not a mapping; a null n has no entries.
func (d *decoder) pairs(n *yaml.Node, path string) []entry {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s: must be a mapping", path)
		return nil
	}
	var out, merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Tag == "!!merge" {
			merged = append(merged, d.merge(v, path)...)
			continue
		}
		if j := slices.IndexFunc(out, func(e entry) bool { return e.key.Value == k.Value }); j >= 0 {
			d.fail(k, "%s: repeated key (first at line %d)", join(path, k.Value), out[j].key.Line)
			continue
		}
		out = append(out, entry{key: k, val: v})
	}
	for _, e := range merged {
		if !slices.ContainsFunc(out, func(o entry) bool { return o.key.Value == e.key.Value }) {
			out = append(out, e)
		}
	}
	return out
}

// merge returns the entries a merge key brings in: those of a mapping or
// of a list of mappings, the first one winning.
func (d *decoder) merge(v *yaml.Node, path string) []entry {
	if v.Kind != yaml.SequenceNode {
		return d.pairs(v, path)
	}
	var out []entry
	for _, item := range v.Content {
		for _, e := range d.pairs(item, path) {
			if !slices.ContainsFunc(out, func(o entry) bool { return o.key.Value == e.key.Value }) {
				out = append(out, e)
			}
		}
	}
	return out
}

// mapping returns the entries of mapping n by key, reporting keys not in
// allowed with the closest allowed one. It returns nil when n is not a
// mapping.
func (d *decoder) mapping(n *yaml.Node, path string, allowed ...string) map[string]entry {
	if !isNull(n) && resolve(n).Kind != yaml.MappingNode {
		d.fail(n, "%s: must be a mapping", path)
		return nil
	}
	out := map[string]entry{}
	for _, e := range d.pairs(n, path) {
		if !slices.Contains(allowed, e.key.Value) {
			d.unknownKey(e.key, join(path, e.key.Value), allowed)
			continue
		}
		out[e.key.Value] = e
	}
	return out
}

// unknownKey reports key k, not one of allowed.
func (d *decoder) unknownKey(k *yaml.Node, path string, allowed []string) {
	if s := suggest.Closest(k.Value, allowed); s != "" {
		d.fail(k, "%s: unknown key (did you mean %q?)", path, s)
		return
	}
	d.fail(k, "%s: unknown key (want one of %s)", path, quoteList(allowed))
}

// quoteList formats names as "a", "b", "c".
func quoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return strings.Join(quoted, ", ")
}

// scalar returns the text of scalar n, "" for null; false and a problem
// when n is not a scalar.
func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if isNull(n) {
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
	s, _ := d.scalar(e.val, join(path, key))
	return s
}

// required returns the non-empty text of key in m, reporting its absence
// at n.
func (d *decoder) required(m map[string]entry, n *yaml.Node, key, path string) string {
	e, ok := m[key]
	if !ok || isNull(e.val) {
		d.fail(n, "%s: missing %s", path, key)
		return ""
	}
	s, ok := d.scalar(e.val, join(path, key))
	if ok && s == "" {
		d.fail(e.val, "%s: must not be empty", join(path, key))
	}
	return s
}

// boolean returns the boolean at key in m, def when absent.
func (d *decoder) boolean(m map[string]entry, key, path string, def bool) bool {
	e, ok := m[key]
	if !ok || isNull(e.val) {
		return def
	}
	var b bool
	if e.val.Kind != yaml.ScalarNode || e.val.Tag != "!!bool" || e.val.Decode(&b) != nil {
		d.fail(e.val, "%s: must be true or false", join(path, key))
	}
	return b
}

// number returns the number at key in m, 0 when absent.
func (d *decoder) number(m map[string]entry, key, path string) float64 {
	e, ok := m[key]
	if !ok || isNull(e.val) {
		return 0
	}
	var f float64
	if e.val.Kind != yaml.ScalarNode || (e.val.Tag != "!!int" && e.val.Tag != "!!float") || e.val.Decode(&f) != nil {
		d.fail(e.val, "%s: must be a number", join(path, key))
	}
	return f
}

// list returns the items of sequence n; nil for null.
func (d *decoder) list(n *yaml.Node, path string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, "%s: must be a list", path)
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		items[i] = resolve(item)
	}
	return items
}

// strMap returns the text keys and values of the mapping at key in m.
func (d *decoder) strMap(m map[string]entry, key, path string) map[string]string {
	e, ok := m[key]
	if !ok || isNull(e.val) {
		return nil
	}
	path = join(path, key)
	out := map[string]string{}
	for _, p := range d.pairs(e.val, path) {
		if v, ok := d.scalar(p.val, join(path, p.key.Value)); ok {
			out[p.key.Value] = v
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
