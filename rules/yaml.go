package rules

import (
	"github.com/crmsync/crmsync/internal/yamlnode"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// entry is one key and its value in a YAML mapping.
type entry = yamlnode.Entry

// decoder reads the nodes of one rule file and collects every problem.
type decoder struct {
	src  *source
	errs []error
}

// fail records a problem located at n.
func (d *decoder) fail(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, d.src.at(n, format, args...))
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
	if yamlnode.IsNull(n) {
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
	if yamlnode.IsNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, "%s: must be a list", path)
		return nil, nil
	}
	var out []string
	var nodes []*yaml.Node
	for i, item := range n.Content {
		item = yamlnode.Resolve(item)
		if s, ok := d.str(item, yamlnode.Index(path, i)); ok {
			out, nodes = append(out, s), append(nodes, item)
		}
	}
	return out, nodes
}

// strMap returns the string keys and values of mapping n.
func (d *decoder) strMap(n *yaml.Node, path string) map[string]string {
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s: must be a mapping", path)
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := yamlnode.Resolve(n.Content[i])
		if v, ok := d.str(yamlnode.Resolve(n.Content[i+1]), yamlnode.Join(path, k.Value)); ok {
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

// mapping returns the entries of mapping n by key, reporting keys not in
// allowed (with the closest allowed key) and repeated keys; merge keys
// (<<: *anchor) are expanded. It returns nil when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, path string, allowed ...string) map[string]entry {
	if yamlnode.IsNull(n) {
		d.fail(yamlnode.Resolve(n), "%s: must be a mapping", path)
		return nil
	}
	return yamlnode.Mapping(d.fail, n, path, allowed...)
}

// boolean returns the value of boolean scalar n; false and a problem when
// n is not true or false.
func (d *decoder) boolean(n *yaml.Node, path string) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		d.fail(n, "%s: must be true or false", path)
		return false
	}
	return b
}
