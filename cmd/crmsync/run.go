package main

import (
	"context"
	"fmt"
	"io"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
)

// cmdRun runs workers, scheduler and HTTP server until SIGINT or SIGTERM.
func cmdRun(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("run", "run -c FILE", stderr)
	path := configFlag(fs)
	logger := logFlags(fs, "info")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireConfig(fs, *path); err != nil {
		return err
	}
	log, err := logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync run: %v\n", err)
		return errUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx)
}
