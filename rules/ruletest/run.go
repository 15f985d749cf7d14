package ruletest

import (
	"slices"
	"strings"

	"github.com/crmsync/crmsync/rules"
)

// outcome is what evaluating a test's portfolio gave, by external
// account id.
type outcome struct {
	features  map[string]map[string]any
	lifecycle map[string]string
	flagged   map[string]map[string]bool // by rule, then account
	errs      map[string][]accountError  // by rule; "" for errors naming none
}

// accountError is a run-time error of a rule on one account.
type accountError struct {
	account string
	msg     string
}

// result is what a test found wrong; a test without any passes.
type result struct {
	rules    []ruleDiff
	features []featureDiff
}

// ruleDiff is how the accounts a rule flagged differ from those expected.
type ruleDiff struct {
	rule  string // "" for errors of no known rule
	lines []diffLine
	errs  []accountError
}

// diffLine is an account missing from or unexpected in a rule's flags,
// with why and the account's features.
type diffLine struct {
	label, account, note string
}

// featureDiff lists the features of one account that are not as expected.
type featureDiff struct {
	account string
	lines   []string
}

// failed reports whether the test failed.
func (r result) failed() bool {
	return len(r.rules) > 0 || len(r.features) > 0
}

// run evaluates the rules over the test's portfolio and compares the
// outcome with the expectations.
func (tc *testCase) run(rs *rules.RuleSet) result {
	o := evaluate(rs, tc)
	var res result
	for _, exp := range tc.expect {
		if d := tc.diffRule(exp, o); len(d.lines)+len(d.errs) > 0 {
			res.rules = append(res.rules, d)
		}
	}
	if errs := o.errs[""]; len(errs) > 0 {
		res.rules = append(res.rules, ruleDiff{errs: errs})
	}
	for _, fc := range tc.features {
		if d := diffFeatures(fc, o.features[fc.account]); len(d.lines) > 0 {
			res.features = append(res.features, d)
		}
	}
	return res
}

// evaluate scores the test's portfolio and evaluates every rule on every
// account.
func evaluate(rs *rules.RuleSet, tc *testCase) outcome {
	o := outcome{
		features:  map[string]map[string]any{},
		lifecycle: map[string]string{},
		flagged:   map[string]map[string]bool{},
		errs:      map[string][]accountError{},
	}
	scores := rules.ScorePortfolio(tc.now, tc.clients, rs.Segmentation)
	for i := range tc.clients {
		c := &tc.clients[i]
		id := c.Account.ExternalID
		o.features[id], o.lifecycle[id] = scores[i].Map(), string(c.Account.Lifecycle)
		matches, err := rs.Evaluate(tc.now, c, scores[i])
		for _, m := range matches {
			if o.flagged[m.Rule.Name] == nil {
				o.flagged[m.Rule.Name] = map[string]bool{}
			}
			o.flagged[m.Rule.Name][id] = true
		}
		o.addErrors(id, err)
	}
	return o
}

// addErrors files the run-time errors of Evaluate on account under the
// rules they name ("rule NAME: message").
func (o *outcome) addErrors(account string, err error) {
	if err == nil {
		return
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	for _, e := range list {
		rule, msg, ok := strings.Cut(strings.TrimPrefix(e.Error(), "rule "), ": ")
		if !ok || !strings.HasPrefix(e.Error(), "rule ") {
			rule, msg = "", e.Error()
		}
		o.errs[rule] = append(o.errs[rule], accountError{account: account, msg: msg})
	}
}

// diffRule compares the accounts a rule flagged with those expected, in
// the order of the test's accounts.
func (tc *testCase) diffRule(exp expectation, o outcome) ruleDiff {
	d := ruleDiff{rule: exp.rule, errs: o.errs[exp.rule]}
	got := o.flagged[exp.rule]
	for i := range tc.clients {
		id := tc.clients[i].Account.ExternalID
		want := slices.Contains(exp.accounts, id)
		features := formatFeatures(o.features[id], o.lifecycle[id])
		switch {
		case want && !got[id]:
			d.lines = append(d.lines, diffLine{"missing", id, "expected to be flagged, was not; " + features})
		case got[id] && !want:
			d.lines = append(d.lines, diffLine{"unexpected", id, "flagged, not expected; " + features})
		}
	}
	return d
}

// diffFeatures compares an account's features with the expected values.
func diffFeatures(fc featureCheck, got map[string]any) featureDiff {
	d := featureDiff{account: fc.account}
	flat := flatten(got)
	for _, f := range fc.want {
		g, ok := lookup(flat, f.name)
		switch {
		case !ok:
			d.lines = append(d.lines, f.name+": no such feature, want "+formatValue(f.value))
		case !equal(g, f.value):
			d.lines = append(d.lines, f.name+": got "+formatValue(g)+", want "+formatValue(f.value))
		}
	}
	return d
}
