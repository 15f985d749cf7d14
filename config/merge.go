package config

import (
	"cmp"
	"errors"
	"os"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/merge"
)

// MergeConfig says when accounts of different sources are one company
// (package merge). Without it every account is its own.
type MergeConfig struct {
	// By lists the automatic matches, applied in order after the mapping
	// file: domain, contact_email.
	By []string `yaml:"by"`
	// MappingFile is a CSV file listing companies explicitly: a header
	// naming sources, then one company per row with its id in each.
	MappingFile string `yaml:"mapping_file"`
	// Precedence orders the sources: a merged account takes its id, name
	// and owner from the first listed that has them. Default: the order of
	// sources; sources left out come after, in that order.
	Precedence []string `yaml:"precedence"`

	mapping [][]string
}

// MergeRules returns the rules of the merge section with the mapping file
// read; nil when the config has no merge section.
func (c *Config) MergeRules() *merge.Rules {
	m := c.Merge
	if m == nil {
		return nil
	}
	return &merge.Rules{Mapping: m.mapping, By: m.By, Precedence: m.Precedence}
}

func (c *Config) validateMerge(d *document) {
	m := c.Merge
	if m == nil {
		return
	}
	names := make([]string, len(c.Sources))
	for i, s := range c.Sources {
		names[i] = s.Name
	}
	if len(names) < 2 {
		d.addf("merge", "needs two sources or more: merge joins accounts of different sources")
	}
	if len(m.By) == 0 && m.MappingFile == "" {
		d.addf("merge", "set by (domain, contact_email) and/or mapping_file")
	}
	for i, by := range m.By {
		switch p := indexPath("merge.by", i); {
		case !slices.Contains(merge.Methods, by):
			d.addf(p, "unknown match %q%s", by, cmp.Or(didYouMean(by, merge.Methods), " (want "+strings.Join(merge.Methods, " or ")+")"))
		case slices.Index(m.By, by) < i:
			d.addf(p, "%s is listed twice", by)
		}
	}
	for i, s := range m.Precedence {
		switch p := indexPath("merge.precedence", i); {
		case !slices.Contains(names, s):
			d.addf(p, "no source named %q%s", s, didYouMean(s, names))
		case slices.Index(m.Precedence, s) < i:
			d.addf(p, "%s is listed twice", s)
		}
	}
	for _, s := range names {
		if !slices.Contains(m.Precedence, s) {
			m.Precedence = append(m.Precedence, s)
		}
	}
	c.readMapping(d, names)
}

// readMapping reads merge.mapping_file; its problems are reported at their
// line and column in that file.
func (c *Config) readMapping(d *document, sources []string) {
	m := c.Merge
	if m.MappingFile == "" {
		return
	}
	f, err := os.Open(m.MappingFile)
	if err != nil {
		d.addf("merge.mapping_file", "cannot read the mapping file: %v", errors.Unwrap(err))
		return
	}
	defer f.Close()
	m.mapping, err = merge.ParseMapping(f, sources)
	var me *merge.MappingError
	switch {
	case errors.As(err, &me):
		d.errs = append(d.errs, &Error{File: m.MappingFile, Line: me.Line, Column: me.Column, Msg: me.Msg})
	case err != nil:
		d.addf("merge.mapping_file", "%v", err)
	}
}
