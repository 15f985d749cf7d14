package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/examples"
)

// cmdDemo runs the whole flow on the bundled sample: embedded Redis, the
// example rules, an outbox instead of SendGrid and Slack. With --serve it
// then keeps the store and workers up and serves the dashboard on
// loopback until SIGINT or SIGTERM (ctx).
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [--dir DIR] [--now TIME] [--passes N] [--serve [--listen ADDR]]", stderr)
	dir := fs.String("dir", "", "folder for the demo's config, sample and outbox (default: a new temporary folder, kept)")
	nowFlag := fs.String("now", examples.SampleAsOf.Format(time.RFC3339), "evaluation time (RFC 3339); the sample is dated relative to its default")
	passes := fs.Int("passes", 1, "evaluation passes to run, each at the next tick of evaluate.schedule: later passes send what limits.per_pass deferred")
	serve := fs.Bool("serve", false, "after the passes, keep the demo's store up and serve the dashboard until Ctrl-C")
	listen := fs.String("listen", "127.0.0.1:8080", "with --serve: loopback address to serve the dashboard on (port 0 picks a free one)")
	logger := logFlags(fs, "error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *passes < 1 {
		fmt.Fprintf(stderr, "crmsync demo: --passes: want 1 or more, got %d\n", *passes)
		return errUsage
	}
	if err := checkLoopback(*listen); err != nil {
		fmt.Fprintf(stderr, "crmsync demo: --listen: %v\n", err)
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
	if _, err = a.Demo(ctx, app.DemoOptions{Now: now, Passes: *passes}, stdout); err != nil || !*serve {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(stdout, "\nDashboard: http://%s/portfolio — Ctrl-C to stop\n", ln.Addr())
	return a.ServeDashboard(ctx, ln)
}

// checkLoopback refuses a listen address off loopback: the demo has no
// sign-in, and the dashboard then answers on loopback only.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q is not a loopback address: the demo has no sign-in, so its dashboard is served on loopback only (127.0.0.1:8080)", addr)
	}
	return nil
}
