package main

import (
	"context"
	"io"

	"github.com/crmsync/crmsync/app"
)

// cmdRun runs workers, scheduler and HTTP server until SIGINT or SIGTERM.
func cmdRun(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("run", "run -c FILE [--evaluate-now]", stderr)
	path := configFlag(fs)
	now := fs.Bool("evaluate-now", false, "run one evaluation pass at start, once the sources are synced, besides the scheduled ones")
	cfg, log, err := loadConfig(fs, args, path, logFlags(fs, "info"), stderr)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.RunWith(ctx, app.RunOptions{EvaluateNow: *now})
}
