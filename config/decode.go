package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/internal/suggest"
)

var durationType = reflect.TypeFor[time.Duration]()

// decode sets v from n, walking the node tree against the yaml tags of v's
// type. It records the node of every key path it sees, reports unknown keys,
// duplicate keys and type errors with their position, and leaves whatever
// the file does not set (or sets to null) at its default.
func (d *document) decode(path string, n *yaml.Node, v reflect.Value) {
	d.nodes[path] = n
	n, ok := d.follow(path, n)
	if !ok {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	switch {
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(path, n, v.Elem())
	case v.Kind() == reflect.Struct:
		d.decodeStruct(path, n, v)
	case v.Kind() == reflect.Slice:
		d.decodeSlice(path, n, v)
	case v.Kind() == reflect.Map:
		d.decodeMap(path, n, v)
	case n.Kind != yaml.ScalarNode:
		d.errorf(path, n, "want %s, got %s", want(v.Type()), kindName(n))
	default:
		d.decodeScalar(path, n, v)
	}
}

func (d *document) decodeStruct(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n, "want a mapping, got %s", kindName(n))
		return
	}
	d.open[n] = true
	defer delete(d.open, n)
	// Merge keys ("<<: *anchor") first, so that explicit keys win.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Tag == "!!merge" {
			d.decodeMerge(path, n.Content[i+1], v)
		}
	}
	fields := fieldsOf(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			continue
		}
		kp, ok := d.key(path, k, seen)
		if !ok {
			continue
		}
		f, ok := fields[k.Value]
		if !ok {
			d.errorf(kp, k, "unknown key%s", didYouMean(k.Value, fieldNames(v.Type())))
			continue
		}
		d.decode(kp, val, v.FieldByIndex(f))
	}
}

// decodeMerge applies the mapping (or list of mappings) of a merge key;
// earlier mappings of a list win over later ones.
func (d *document) decodeMerge(path string, n *yaml.Node, v reflect.Value) {
	target, ok := d.follow(path, n)
	if !ok {
		return
	}
	list := []*yaml.Node{n}
	if target.Kind == yaml.SequenceNode {
		list = target.Content
	}
	for _, item := range slices.Backward(list) {
		m, ok := d.follow(path, item)
		if !ok {
			continue
		}
		if d.open[m] {
			d.errorf(path, item, "merge key refers to its own mapping")
			continue
		}
		d.decodeStruct(path, m, v)
	}
}

// maxAliases bounds how many aliases a file may follow, so that nested
// aliases cannot blow up into billions of values.
const maxAliases = 10000

// follow returns the node an alias refers to, or n itself.
func (d *document) follow(path string, n *yaml.Node) (*yaml.Node, bool) {
	if n.Kind != yaml.AliasNode {
		return n, true
	}
	d.aliases++
	if d.aliases == maxAliases+1 {
		d.errorf(path, n, "too many aliases (more than %d)", maxAliases)
	}
	return n.Alias, n.Alias != nil && d.aliases <= maxAliases
}

func (d *document) decodeSlice(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(path, n, "want a list, got %s", kindName(n))
		return
	}
	if len(n.Content) == 0 {
		v.SetZero()
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		d.decode(indexPath(path, i), e, s.Index(i))
	}
	v.Set(s)
}

// key checks a mapping key (a string, not seen before in the mapping;
// seen maps keys to their line) and returns its path.
func (d *document) key(path string, k *yaml.Node, seen map[string]int) (string, bool) {
	if k.Kind != yaml.ScalarNode {
		d.errorf(path, k, "want a string key, got %s", kindName(k))
		return "", false
	}
	kp := childPath(path, k.Value)
	if line, dup := seen[k.Value]; dup {
		d.errorf(kp, k, "duplicate key (first at line %d)", line)
		return "", false
	}
	seen[k.Value] = k.Line
	return kp, true
}

// decodeMap sets a map with string keys from a mapping.
func (d *document) decodeMap(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n, "want a mapping, got %s", kindName(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			d.errorf(path, k, "want a string key, got a merge key")
			continue
		}
		kp, ok := d.key(path, k, seen)
		if !ok {
			continue
		}
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(kp, val, e)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
	}
	v.Set(m)
}

// decodeScalar sets a string, bool, int or duration. Quoting does not
// matter: "10" and 10 are the same integer, so ${ENV} works everywhere.
func (d *document) decodeScalar(path string, n *yaml.Node, v reflect.Value) {
	switch {
	case v.Type() == durationType:
		dur, err := ParseDuration(n.Value)
		if err != nil {
			d.errorf(path, n, "%v", err)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.String:
		v.SetString(n.Value)
	case v.Kind() == reflect.Bool:
		b, ok := parseBool(n.Value)
		if !ok {
			d.errorf(path, n, "want true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			d.errorf(path, n, "want an integer, got %q", n.Value)
			return
		}
		v.SetInt(int64(i))
	default:
		d.errorf(path, n, "unsupported field type %s", v.Type())
	}
}

func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// kindName describes a node without showing its value: a misplaced scalar
// may be a secret.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.Struct, t.Kind() == reflect.Pointer, t.Kind() == reflect.Map:
		return "a mapping"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int:
		return "an integer"
	}
	return "a string"
}

// fieldsOf maps the yaml key of every field of struct type t to its index.
func fieldsOf(t reflect.Type) map[string][]int {
	m := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if name := yamlName(f); name != "" {
			m[name] = f.Index
		}
	}
	return m
}

// fieldNames lists the yaml keys of struct type t in field order.
func fieldNames(t reflect.Type) []string {
	var names []string
	for _, f := range reflect.VisibleFields(t) {
		if name := yamlName(f); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// didYouMean returns ` (did you mean "x"?)` for the known key closest to
// key, when it is a plausible typo of one.
func didYouMean(key string, known []string) string {
	if best := suggest.Closest(key, known); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
