package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/workers"
)

// cmdSync syncs sources once, in this process, showing progress.
func cmdSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sync", "sync -c FILE [--source NAME] [--full]", stderr)
	path := configFlag(fs)
	source := fs.String("source", "", "sync only this source (default: every source)")
	full := fs.Bool("full", false, "forget the watermark and pull everything")
	cfg, log, err := loadConfig(fs, args, path, logFlags(fs, "info"), stderr)
	if err != nil {
		return err
	}
	names, err := sourceNames(cfg, *source)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync sync: %v\n", err)
		return errUsage
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Store.Embedded() {
		fmt.Fprintln(stderr, "crmsync sync: no redis.url configured: records go to an in-memory Redis and are lost on exit")
	}
	a.Handlers.Sync.Progress = progress(stdout, log)
	failed := false
	for _, name := range names {
		start := time.Now()
		st, err := a.Handlers.Sync.Sync(ctx, name, *full)
		if isTerminal(stdout) {
			fmt.Fprint(stdout, "\r\033[K") // clear the progress line
		}
		if stop, ok := connectors.AsStop(err); ok {
			fmt.Fprintf(stdout, "%s: %s\n", name, summary(st, time.Since(start)))
			fmt.Fprintf(stderr, "crmsync sync: %s %s; the next sync resumes where this one stopped\n", name, stop)
			failed = true
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s\n", name, summary(st, time.Since(start)))
	}
	if failed {
		return errReported
	}
	return nil
}

// summary is the closing line of one source's sync.
func summary(st workers.SyncStats, took time.Duration) string {
	s := fmt.Sprintf("%d records in %d pages, %d set aside, %d deleted", st.Records(), st.Pages, st.Rejects, st.Deleted+st.Swept)
	if st.Requests > 0 {
		s += fmt.Sprintf(", %d requests", st.Requests)
	}
	if st.Waits > 0 {
		s += fmt.Sprintf(", waited %s for rate limits and retries", st.Waited.Round(100*time.Millisecond))
	}
	return s + ", " + took.Round(time.Millisecond).String()
}

func sourceNames(cfg *config.Config, only string) ([]string, error) {
	var names []string
	for _, s := range cfg.Sources {
		if only == "" || s.Name == only {
			names = append(names, s.Name)
		}
	}
	if only != "" && len(names) == 0 {
		return nil, fmt.Errorf("--source: no source named %q in the config", only)
	}
	return names, nil
}

// progress reports a sync as it goes: a line rewritten in place on a
// terminal (at most 10 times a second, and at every wait), structured log
// records otherwise (every 5 seconds, and at every wait of a second or
// more).
func progress(w io.Writer, log *slog.Logger) func(string, workers.SyncStats) {
	term := isTerminal(w)
	every := 5 * time.Second
	if term {
		every = 100 * time.Millisecond
	}
	var last time.Time
	return func(src string, st workers.SyncStats) {
		now := time.Now()
		waiting := st.WaitingFor != ""
		if now.Sub(last) < every && !(waiting && (term || st.WaitUntil.Sub(now) >= time.Second)) {
			return
		}
		last = now
		if term {
			fmt.Fprintf(w, "\r\033[K%s", progressLine(src, st, now))
			return
		}
		args := []any{"source", src, "records", st.Records(), "pages", st.Pages, "rejects", st.Rejects,
			"deleted", st.Deleted, "requests", st.Requests, "waits", st.Waits, "waited", st.Waited.Round(time.Millisecond)}
		if eta, ok := st.ETA(now); ok {
			args = append(args, "eta", eta.Round(time.Second))
		}
		if waiting {
			args = append(args, "waiting_for", st.WaitingFor, "wait", st.WaitUntil.Sub(now).Round(time.Millisecond))
		}
		log.Info("sync progress", args...)
	}
}

// progressLine is the terminal form of a sync's progress.
func progressLine(src string, st workers.SyncStats, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d", src, st.Records())
	if st.Expected > 0 {
		fmt.Fprintf(&b, " of ~%d", st.Expected)
	}
	fmt.Fprintf(&b, " records, %d pages", st.Pages)
	if st.Rejects > 0 {
		fmt.Fprintf(&b, ", %d set aside", st.Rejects)
	}
	if st.Deleted > 0 {
		fmt.Fprintf(&b, ", %d deleted", st.Deleted)
	}
	if st.Requests > 0 {
		fmt.Fprintf(&b, ", %d requests", st.Requests)
	}
	if st.Waits > 0 {
		fmt.Fprintf(&b, ", waited %s in %d waits", st.Waited.Round(100*time.Millisecond), st.Waits)
	}
	if eta, ok := st.ETA(now); ok {
		fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
	}
	if st.WaitingFor != "" {
		fmt.Fprintf(&b, " (waiting %s: %s)", st.WaitUntil.Sub(now).Round(100*time.Millisecond), st.WaitingFor)
	}
	return b.String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
