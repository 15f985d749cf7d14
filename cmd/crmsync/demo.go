package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/examples"
)

// cmdDemo runs the whole flow on the bundled sample: embedded Redis, the
// example rules, an outbox instead of SendGrid and Slack.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [--dir DIR] [--now TIME] [--passes N]", stderr)
	dir := fs.String("dir", "", "folder for the demo's config, sample and outbox (default: a new temporary folder, kept)")
	nowFlag := fs.String("now", examples.SampleAsOf.Format(time.RFC3339), "evaluation time (RFC 3339); the sample is dated relative to its default")
	passes := fs.Int("passes", 1, "evaluation passes to run, each at the next tick of evaluate.schedule: later passes send what limits.per_pass deferred")
	logger := logFlags(fs, "error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *passes < 1 {
		fmt.Fprintf(stderr, "crmsync demo: --passes: want 1 or more, got %d\n", *passes)
		return errUsage
	}
	now, err := time.Parse(time.RFC3339, *nowFlag)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync demo: --now: want RFC 3339 (2026-11-20T09:00:00Z), got %q\n", *nowFlag)
		return errUsage
	}
	log, err := logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync demo: %v\n", err)
		return errUsage
	}
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", "crmsync-demo-"); err != nil {
			return err
		}
	}
	path, err := app.PrepareDemo(*dir)
	if err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log, TaskCheckInterval: 20 * time.Millisecond})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Start(); err != nil {
		return err
	}
	_, err = a.Demo(ctx, app.DemoOptions{Now: now, Passes: *passes}, stdout)
	return err
}
