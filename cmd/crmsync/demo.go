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
	fs := newFlags("demo", "demo [--dir DIR] [--now TIME]", stderr)
	dir := fs.String("dir", "", "folder for the demo's config, sample and outbox (default: a new temporary folder, kept)")
	nowFlag := fs.String("now", examples.SampleAsOf.Format(time.RFC3339), "evaluation time (RFC 3339); the sample is dated relative to its default")
	logger := logFlags(fs, "error")
	if err := parse(fs, args); err != nil {
		return err
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
	_, err = a.Demo(ctx, now, stdout)
	return err
}
