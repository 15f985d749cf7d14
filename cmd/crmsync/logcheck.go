package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
)

// startLogger builds the logger of --log-level and --log-format once the
// flags are parsed; a bad value is a usage error (exit 2). Commands that
// log nothing of their own call it too, so that every command takes
// the same flags and refuses the same mistakes.
func startLogger(fs *flag.FlagSet, logger func(io.Writer) (*slog.Logger, error), stderr io.Writer) (*slog.Logger, error) {
	log, err := logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync %s: %v\n", fs.Name(), err)
		return nil, errUsage
	}
	return log, nil
}
