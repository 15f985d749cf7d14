package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RulePaths expands the rule_files globs, relative to the config folder,
// into a sorted list of files without duplicates. A glob that matches no
// file is an error naming it.
func (c *Config) RulePaths() ([]string, error) {
	var paths []string
	var errs []error
	for i, pattern := range c.RuleFiles {
		matches, err := c.glob(pattern)
		if err == nil && len(matches) == 0 {
			err = fmt.Errorf("%q matches no file", pattern)
		}
		if err != nil {
			errs = append(errs, c.ruleError(i, err))
			continue
		}
		paths = append(paths, matches...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.Sort(paths)
	return slices.Compact(paths), nil
}

// glob returns the regular files (not folders) matching pattern.
func (c *Config) glob(pattern string) ([]string, error) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(escapeGlob(c.dir), pattern)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid glob pattern %q", pattern)
	}
	var files []string
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			files = append(files, m)
		}
	}
	return files, nil
}

func (c *Config) ruleError(i int, err error) error {
	e := &Error{File: c.file, Key: indexPath("rule_files", i), Msg: err.Error()}
	if i < len(c.ruleAt) && c.ruleAt[i] != nil {
		e.Line, e.Column = c.ruleAt[i].Line, c.ruleAt[i].Column
	}
	return e
}

// escapeGlob quotes the glob metacharacters of a literal folder name.
func escapeGlob(dir string) string {
	if filepath.Separator == '\\' {
		return dir // no escaping on Windows; metacharacters in folder names are rare there
	}
	var b strings.Builder
	for _, r := range dir {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
