package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
)

const sourcesUsage = "usage: crmsync sources describe -c FILE [--format text|json] NAME\n"

// cmdSources runs the sources subcommands.
func cmdSources(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "describe" {
		fmt.Fprint(stderr, sourcesUsage)
		return errUsage
	}
	return cmdSourcesDescribe(ctx, args[1:], stdout, stderr)
}

// cmdSourcesDescribe prints the boards of a source with their columns'
// ids, types and titles, and the role the config maps each to, so that
// the column mapping can be written (monday sources).
func cmdSourcesDescribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sources describe", "sources describe -c FILE [--format text|json] NAME", stderr)
	path := configFlag(fs)
	format := fs.String("format", "text", "output format: text or json")
	logger := logFlags(fs, "warn")
	name := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
		fs.Parse(fs.Args()[1:]) // flags may follow the name too
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "crmsync sources describe: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	case name == "":
		fmt.Fprint(stderr, "crmsync sources describe: the source NAME is required\n")
		fs.Usage()
		return errUsage
	case *format != "text" && *format != "json":
		fmt.Fprintf(stderr, "crmsync sources describe: --format: want text or json, got %q\n", *format)
		return errUsage
	}
	if err := requireConfig(fs, *path); err != nil {
		return err
	}
	log, err := logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync sources describe: %v\n", err)
		return errUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	d, err := app.DescribeSource(ctx, cfg, name, log)
	if err != nil {
		return err
	}
	if *format == "json" {
		return d.WriteJSON(stdout)
	}
	return d.WriteText(stdout)
}
