package ruletest

import (
	"fmt"
	"io"
	"strings"
)

// report writes the PASS or FAIL line of a test and, under a FAIL, what
// went wrong.
func report(w io.Writer, file string, tc *testCase, res result) {
	if !res.failed() {
		fmt.Fprintf(w, "PASS %s: %s\n", file, tc.name)
		return
	}
	fmt.Fprintf(w, "FAIL %s: %s\n", file, tc.name)
	for _, d := range res.rules {
		reportRule(w, d)
	}
	for _, d := range res.features {
		fmt.Fprintf(w, "  features of %s:\n", d.account)
		for _, l := range d.lines {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}

// reportRule writes how a rule's flags differ from the expected ones,
// with the notes aligned, then its run-time errors.
func reportRule(w io.Writer, d ruleDiff) {
	if d.rule == "" {
		fmt.Fprintln(w, "  evaluation errors:")
	} else {
		fmt.Fprintf(w, "  rule %s:\n", d.rule)
	}
	width := 0
	for _, l := range d.lines {
		width = max(width, len(l.label)+len(l.account)+2)
	}
	for _, l := range d.lines {
		head := l.label + ": " + l.account
		fmt.Fprintf(w, "    %-*s  (%s)\n", width, head, l.note)
	}
	for _, e := range d.errs {
		msg := strings.ReplaceAll(strings.TrimRight(e.msg, "\n"), "\n", "\n      ")
		fmt.Fprintf(w, "    error on %s: %s\n", e.account, msg)
	}
}
