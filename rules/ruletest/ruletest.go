package ruletest

import (
	"errors"
	"fmt"
	"github.com/crmsync/crmsync/internal/yamlnode"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/internal/suggest"
	"github.com/crmsync/crmsync/rules"
)

// Run runs every test file and writes a report to w: a PASS or FAIL line
// per test, what went wrong under each FAIL, and a last line
// "N passed, M failed". It returns the number of failed tests. Its error
// is for test files that cannot be read or parsed, or whose rule files
// cannot be loaded; such a file's tests are not run, and the error holds
// every problem as a *rules.Error located at FILE:LINE:COL (see
// rules.Errors). The other files' tests are run.
func Run(w io.Writer, files ...string) (failed int, err error) {
	var passed int
	var errs []error
	for _, file := range files {
		s, rs, err := load(file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, tc := range s.tests {
			res := tc.run(rs)
			report(w, file, tc, res)
			if res.failed() {
				failed++
			} else {
				passed++
			}
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
	return failed, errors.Join(errs...)
}

// load reads test file and loads the rules it tests. Its error lists the
// problems of the test file by position, then those of the rule files.
func load(file string) (*suite, *rules.RuleSet, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, &rules.Error{File: file, Msg: fmt.Sprintf("read test file: %v", err)}
	}
	s, errs := decodeFile(file, data)
	if s == nil {
		return nil, nil, errors.Join(errs...)
	}
	paths, perrs := s.rulePaths()
	errs = append(errs, perrs...)
	var rs *rules.RuleSet
	var rulesErr error
	if len(paths) > 0 && len(perrs) == 0 {
		if rs, rulesErr = rules.LoadFiles(paths...); rulesErr == nil {
			errs = append(errs, s.checkRules(rs)...)
		}
	}
	sortErrors(errs)
	if len(errs) > 0 || rulesErr != nil {
		return nil, nil, errors.Join(append(errs, rulesErr)...)
	}
	return s, rs, nil
}

// rulePaths resolves rule_files, relative to the test file's folder. An
// entry with glob characters (* ? [) must match at least one file; any
// other must exist.
func (s *suite) rulePaths() ([]string, []error) {
	var paths []string
	var errs []error
	for i, rf := range s.ruleFiles {
		p := rf.pattern
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(s.file), p)
		}
		matches, err := expand(p)
		if err != nil {
			errs = append(errs, at(s.file, rf.node, "%s: %v", yamlnode.Index("rule_files", i), err))
			continue
		}
		for _, m := range matches {
			if !slices.Contains(paths, m) {
				paths = append(paths, m)
			}
		}
	}
	return paths, errs
}

// expand returns the files matching glob pattern p, or p itself when it
// is an existing file without glob characters.
func expand(p string) ([]string, error) {
	if !strings.ContainsAny(p, "*?[") {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("rule file: %w", err)
		}
		return []string{p}, nil
	}
	matches, err := filepath.Glob(p)
	switch {
	case err != nil:
		return nil, fmt.Errorf("invalid glob pattern %q", p)
	case len(matches) == 0:
		return nil, fmt.Errorf("%q matches no file", p)
	}
	return matches, nil
}

// checkRules reports expectations naming rules that rs does not have.
func (s *suite) checkRules(rs *rules.RuleSet) []error {
	names := make([]string, len(rs.Rules))
	for i, r := range rs.Rules {
		names[i] = r.Name
	}
	var errs []error
	for _, tc := range s.tests {
		for _, exp := range tc.expect {
			if rs.Rule(exp.rule) != nil {
				continue
			}
			msg := fmt.Sprintf("%s: unknown rule %q", exp.path, exp.rule)
			if c := suggest.Closest(exp.rule, names); c != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", c)
			} else {
				msg += fmt.Sprintf(" (the rule files define %s)", yamlnode.QuoteList(names))
			}
			errs = append(errs, at(s.file, exp.node, "%s", msg))
		}
	}
	return errs
}
