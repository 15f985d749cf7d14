package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/rules/ruletest"
)

// cmdRules dispatches `crmsync rules check|test`.
func cmdRules(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, "usage: crmsync rules check FILE...\n       crmsync rules test FILE...\n")
		return errUsage
	}
	switch args[0] {
	case "check":
		return cmdRulesCheck(args[1:], stdout, stderr)
	case "test":
		return cmdRulesTest(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "crmsync rules: unknown subcommand %q (want check or test)\n", args[0])
	return errUsage
}

// errReported means the command already printed its problems.
var errReported = errors.New("problems reported")

// cmdRulesCheck lints rule files: every problem, each with its position,
// the offending line and a caret under the column.
func cmdRulesCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rules check", "rules check FILE...", stderr)
	logger := logFlags(fs, "error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if _, err := startLogger(fs, logger, stderr); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		fmt.Fprintln(stderr, "crmsync rules check: name at least one rule file")
		fs.Usage()
		return errUsage
	}
	rs, err := rules.LoadFiles(files...)
	if err != nil {
		printRuleErrors(stderr, err)
		return errReported
	}
	fmt.Fprintf(stdout, "OK: %d rules in %d files\n", len(rs.Rules), len(files))
	return nil
}

// cmdRulesTest runs rule unit tests: fixture accounts, an evaluation time
// and the expected flags per rule.
func cmdRulesTest(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rules test", "rules test FILE...", stderr)
	logger := logFlags(fs, "error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if _, err := startLogger(fs, logger, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "crmsync rules test: name at least one test file")
		fs.Usage()
		return errUsage
	}
	failed, err := ruletest.Run(stdout, fs.Args()...)
	if err != nil {
		printRuleErrors(stderr, err)
	}
	if err != nil || failed > 0 {
		return errReported
	}
	return nil
}

// printRuleErrors prints each positioned error with its source line and a
// caret, and any other error as it is.
func printRuleErrors(w io.Writer, err error) {
	list := rules.Errors(err)
	if len(list) == 0 {
		fmt.Fprintln(w, err)
		return
	}
	sources := map[string][]string{}
	for _, e := range list {
		fmt.Fprintln(w, e)
		if e.Line == 0 {
			continue
		}
		lines, ok := sources[e.File]
		if !ok {
			b, _ := os.ReadFile(e.File)
			lines = strings.Split(string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))), "\n")
			sources[e.File] = lines
		}
		if e.Line <= len(lines) {
			fmt.Fprintf(w, "  %s\n  %s^\n", expandTabs(lines[e.Line-1]), caretPad(lines[e.Line-1], e.Col))
		}
	}
	fmt.Fprintf(w, "%d problems\n", len(list))
}

// caretPad is the blank space that puts a caret under column col (1-based,
// in characters) of line.
func caretPad(line string, col int) string {
	var b strings.Builder
	for i, r := range line {
		if utf8.RuneCountInString(line[:i]) >= col-1 {
			break
		}
		if r == '\t' {
			b.WriteString("    ")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func expandTabs(s string) string { return strings.ReplaceAll(s, "\t", "    ") }
