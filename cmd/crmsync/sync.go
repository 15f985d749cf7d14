package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
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
	for _, name := range names {
		start := time.Now()
		st, err := a.Handlers.Sync.Sync(ctx, name, *full)
		if err != nil {
			return err
		}
		if isTerminal(stdout) {
			fmt.Fprint(stdout, "\r\033[K") // clear the progress line
		}
		fmt.Fprintf(stdout, "%s: %d records in %d pages, %d set aside, %s\n", name, st.Records(), st.Pages, st.Rejects, time.Since(start).Round(time.Millisecond))
	}
	return nil
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

// progress reports each stored page: a line rewritten in place on a
// terminal, a structured log record otherwise.
func progress(w io.Writer, log interface {
	Info(msg string, args ...any)
}) func(string, workers.SyncStats) {
	if isTerminal(w) {
		return func(src string, st workers.SyncStats) {
			fmt.Fprintf(w, "\r%s: %d pages, %d records, %d set aside", src, st.Pages, st.Records(), st.Rejects)
		}
	}
	return func(src string, st workers.SyncStats) {
		log.Info("sync progress", "source", src, "pages", st.Pages, "records", st.Records(), "rejects", st.Rejects)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
