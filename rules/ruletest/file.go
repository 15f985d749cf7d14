package ruletest

import (
	"github.com/crmsync/crmsync/internal/yamlnode"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// Keys a test file and its tests may have.
var (
	fileKeys = []string{"rule_files", "evaluation_time", "tests"}
	testKeys = []string{"name", "evaluation_time", "accounts", "expect", "expect_features"}
)

// suite is a decoded test file.
type suite struct {
	file      string
	ruleFiles []ruleFile
	tests     []*testCase
}

// ruleFile is one entry of rule_files, with its node for errors.
type ruleFile struct {
	pattern string
	node    *yaml.Node
}

// testCase is one test: a portfolio, an evaluation time and expectations.
type testCase struct {
	name     string
	now      time.Time
	clients  []model.Client
	expect   []expectation
	features []featureCheck
}

// expectation is the exact set of accounts a rule must flag.
type expectation struct {
	rule     string
	path     string     // where the rule is named, for errors
	node     *yaml.Node // the rule name's key
	accounts []string   // external ids
}

// featureCheck is the feature values expected for one account.
type featureCheck struct {
	account string
	want    []feature
}

// feature is a feature's name (dotted for nested values, as in rfm.r) and
// its value.
type feature struct {
	name  string
	value any
}

// decodeFile decodes test file data, read from file, reporting every
// problem with its position.
func decodeFile(file string, data []byte) (*suite, []error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []error{syntaxError(file, err)}
	}
	if len(doc.Content) == 0 || yamlnode.IsNull(doc.Content[0]) {
		return nil, []error{&rules.Error{File: file, Line: 1, Col: 1, Msg: "empty test file: want rule_files and tests"}}
	}
	d := &decoder{file: file}
	s := d.suite(doc.Content[0])
	return s, d.errs
}

// suite decodes the top-level mapping of a test file.
func (d *decoder) suite(n *yaml.Node) *suite {
	s := &suite{file: d.file}
	m := d.mapping(n, "", fileKeys...)
	if m == nil {
		return s
	}
	s.ruleFiles = d.ruleFiles(m, n)
	var now time.Time
	if e, ok := m["evaluation_time"]; ok {
		now = d.evaluationTime(e.Val, "evaluation_time")
	}
	e, ok := m["tests"]
	items := d.list(e.Val, "tests")
	if !ok || len(items) == 0 {
		d.fail(n, "tests: missing (want a list of tests)")
	}
	for i, item := range items {
		if tc := d.test(item, yamlnode.Index("tests", i), now); tc != nil {
			s.tests = append(s.tests, tc)
		}
	}
	return s
}

// ruleFiles decodes rule_files, which is required.
func (d *decoder) ruleFiles(m map[string]entry, n *yaml.Node) []ruleFile {
	e, ok := m["rule_files"]
	items := d.list(e.Val, "rule_files")
	if !ok || len(items) == 0 {
		d.fail(n, "rule_files: missing (want the rule files under test)")
		return nil
	}
	var out []ruleFile
	for i, item := range items {
		if s, ok := d.scalar(item, yamlnode.Index("rule_files", i)); ok && s != "" {
			out = append(out, ruleFile{pattern: s, node: item})
		}
	}
	return out
}

// evaluationTime decodes an absolute evaluation time.
func (d *decoder) evaluationTime(n *yaml.Node, path string) time.Time {
	s, ok := d.scalar(n, path)
	if !ok || s == "" {
		return time.Time{}
	}
	t, err := parseDate(s, time.Time{}, false)
	if err != nil {
		d.fail(n, "%s: %v", path, err)
	}
	return t
}

