package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/notify"
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

// DemoResult is what one demo run did.
type DemoResult struct {
	Sync    map[string]workers.SyncStats
	Report  *workers.Report
	Written map[notify.Channel][]notify.Message // messages written to the outbox by this run
}

// Demo syncs every source through the queue, runs one evaluation pass at
// now, waits for every message to be delivered to the outbox and prints a
// summary. Running it again on the same store sends nothing new: the
// cooldowns and the ledger hold.
func (a *App) Demo(ctx context.Context, now time.Time, w io.Writer) (*DemoResult, error) {
	before, err := a.outboxCounts()
	if err != nil {
		return nil, err
	}
	a.syncs.reset()
	for _, s := range a.Config.Sources {
		if err := a.EnqueueSync(ctx, s.Name, false); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	if err := a.WaitIdle(ctx); err != nil {
		return nil, fmt.Errorf("demo: sync: %w", err)
	}
	pass := fmt.Sprintf("demo-%s-%x", now.UTC().Format("20060102"), time.Now().UnixMilli())
	if err := a.EnqueueEvaluate(ctx, pass, now); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := a.WaitIdle(ctx); err != nil {
		return nil, fmt.Errorf("demo: evaluate: %w", err)
	}
	res := &DemoResult{Sync: a.syncs.snapshot()}
	if res.Report, err = a.report(ctx, pass); err != nil {
		return nil, err
	}
	if res.Written, err = a.outboxSince(before); err != nil {
		return nil, err
	}
	return res, a.printSummary(ctx, w, now, res)
}

func (a *App) report(ctx context.Context, pass string) (*workers.Report, error) {
	b, err := a.Store.Passes.Report(ctx, pass)
	if err != nil {
		return nil, fmt.Errorf("demo: report of pass %s: %w", pass, err)
	}
	var r workers.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("demo: report of pass %s: %w", pass, err)
	}
	return &r, nil
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

func (a *App) printSummary(ctx context.Context, w io.Writer, now time.Time, res *DemoResult) error {
	p := &printer{w: w}
	redis := "Redis at " + a.Config.Redis.URL.String()
	if a.Store.Embedded() {
		redis = "embedded in-memory Redis"
	}
	p.f("crmsync demo: portfolio evaluated as of %s (%s)\n\n", now.Format("2006-01-02 15:04 MST"), redis)
	if err := a.printSync(ctx, p, res.Sync); err != nil {
		return err
	}
	printPortfolio(p, res.Report)
	printRules(p, a, res)
	printWritten(p, a, res.Written)
	return p.err
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

func printPortfolio(p *printer, r *workers.Report) {
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
	p.f("\n")
}

func printRules(p *printer, a *App, res *DemoResult) {
	p.f("Rules (pass %s, %s)\n", res.Report.Pass, res.Report.Duration.Round(time.Millisecond))
	written := map[string]map[notify.Channel]int{}
	for ch, msgs := range res.Written {
		for _, m := range msgs {
			if written[m.Rule] == nil {
				written[m.Rule] = map[notify.Channel]int{}
			}
			written[m.Rule][ch]++
		}
	}
	for _, r := range a.Rules.Rules {
		p.f("  %-24s %5d flagged  -> %d emails, %d Slack messages\n", r.Name, res.Report.Flags[r.Name], written[r.Name][notify.Email], written[r.Name][notify.Slack])
		if held := heldBack(res.Report.Skipped[r.Name]); held != "" {
			p.f("  %-24s held back: %s\n", "", held)
		}
	}
	p.f("\n")
}

func heldBack(reasons map[string]int) string {
	var parts []string
	for reason, n := range reasons {
		parts = append(parts, fmt.Sprintf("%d %s", n, strings.ReplaceAll(reason, "_", " ")))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func printWritten(p *printer, a *App, written map[notify.Channel][]notify.Message) {
	p.f("Messages written to the outbox (nothing was sent):\n")
	for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
		p.f("  %-5s %5d new  %s\n", ch, len(written[ch]), a.Outbox.Path(ch))
	}
	if len(written[notify.Email])+len(written[notify.Slack]) == 0 {
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

func money(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
