package rules

import (
	"github.com/crmsync/crmsync/internal/suggest"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// entry is one key and its value in a YAML mapping.
type entry struct{ key, val *yaml.Node }

// decoder reads the nodes of one rule file and collects every problem.
type decoder struct {
	src  *source
	errs []error
}

// fail records a problem located at n.
func (d *decoder) fail(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, d.src.at(n, format, args...))
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

// mapping returns the entries of mapping n by key, reporting keys not in
// allowed (with the closest allowed key) and repeated keys. It returns nil
// when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, path string, allowed ...string) map[string]entry {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s: must be a mapping", path)
		return nil
	}
	out := make(map[string]entry, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		switch {
		case !contains(allowed, k.Value):
			d.unknownKey(k, join(path, k.Value), allowed)
		case out[k.Value].key != nil:
			prev := out[k.Value].key
			d.fail(k, "%s: repeated key (first at line %d)", join(path, k.Value), prev.Line)
		default:
			out[k.Value] = entry{key: k, val: resolve(v)}
		}
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
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += strconv.Quote(n)
	}
	return s
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// str returns the text of scalar n; "" and false when n is not a scalar.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n, "%s: must be a string", path)
		return "", false
	}
	return n.Value, true
}

// number returns the value of numeric scalar n.
func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	var f float64
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
		d.fail(n, "%s: must be a number", path)
		return 0, false
	}
	return f, true
}

// strList returns the strings of sequence n with their nodes.
func (d *decoder) strList(n *yaml.Node, path string) ([]string, []*yaml.Node) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, "%s: must be a list", path)
		return nil, nil
	}
	var out []string
	var nodes []*yaml.Node
	for i, item := range n.Content {
		item = resolve(item)
		if s, ok := d.str(item, index(path, i)); ok {
			out, nodes = append(out, s), append(nodes, item)
		}
	}
	return out, nodes
}

// strMap returns the string keys and values of mapping n.
func (d *decoder) strMap(n *yaml.Node, path string) map[string]string {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s: must be a mapping", path)
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if v, ok := d.str(resolve(n.Content[i+1]), join(path, k.Value)); ok {
			out[k.Value] = v
		}
	}
	return out
}

// yamlErrRe extracts the line of a YAML syntax error.
var yamlErrRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError converts a YAML syntax error into an *Error.
func syntaxError(file string, err error) *Error {
	if m := yamlErrRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Col: 1, Msg: m[2]}
	}
	return &Error{File: file, Line: 1, Col: 1, Msg: err.Error()}
}