// test decodes one test; defNow is the file's evaluation time.
func (d *decoder) test(n *yaml.Node, path string, defNow time.Time) *testCase {
	m := d.mapping(n, path, testKeys...)
	if m == nil {
		return nil
	}
	tc := &testCase{name: d.str(m, "name", path), now: defNow}
	if tc.name == "" {
		tc.name = path
	}
	if e, ok := m["evaluation_time"]; ok {
		tc.now = d.evaluationTime(e.Val, yamlnode.Join(path, "evaluation_time"))
	}
	if tc.now.IsZero() {
		d.fail(n, "%s: missing evaluation_time (set it in the test or at the top of the file)", path)
	}
	ids := map[string]bool{}
	if e, ok := m["accounts"]; ok {
		tc.clients, ids = d.accounts(e.Val, yamlnode.Join(path, "accounts"), tc.now)
	}
	if e, ok := m["expect"]; ok {
		tc.expect = d.expect(e.Val, yamlnode.Join(path, "expect"), ids)
	}
	if e, ok := m["expect_features"]; ok {
		tc.features = d.expectFeatures(e.Val, yamlnode.Join(path, "expect_features"), ids, tc.now)
	}
	_, hasExpect := m["expect"]
	_, hasFeatures := m["expect_features"]
	if !hasExpect && !hasFeatures {
		d.fail(n, "%s: nothing to check (want expect or expect_features)", path)
	}
	return tc
}

// expect decodes the expected flags: rule name to account ids.
func (d *decoder) expect(n *yaml.Node, path string, ids map[string]bool) []expectation {
	var out []expectation
	for _, p := range d.pairs(n, path) {
		exp := expectation{rule: p.Key.Value, path: yamlnode.Join(path, p.Key.Value), node: p.Key, accounts: []string{}}
		for i, item := range d.list(p.Val, exp.path) {
			ipath := yamlnode.Index(exp.path, i)
			if id, ok := d.scalar(item, ipath); ok && d.knownAccount(item, ipath, id, ids) {
				exp.accounts = append(exp.accounts, id)
			}
		}
		out = append(out, exp)
	}
	return out
}

// knownAccount reports whether id is one of the test's accounts, and a
// problem at n when it is not.
func (d *decoder) knownAccount(n *yaml.Node, path, id string, ids map[string]bool) bool {
	if ids[id] {
		return true
	}
	d.fail(n, "%s: unknown account %q (not in this test's accounts)", path, id)
	return false
}

// expectFeatures decodes the expected feature values by account id.
func (d *decoder) expectFeatures(n *yaml.Node, path string, ids map[string]bool, now time.Time) []featureCheck {
	var out []featureCheck
	for _, p := range d.pairs(n, path) {
		apath := yamlnode.Join(path, p.Key.Value)
		if !d.knownAccount(p.Key, apath, p.Key.Value, ids) {
			continue
		}
		out = append(out, featureCheck{account: p.Key.Value, want: d.features(p.Val, apath, "", now, nil)})
	}
	return out
}

// features appends the feature values of mapping n to out, naming those
// of nested mappings prefix.Key. A date feature's value is read as a
// fixture date relative to now.
func (d *decoder) features(n *yaml.Node, path, prefix string, now time.Time, out []feature) []feature {
	for _, p := range d.pairs(n, path) {
		name, fpath := yamlnode.Join(prefix, p.Key.Value), yamlnode.Join(path, p.Key.Value)
		switch {
		case p.Val.Kind == yaml.MappingNode:
			out = d.features(p.Val, fpath, name, now, out)
		case !knownFeature(name):
			d.fail(p.Key, "%s: %s", fpath, unknownFeature(name))
		case p.Val.Kind != yaml.ScalarNode:
			d.fail(p.Val, "%s: must be a single value", fpath)
		case dateFeatures[name]:
			if v, ok := d.dateFeature(p.Val, fpath, now); ok {
				out = append(out, feature{name: name, value: v})
			}
		default:
			var v any
			if err := p.Val.Decode(&v); err != nil {
				d.fail(p.Val, "%s: %v", fpath, err)
				continue
			}
			out = append(out, feature{name: name, value: v})
		}
	}
	return out
}

// dateFeature decodes the expected value of a date feature, absolute or
// relative to now, as rules.Features.Map writes it: RFC 3339 in UTC.
func (d *decoder) dateFeature(n *yaml.Node, path string, now time.Time) (string, bool) {
	t, err := parseDate(n.Value, now, true)
	if err != nil {
		d.fail(n, "%s: %v", path, err)
		return "", false
	}
	return t.UTC().Format(time.RFC3339), true
}
