package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/workers"
)

// syncRetry is how often evaluate tries again to sync a source that
// another process is syncing.
const syncRetry = 2 * time.Second

// cmdEvaluate runs one evaluation pass now, on purpose (cron, CI): it
// syncs every source, runs the pass through the queue like a scheduled
// one, delivers its messages with workers of its own, waits for them and
// prints the pass report. Exit 1 when a sync or the pass failed, or a
// message failed, has an unknown outcome, or is still queued when
// --timeout ends.
func cmdEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("evaluate", "evaluate -c FILE [--now TIME] [--dry-run] [--no-sync] [--timeout 10m]", stderr)
	path := configFlag(fs)
	nowFlag := fs.String("now", "", "evaluation time (RFC 3339; default: now)")
	dryRun := fs.Bool("dry-run", false, "send nothing and record nothing: print what the pass would send")
	noSync := fs.Bool("no-sync", false, "evaluate the records earlier syncs stored, without syncing first")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long (exit 1); messages still queued go with the next run or evaluate")
	cfg, log, err := loadConfig(fs, args, path, logFlags(fs, "warn"), stderr)
	if err != nil {
		return err
	}
	now := time.Now()
	if *nowFlag != "" {
		if now, err = time.Parse(time.RFC3339, *nowFlag); err != nil {
			fmt.Fprintf(stderr, "crmsync evaluate: --now: want RFC 3339 (2026-11-20T09:00:00Z), got %q\n", *nowFlag)
			return errUsage
		}
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "crmsync evaluate: --timeout: want a positive duration, got %s\n", *timeout)
		return errUsage
	}
	ctx, cancel := context.WithTimeoutCause(ctx, *timeout, fmt.Errorf("--timeout %s reached", *timeout))
	defer cancel()
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Store.Embedded() {
		fmt.Fprintln(stderr, "crmsync evaluate: no redis.url configured: records, cooldowns and the ledger are kept in memory and lost at exit,"+
			" so the next evaluate (from cron, say) sends the same messages again; set redis.url")
	}
	if *dryRun {
		return evaluateDry(ctx, a, cfg, now, *noSync, stdout, stderr)
	}
	// The workers deliver this pass's messages, and any left due by
	// earlier runs, while evaluate waits.
	if err := a.Start(); err != nil {
		return err
	}
	syncFailed := false
	if !*noSync {
		if syncFailed, err = syncSources(ctx, a, cfg, stdout, stderr); err != nil {
			return err
		}
	}
	if err := requireReady(ctx, a, stderr); err != nil {
		return err
	}
	res, err := a.RunPass(ctx, app.ManualPass(time.Now()), now)
	if res != nil {
		if perr := app.PrintReport(stdout, res, a.ReportOptions()); perr != nil {
			return perr
		}
		if a.Outbox != nil {
			fmt.Fprintf(stdout, "Outbox mode: messages were written to %s and %s, nothing was sent.\n", a.Outbox.Path(notify.Email), a.Outbox.Path(notify.Slack))
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "crmsync evaluate: %v\n", err)
		return errReported
	}
	if syncFailed || !passSucceeded(res) {
		return errReported
	}
	return nil
}

// evaluateDry is evaluate --dry-run: the pass's report as a preview
// computes it, nothing sent, nothing recorded.
func evaluateDry(ctx context.Context, a *app.App, cfg *config.Config, now time.Time, noSync bool, stdout, stderr io.Writer) error {
	failed := false
	if !noSync {
		var err error
		if failed, err = syncSources(ctx, a, cfg, stdout, stderr); err != nil {
			return err
		}
	}
	res, err := a.DryRun(ctx, now)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Dry run: nothing is sent, nothing is recorded, no cooldown starts.")
	if err := app.PrintReport(stdout, res, a.ReportOptions()); err != nil {
		return err
	}
	if failed {
		return errReported
	}
	return nil
}

// passSucceeded reports whether every message of the pass was sent (or
// written), deferred, or held back on purpose: none failed, none has an
// unknown outcome, none is still queued.
func passSucceeded(res *app.PassResult) bool {
	d := res.Delivery
	return d.Total("", app.OutcomeFailed)+d.Total("", app.OutcomeUnknown)+d.Total("", app.OutcomePending) == 0
}

// syncSources syncs every source in this process, one after the other,
// printing a line each; a source another process is syncing is waited
// for. It reports whether a sync failed (the pass then uses what the
// source stored before); the error is for what stops evaluate.
func syncSources(ctx context.Context, a *app.App, cfg *config.Config, stdout, stderr io.Writer) (failed bool, err error) {
	for _, s := range cfg.Sources {
		start := time.Now()
		st, err := syncOne(ctx, a, s.Name)
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "sync %s: %s\n", s.Name, summary(st, time.Since(start)))
		case ctx.Err() != nil:
			return true, fmt.Errorf("sync %s: %w", s.Name, context.Cause(ctx))
		default:
			if _, stopped := connectors.AsStop(err); stopped {
				fmt.Fprintf(stdout, "sync %s: %s\n", s.Name, summary(st, time.Since(start)))
			}
			fmt.Fprintf(stderr, "crmsync evaluate: %v; the pass uses what the source stored before\n", err)
			failed = true
		}
	}
	return failed, nil
}

// syncOne syncs source, waiting while another process syncs it.
func syncOne(ctx context.Context, a *app.App, source string) (workers.SyncStats, error) {
	for {
		st, err := a.Handlers.Sync.Sync(ctx, source, false)
		if !errors.Is(err, workers.ErrSyncRunning) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, err
		case <-time.After(syncRetry):
		}
	}
}

// requireReady refuses to run a pass while a source has never completed
// a sync: the pass would wait for it until --timeout.
func requireReady(ctx context.Context, a *app.App, stderr io.Writer) error {
	unready, err := a.Unready(ctx)
	if err != nil || len(unready) == 0 {
		return err
	}
	fmt.Fprintf(stderr, "crmsync evaluate: no pass: %s never completed a sync; passes wait for every source's first sync (crmsync sync -c FILE)\n",
		strings.Join(unready, ", "))
	return errReported
}
