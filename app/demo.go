package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/locale"
	"github.com/crmsync/crmsync/notify/outbox"
	"github.com/crmsync/crmsync/workers"
)

// PrepareDemo writes the demo's config, the example rules and the bundled
// sample portfolio into dir and returns the config's path. The demo then
// runs through the same config loader as any user's setup.
func PrepareDemo(dir string) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "sample"), 0o755); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	files := map[string][]byte{"crmsync.yaml": examples.DemoConfig, "rules.yaml": examples.Rules}
	err := fs.WalkDir(examples.Sample, "sample", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(examples.Sample, path)
		files[path] = b
		return err
	})
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", fmt.Errorf("demo: %w", err)
		}
	}
	return filepath.Join(dir, "crmsync.yaml"), nil
}

// DemoOptions say what the demo runs.
type DemoOptions struct {
	Now time.Time // the first pass's evaluation time
	// Passes is the number of evaluation passes (default 1): the first at
	// Now, each next one at the following tick of evaluate.schedule, so
	// that a later pass sends what limits.per_pass deferred.
	Passes int
}

// DemoResult is what one demo run did.
type DemoResult struct {
	Sync   map[string]workers.SyncStats
	Passes []DemoPass
}

// DemoPass is one pass of the demo.
type DemoPass struct {
	*PassResult
	Written map[notify.Channel][]notify.Message // messages written to the outbox by this pass
}

// Demo syncs every source through the queue, runs the evaluation passes
// opts asks for, waits for each pass's messages to be delivered to the
// outbox and prints a summary. Running it again on the same store sends
// nothing new but what earlier passes deferred: the cooldowns and the
// ledger hold.
func (a *App) Demo(ctx context.Context, opts DemoOptions, w io.Writer) (*DemoResult, error) {
	a.syncs.reset()
	for _, s := range a.Config.Sources {
		if err := a.EnqueueSync(ctx, s.Name, false); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	if err := a.WaitIdle(ctx); err != nil {
		return nil, fmt.Errorf("demo: sync: %w", err)
	}
	res := &DemoResult{Sync: a.syncs.snapshot()}
	now := opts.Now
	for i := range max(opts.Passes, 1) {
		if i > 0 {
			next, err := NextPass(a.Config.Evaluate.Schedule, a.Config.Location(), now)
			if err != nil {
				return nil, fmt.Errorf("demo: %w", err)
			}
			now = next
		}
		p, err := a.demoPass(ctx, now)
		if err != nil {
			return nil, err
		}
		res.Passes = append(res.Passes, p)
	}
	return res, a.printSummary(ctx, w, res)
}

// ServeDashboard serves the app's HTTP handler (the dashboard, /healthz,
// /metrics) on ln until ctx is done, then shuts it down, letting requests
// in flight finish: demo --serve, after the demo's passes, keeps its
// store and workers up for it.
func (a *App) ServeDashboard(ctx context.Context, ln net.Listener) error {
	srv := a.httpServer()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("http: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: %w", err)
	}
	return nil
}

// demoPass runs one pass of the demo at now.
func (a *App) demoPass(ctx context.Context, now time.Time) (DemoPass, error) {
	before, err := a.outboxCounts()
	if err != nil {
		return DemoPass{}, err
	}
	pass := fmt.Sprintf("demo-%s-%x", now.UTC().Format("20060102"), time.Now().UnixMilli())
	pr, err := a.RunPass(ctx, pass, now)
	if err != nil {
		return DemoPass{}, fmt.Errorf("demo: %w", err)
	}
	written, err := a.outboxSince(before)
	return DemoPass{PassResult: pr, Written: written}, err
}

func (a *App) outboxCounts() (map[notify.Channel]int, error) {
	out := map[notify.Channel]int{}
	for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
		msgs, err := readOutbox(a.Outbox.Path(ch))
		if err != nil {
			return nil, err
		}
		out[ch] = len(msgs)
	}
	return out, nil
}

func (a *App) outboxSince(before map[notify.Channel]int) (map[notify.Channel][]notify.Message, error) {
	out := map[notify.Channel][]notify.Message{}
	for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
		msgs, err := readOutbox(a.Outbox.Path(ch))
		if err != nil {
			return nil, err
		}
		out[ch] = msgs[before[ch]:]
	}
	return out, nil
}

func readOutbox(path string) ([]notify.Message, error) {
	msgs, err := outbox.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return msgs, err
}

