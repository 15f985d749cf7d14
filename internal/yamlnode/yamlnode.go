// Package yamlnode reads YAML node trees strictly, for the hand-written
// decoders of rule files and rule test files: mappings with known keys
// (an unknown key gets the closest known one suggested), repeated keys,
// aliases and merge keys, each problem located at its node.
package yamlnode

import (
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/internal/suggest"
)

// Entry is one key of a mapping and its value, aliases resolved.
type Entry struct{ Key, Val *yaml.Node }

// FailFunc records a problem located at node n.
type FailFunc func(n *yaml.Node, format string, args ...any)

// Resolve follows an alias to the node it names.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is absent or an explicit YAML null.
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// Join returns path.key, or key at the top level.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index returns path[i].
func Index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// QuoteList formats names as "a", "b", "c".
func QuoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return strings.Join(quoted, ", ")
}

// Pairs returns the entries of mapping n in order, with merge keys (<<)
// expanded (the mapping's own keys win) and repeated keys reported. A null
// n has no entries; any other non-mapping is reported.
func Pairs(fail FailFunc, n *yaml.Node, path string) []Entry {
	n = Resolve(n)
	if IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		fail(n, "%s: must be a mapping", path)
		return nil
	}
	var out, merged []Entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Resolve(n.Content[i]), Resolve(n.Content[i+1])
		if k.Tag == "!!merge" {
			merged = append(merged, merge(fail, v, path)...)
			continue
		}
		if j := slices.IndexFunc(out, func(e Entry) bool { return e.Key.Value == k.Value }); j >= 0 {
			fail(k, "%s: repeated key (first at line %d)", Join(path, k.Value), out[j].Key.Line)
			continue
		}
		out = append(out, Entry{Key: k, Val: v})
	}
	return addMissing(out, merged)
}

// merge returns the entries a merge key brings in: those of a mapping or
// of a list of mappings, the first one winning.
func merge(fail FailFunc, v *yaml.Node, path string) []Entry {
	if v.Kind != yaml.SequenceNode {
		return Pairs(fail, v, path)
	}
	var out []Entry
	for _, item := range v.Content {
		out = addMissing(out, Pairs(fail, item, path))
	}
	return out
}

// addMissing appends the entries of more whose key out lacks.
func addMissing(out, more []Entry) []Entry {
	for _, e := range more {
		if !slices.ContainsFunc(out, func(o Entry) bool { return o.Key.Value == e.Key.Value }) {
			out = append(out, e)
		}
	}
	return out
}

// Mapping returns the entries of mapping n by key, reporting keys not in
// allowed, with the closest allowed one. A null n has no entries; it
// returns nil when n is not a mapping.
func Mapping(fail FailFunc, n *yaml.Node, path string, allowed ...string) map[string]Entry {
	if !IsNull(n) && Resolve(n).Kind != yaml.MappingNode {
		fail(n, "%s: must be a mapping", path)
		return nil
	}
	out := map[string]Entry{}
	for _, e := range Pairs(fail, n, path) {
		if !slices.Contains(allowed, e.Key.Value) {
			UnknownKey(fail, e.Key, Join(path, e.Key.Value), allowed)
			continue
		}
		out[e.Key.Value] = e
	}
	return out
}

// UnknownKey reports key k, not one of allowed.
func UnknownKey(fail FailFunc, k *yaml.Node, path string, allowed []string) {
	if s := suggest.Closest(k.Value, allowed); s != "" {
		fail(k, "%s: unknown key (did you mean %q?)", path, s)
		return
	}
	fail(k, "%s: unknown key (want one of %s)", path, QuoteList(allowed))
}
