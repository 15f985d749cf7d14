package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/insights"
)

// cmdReport prints the monthly review of the portfolio: its figures at
// the month's end, the month against the one before, the accounts
// flagged now by owner, and each rule's outcomes.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "report -c FILE [--month 2026-11] [--format table|json|csv] [--owner O] [--source S] [--segment SEG] [--class A|B|C]", stderr)
	path := configFlag(fs)
	month := fs.String("month", "", "month to review, YYYY-MM (default: the last complete month, in the config's timezone)")
	format := fs.String("format", app.FormatTable, "output format: table, json or csv")
	var f insights.Filter
	fs.StringVar(&f.Owner, "owner", "", "only the accounts of this owner (id or email)")
	fs.StringVar(&f.Source, "source", "", "only the accounts from this source")
	fs.StringVar(&f.Segment, "segment", "", "only the accounts of this RFM segment (champions, at_risk, ...)")
	fs.StringVar(&f.Class, "class", "", "only the accounts of this ABC class (classes stay portfolio-wide)")
	cfg, log, err := loadConfig(fs, args, path, logFlags(fs, "error"), stderr)
	if err != nil {
		return err
	}
	opts := app.MonthlyOptions{Filter: f}
	if *month != "" {
		if opts.Month, err = time.ParseInLocation("2006-01", *month, cfg.Location()); err != nil {
			fmt.Fprintf(stderr, "crmsync report: --month: want YYYY-MM (2026-11), got %q\n", *month)
			return errUsage
		}
	}
	if *format != app.FormatTable && *format != app.FormatJSON && *format != app.FormatCSV {
		fmt.Fprintf(stderr, "crmsync report: --format: want table, json or csv, got %q\n", *format)
		return errUsage
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Store.Embedded() {
		fmt.Fprintln(stderr, "crmsync report: no redis.url configured: the in-memory store is empty")
	}
	m, err := a.Monthly(ctx, opts)
	if errors.Is(err, app.ErrMonthNotOver) {
		fmt.Fprintf(stderr, "crmsync report: %v\n", err)
		return errUsage
	}
	if err != nil {
		return err
	}
	return app.PrintMonthly(stdout, m, *format, a.ReportOptions())
}