func (a *App) printSummary(ctx context.Context, w io.Writer, res *DemoResult) error {
	p := &printer{w: w}
	redis := describeRedis(&a.Config.Redis)
	loc := a.Config.Location()
	passes := "1 evaluation pass"
	if len(res.Passes) != 1 {
		passes = fmt.Sprintf("%d evaluation passes", len(res.Passes))
	}
	p.f("crmsync demo: %s over the bundled sample (%s)\n\n", passes, redis)
	if err := a.printSync(ctx, p, res.Sync); err != nil {
		return err
	}
	opts := a.ReportOptions()
	opts.Location = loc
	for i, dp := range res.Passes {
		opts.Portfolio = i == 0
		if err := PrintReport(p, dp.PassResult, opts); err != nil {
			return err
		}
		p.f("\n")
	}
	if len(res.Passes) > 1 {
		printPassTable(p, res.Passes, loc)
	}
	printWritten(p, a, res.Passes)
	return p.err
}

// RuleNames returns the names of the configured rules, in order.
func (a *App) RuleNames() []string {
	return a.Rules.Names()
}

func (a *App) printSync(ctx context.Context, p *printer, stats map[string]workers.SyncStats) error {
	p.f("Sync\n")
	for _, s := range a.Config.Sources {
		st := stats[s.Name]
		p.f("  %s (%s): %d accounts, %d contacts, %d deals, %d owners stored in %d pages\n",
			s.Name, s.Type, st.Accounts, st.Contacts, st.Deals, st.Owners, st.Pages)
		rejects, total, err := a.Store.Records.Rejects(ctx, s.Name, 10)
		if err != nil {
			return err
		}
		if total > 0 {
			p.f("  %d records set aside, the rest kept:\n", total)
			for _, r := range rejects {
				p.f("    %s (%s): %s\n", r.Where, r.Entity, r.Reason)
			}
		}
	}
	p.f("\n")
	return nil
}

func printPortfolio(p *printer, r *workers.Report, l locale.Locale, currency string) {
	money := func(v float64) string { return l.Money(v, currency) }
	p.f("Portfolio: %d accounts, revenue over the last 12 months %s\n", r.Accounts, money(r.Revenue))
	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  class\taccounts\tshare of accounts\trevenue 12m\tshare of revenue\t\n")
	for _, c := range []string{"A", "B", "C"} {
		cs := r.ABC[c]
		if cs == nil {
			cs = &workers.ClassStats{}
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t\n", c, cs.Accounts, pct(float64(cs.Accounts), float64(r.Accounts)), money(cs.Revenue), pct(cs.RevenueShare, 1))
	}
	tw.Flush()
}

// printPassTable compares the passes: what each flagged, delivered and
// deferred, and how many Slack messages the busiest rep and the average
// rep got.
func printPassTable(p *printer, passes []DemoPass, loc *time.Location) {
	p.f("Passes compared\n")
	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  pass\tat\tflagged\temails\tSlack\temails deferred\tSlack per rep (max)\tSlack per rep (avg)\t\n")
	for i, dp := range passes {
		r, d := dp.Report, dp.Delivery
		flagged := 0
		for _, n := range r.Flags {
			flagged += n
		}
		most, avg, _ := perRep(dp.PerRep)
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t\n", i+1, r.Now.In(loc).Format("Mon 01-02 15:04"), flagged,
			d.Total(notify.Email, OutcomeDelivered), d.Total(notify.Slack, OutcomeDelivered), r.Deferred[notify.Email], most, avg)
	}
	tw.Flush()
	p.f("\n")
}

func printWritten(p *printer, a *App, passes []DemoPass) {
	written := map[notify.Channel]int{}
	for _, dp := range passes {
		for ch, msgs := range dp.Written {
			written[ch] += len(msgs)
		}
	}
	p.f("Messages written to the outbox (nothing was sent):\n")
	for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
		p.f("  %-5s %5d new  %s\n", ch, written[ch], a.Outbox.Path(ch))
	}
	if written[notify.Email]+written[notify.Slack] == 0 {
		p.f("  nothing new: every flagged account is in its cooldown and every message is in the ledger\n")
	}
}

// printer writes formatted lines and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.w.Write(b)
	p.err = err
	return n, err
}

func (p *printer) f(format string, args ...any) { fmt.Fprintf(p, format, args...) }

func pct(part, whole float64) string {
	if whole == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*part/whole)
}
