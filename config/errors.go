package config

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem found in a config file. Parse returns every Error it
// finds joined with errors.Join; use errors.As or the Unwrap() []error
// method of the joined error to reach them one by one.
type Error struct {
	File   string // file name as given to Parse
	Line   int    // 1-based line; 0 when unknown
	Column int    // 1-based column; 0 when unknown
	Key    string // key path such as "sources[1].type"; empty for the whole file
	Msg    string
}

// Error formats the problem as "FILE:LINE:COL: KEY: message".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// document is one config file being parsed: its node tree, where each key
// path was found, and the problems found so far.
type document struct {
	file   string
	root   *yaml.Node // top-level value; nil for an empty file
	nodes  map[string]*yaml.Node
	failed map[string]bool
	errs   []*Error

	open    map[*yaml.Node]bool // mappings being decoded, to stop merge cycles
	aliases int                 // aliases followed so far
}

func newDocument(file string, root *yaml.Node) *document {
	d := &document{
		file:   file,
		nodes:  map[string]*yaml.Node{},
		failed: map[string]bool{},
		open:   map[*yaml.Node]bool{},
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		d.root = root.Content[0]
	}
	return d
}

// errorf records a problem at key path with the position of node n.
func (d *document) errorf(path string, n *yaml.Node, format string, args ...any) {
	e := &Error{File: d.file, Line: 1, Column: 1, Key: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.failed[path] = true
	d.errs = append(d.errs, e)
}

// addf records a problem at key path, positioned at the path's value or,
// when the key is absent, at the nearest enclosing mapping. Paths under a
// key that already failed to decode are skipped: one mistake, one message.
func (d *document) addf(path string, format string, args ...any) {
	if d.hasFailed(path) {
		return
	}
	d.errorf(path, d.node(path), format, args...)
}

func (d *document) hasFailed(path string) bool {
	for {
		if d.failed[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parentPath(path)
	}
}

// node returns the value node of path or of its nearest recorded ancestor.
func (d *document) node(path string) *yaml.Node {
	for {
		if n, ok := d.nodes[path]; ok {
			return n
		}
		if path == "" {
			return d.root
		}
		path = parentPath(path)
	}
}

// has reports whether the file sets path.
func (d *document) has(path string) bool {
	_, ok := d.nodes[path]
	return ok
}

// err returns every problem in file order, or nil.
func (d *document) err() error {
	slices.SortStableFunc(d.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

func childPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError turns a yaml.v3 parse error into an Error that keeps its line.
func syntaxError(file string, err error) error {
	msg := err.Error()
	e := &Error{File: file, Msg: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "yaml: " + msg[len(m[0]):]
	}
	return e
}
