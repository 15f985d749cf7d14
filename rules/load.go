package rules

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/crmsync/crmsync/internal/suggest"
	"github.com/crmsync/crmsync/internal/yamlnode"
	"os"
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"
)

// fileSet is what one rule file defines, with the nodes needed to check it
// against the other files.
type fileSet struct {
	src          *source
	segmentation *yaml.Node // the segmentation key, nil when absent
	seg          Segmentation
	rules        []*ruleDef
}

// ruleDef is a parsed rule with the nodes its cross-file checks point at.
type ruleDef struct {
	rule     *Rule
	path     string
	name     *yaml.Node
	inhibits []*yaml.Node
}

// LoadFiles reads and checks rule files. Rule names are unique across all
// of them and at most one may set the segmentation. On error it returns
// every problem found, as *Error values joined with errors.Join (see
// Errors), and a nil RuleSet.
func LoadFiles(paths ...string) (*RuleSet, error) {
	var sets []*fileSet
	var errs []error
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, &Error{File: p, Msg: fmt.Sprintf("read rule file: %v", err)})
			continue
		}
		fs, ferrs := parseFile(p, data)
		sets, errs = append(sets, fs), append(errs, ferrs...)
	}
	rs, lerrs := link(sets)
	if errs = append(errs, lerrs...); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

// Parse checks the rules in data, read from file (used in error messages).
// Its errors are as LoadFiles'.
func Parse(file string, data []byte) (*RuleSet, error) {
	fs, errs := parseFile(file, data)
	rs, lerrs := link([]*fileSet{fs})
	if errs = append(errs, lerrs...); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

// parseFile decodes one rule file, sorting its problems by position.
func parseFile(file string, data []byte) (*fileSet, []error) {
	d := &decoder{src: &source{name: file, data: data}}
	fs := &fileSet{src: d.src, seg: DefaultSegmentation()}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fs, []error{syntaxError(file, err)}
	}
	if len(doc.Content) > 0 && !yamlnode.IsNull(doc.Content[0]) {
		d.root(fs, doc.Content[0])
	}
	slices.SortStableFunc(d.errs, func(a, b error) int {
		ea, eb := a.(*Error), b.(*Error)
		return cmp.Or(cmp.Compare(ea.Line, eb.Line), cmp.Compare(ea.Col, eb.Col))
	})
	return fs, d.errs
}

// root decodes the top-level mapping of a rule file.
func (d *decoder) root(fs *fileSet, n *yaml.Node) {
	top := d.mapping(n, "", "segmentation", "rules")
	if e, ok := top["segmentation"]; ok {
		fs.segmentation = e.Key
		fs.seg = d.segmentation(e.Val)
	}
	e, ok := top["rules"]
	if !ok || yamlnode.IsNull(e.Val) {
		return
	}
	if e.Val.Kind != yaml.SequenceNode {
		d.fail(e.Val, "rules: must be a list")
		return
	}
	for i, item := range e.Val.Content {
		if def := d.rule(yamlnode.Resolve(item), yamlnode.Index("rules", i)); def != nil {
			fs.rules = append(fs.rules, def)
		}
	}
}

// segmentation decodes the segmentation block, applying defaults.
func (d *decoder) segmentation(n *yaml.Node) Segmentation {
	seg := DefaultSegmentation()
	m := d.mapping(n, "segmentation", "abc", "pmg")
	if e, ok := m["abc"]; ok {
		f := d.mapping(e.Val, "segmentation.abc", "a", "b")
		d.setNumber(f, "a", "segmentation.abc", &seg.ABC.A)
		d.setNumber(f, "b", "segmentation.abc", &seg.ABC.B)
		if !(seg.ABC.A > 0 && seg.ABC.A < seg.ABC.B && seg.ABC.B <= 1) {
			d.fail(e.Val, "segmentation.abc: want 0 < a < b <= 1, got a=%g b=%g", seg.ABC.A, seg.ABC.B)
		}
	}
	if e, ok := m["pmg"]; ok {
		f := d.mapping(e.Val, "segmentation.pmg", "medium", "large")
		d.setNumber(f, "medium", "segmentation.pmg", &seg.PMG.Medium)
		d.setNumber(f, "large", "segmentation.pmg", &seg.PMG.Large)
		if !(seg.PMG.Medium > 0 && seg.PMG.Medium < seg.PMG.Large) {
			d.fail(e.Val, "segmentation.pmg: want 0 < medium < large, got medium=%g large=%g", seg.PMG.Medium, seg.PMG.Large)
		}
	}
	return seg
}

// setNumber sets *dst from key of m when present.
func (d *decoder) setNumber(m map[string]entry, key, path string, dst *float64) {
	if e, ok := m[key]; ok {
		if f, ok := d.number(e.Val, yamlnode.Join(path, key)); ok {
			*dst = f
		}
	}
}

// link merges the files' rules, checks names, inhibitions and the
// segmentation across files, and builds the RuleSet.
func link(sets []*fileSet) (*RuleSet, []error) {
	rs := &RuleSet{Segmentation: DefaultSegmentation(), byName: map[string]*Rule{}}
	var errs []error
	var segFrom *fileSet
	for _, fs := range sets {
		if fs.segmentation != nil {
			if segFrom != nil {
				errs = append(errs, fs.src.at(fs.segmentation, "segmentation: already set in %s:%d:%d",
					segFrom.src.name, segFrom.segmentation.Line, segFrom.segmentation.Column))
				continue
			}
			segFrom, rs.Segmentation = fs, fs.seg
		}
	}
	defs := map[string]*ruleDef{}
	for _, fs := range sets {
		errs = append(errs, addRules(rs, fs, defs)...)
	}
	for _, fs := range sets {
		errs = append(errs, checkInhibits(fs, defs)...)
	}
	rs.needs = needsOf(rs.Rules)
	return rs, errs
}

// addRules adds the rules of fs to rs, reporting names already taken.
func addRules(rs *RuleSet, fs *fileSet, defs map[string]*ruleDef) []error {
	var errs []error
	for _, def := range fs.rules {
		name := def.rule.Name
		if name == "" {
			continue // already reported
		}
		if prev, ok := defs[name]; ok {
			errs = append(errs, fs.src.at(def.name, "%s.name: duplicate rule name %q (first defined at %s:%d:%d)",
				def.path, name, prev.rule.File, prev.name.Line, prev.name.Column))
			continue
		}
		defs[name] = def
		rs.byName[name] = def.rule
		rs.Rules = append(rs.Rules, def.rule)
	}
	return errs
}

// checkInhibits reports inhibitions of fs naming unknown rules or the rule
// itself.
func checkInhibits(fs *fileSet, defs map[string]*ruleDef) []error {
	names := make([]string, 0, len(defs))
	for n := range defs {
		names = append(names, n)
	}
	slices.Sort(names)
	var errs []error
	for _, def := range fs.rules {
		for i, target := range def.rule.Inhibits {
			path := yamlnode.Index(def.path+".inhibits", i)
			switch _, ok := defs[target]; {
			case target == def.rule.Name:
				errs = append(errs, fs.src.at(def.inhibits[i], "%s: a rule cannot inhibit itself", path))
			case !ok:
				msg := fmt.Sprintf("%s: unknown rule %q", path, target)
				if s := suggest.Closest(target, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				errs = append(errs, fs.src.at(def.inhibits[i], "%s", msg))
			}
		}
	}
	return errs
}

// ruleNameRe is what a rule name may be made of.
var ruleNameRe = regexp.MustCompile(`^[a-z0-9_-]+$`)
