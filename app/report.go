package app

import (
	"cmp"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/locale"
	"github.com/crmsync/crmsync/workers"
)

// PassResult is one evaluation pass as its report prints it: the report
// the pass wrote, what became of its messages, and how many Slack messages
// each rep got.
type PassResult struct {
	Report *workers.Report
	// Delivery is what became of the pass's messages; nil for a dry run,
	// which delivers nothing: the report's enqueued counts are what would
	// be sent.
	Delivery *Delivery
	// PerRep counts the Slack messages (nudges and digests) each rep got
	// in the pass, by address; for a dry run, would get.
	PerRep map[string]int
}

// Outcome is what became of one message of a pass.
type Outcome string

// Outcomes of a pass's messages.
const (
	OutcomeDelivered Outcome = "delivered" // sent, or written to the outbox
	OutcomeQuiet     Outcome = "quiet"     // scheduled for the end of the recipient's quiet hours
	OutcomePending   Outcome = "pending"   // still queued, or waiting for a retry
	OutcomeFailed    Outcome = "failed"    // refused for good, or every retry failed
	OutcomeUnknown   Outcome = "unknown"   // may have gone out: crmsync history says how to resend it
	// OutcomeHeld: held back at send time (the address unsubscribed or
	// reached its frequency cap since the pass planned the message).
	OutcomeHeld Outcome = "held"
)

// Delivery is what became of the messages of a pass.
type Delivery struct {
	// Writes is set when the channels write to the outbox: delivered means
	// written, nothing was sent.
	Writes bool
	// Counts are the messages by rule ("digest" for digests), channel and
	// outcome.
	Counts map[string]map[notify.Channel]map[Outcome]int
	// Quiet counts the emails scheduled for the end of quiet hours, by the
	// time they go.
	Quiet map[time.Time]int
}

// Total returns the messages of channel ch (every channel when ch is
// empty) with outcome o.
func (d *Delivery) Total(ch notify.Channel, o Outcome) int {
	n := 0
	for _, byCh := range d.Counts {
		for c, byOutcome := range byCh {
			if ch == "" || c == ch {
				n += byOutcome[o]
			}
		}
	}
	return n
}

func (d *Delivery) add(rule string, ch notify.Channel, o Outcome, n int) {
	if n <= 0 {
		return
	}
	if d.Counts == nil {
		d.Counts = map[string]map[notify.Channel]map[Outcome]int{}
	}
	if d.Counts[rule] == nil {
		d.Counts[rule] = map[notify.Channel]map[Outcome]int{}
	}
	if d.Counts[rule][ch] == nil {
		d.Counts[rule][ch] = map[Outcome]int{}
	}
	d.Counts[rule][ch][o] += n
}

// Verb is what delivered means: "written" (outbox) or "sent".
func (d *Delivery) Verb() string {
	if d.Writes {
		return "written"
	}
	return "sent"
}

// ReportOptions say how PrintReport prints a pass.
type ReportOptions struct {
	// Rules are the configured rules, in order: each gets a line, flagged
	// or not.
	Rules []string
	// Location is the time zone times are printed in (default UTC).
	Location *time.Location
	// Portfolio adds the accounts and revenue by ABC class.
	Portfolio bool
	// Locale and Currency format the portfolio's amounts (locale, currency).
	Locale, Currency string
}

// ReportOptions are the options a pass report of this app is printed
// with: its rules, time zone, locale and currency.
func (a *App) ReportOptions() ReportOptions {
	return ReportOptions{Rules: a.RuleNames(), Location: a.Config.Location(), Locale: a.Config.Locale, Currency: a.Config.Currency}
}

// PrintReport prints a pass: per rule the accounts flagged, the messages
// sent (or written, or that a dry run would send) per channel, those
// deferred to later passes and those held back, by reason; then the
// totals, the messages of quiet hours, failures and unknown outcomes, and
// the Slack messages per rep. The demo and `crmsync evaluate` print passes
// with it.
func PrintReport(w io.Writer, res *PassResult, opts ReportOptions) error {
	p := &printer{w: w}
	r := res.Report
	loc := cmp.Or(opts.Location, time.UTC)
	p.f("Pass %s as of %s: %d accounts evaluated in %s\n", r.Pass, r.Now.In(loc).Format("Mon 2006-01-02 15:04 MST"), r.Accounts, r.Duration.Round(time.Millisecond))
	for _, s := range r.Stale {
		p.f("  stale source %s: %s\n", s.Source, staleNote(s, loc))
	}
	if m := r.Merge; m != nil {
		p.f("  merged sources: %d accounts read, %d joined into %d portfolio accounts", m.Accounts, m.Merged+m.Groups, m.Groups)
		if m.Conflicts > 0 || m.UnknownIDs > 0 {
			p.f("; %d joins refused (two accounts of one source), %d mapping ids unknown: see the log", m.Conflicts, m.UnknownIDs)
		}
		p.f("\n")
	}
	if opts.Portfolio {
		printPortfolio(p, r, locale.For(opts.Locale), opts.Currency)
		p.f("\n")
	}
	printRuleTable(p, res, opts.Rules)
	printTotals(p, res, loc)
	return p.err
}

func staleNote(s workers.StaleSource, loc *time.Location) string {
	note := "never completed a sync"
	if !s.LastSuccess.IsZero() {
		note = "last completed sync " + s.LastSuccess.In(loc).Format("2006-01-02 15:04 MST")
	}
	if s.LastError != "" {
		note += "; last error: " + s.LastError
	}
	return note
}

// verb is what the message columns count: sent, written or to send.
func (res *PassResult) verb() string {
	if res.Delivery == nil {
		return "to send"
	}
	return res.Delivery.Verb()
}

// delivered returns the messages of rule and channel sent (or written);
// for a dry run, those the pass would enqueue.
func (res *PassResult) delivered(rule string, ch notify.Channel) int {
	if res.Delivery == nil {
		return res.Report.Messages[rule][ch]
	}
	return res.Delivery.Counts[rule][ch][OutcomeDelivered]
}

// ruleNames lists the configured rules, then any other rule the pass
// counted (digests last).
func ruleNames(res *PassResult, configured []string) []string {
	r := res.Report
	seen := map[string]bool{}
	names := slices.Clone(configured)
	for _, n := range names {
		seen[n] = true
	}
	var extra []string
	add := func(keys iter.Seq[string]) {
		for n := range keys {
			if !seen[n] {
				seen[n] = true
				extra = append(extra, n)
			}
		}
	}
	add(maps.Keys(r.Flags))
	add(maps.Keys(r.Messages))
	if res.Delivery != nil {
		add(maps.Keys(res.Delivery.Counts))
	}
	slices.SortFunc(extra, func(a, b string) int {
		return cmp.Or(cmp.Compare(boolInt(a == workers.DigestRule), boolInt(b == workers.DigestRule)), cmp.Compare(a, b))
	})
	return append(names, extra...)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func printRuleTable(p *printer, res *PassResult, configured []string) {
	r := res.Report
	verb := res.verb()
	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  rule\tflagged\temails %s\tSlack %s\tdeferred\theld back\n", verb, verb)
	var flagged, emails, slacks, deferred int
	for _, name := range ruleNames(res, configured) {
		e, s, d := res.delivered(name, notify.Email), res.delivered(name, notify.Slack), r.Skipped[name][string(workers.SkipDeferred)]
		flagCell := "-"
		if name != workers.DigestRule {
			flagCell = fmt.Sprint(r.Flags[name])
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%s\n", name, flagCell, e, s, d, heldBack(r.Skipped[name]))
		flagged, emails, slacks, deferred = flagged+r.Flags[name], emails+e, slacks+s, deferred+d
	}
	fmt.Fprintf(tw, "  total\t%d\t%d\t%d\t%d\t\n", flagged, emails, slacks, deferred)
	tw.Flush()
}

// holdLabels name the holds whose code does not say it plainly.
var holdLabels = map[string]string{
	string(workers.SkipDigest):   "folded into digests",
	string(workers.SkipBaseline): "baseline (matched at activation)",
	string(workers.SkipCapped):   "frequency cap",
}

// heldBack lists the reasons messages were held back, most frequent
// first, without the deferrals (a column of their own).
func heldBack(reasons map[string]int) string {
	keys := slices.Collect(maps.Keys(reasons))
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == string(workers.SkipDeferred) || reasons[k] == 0 })
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(reasons[b], reasons[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		label := cmp.Or(holdLabels[k], strings.ReplaceAll(k, "_", " "))
		parts[i] = fmt.Sprintf("%d %s", reasons[k], label)
	}
	return strings.Join(parts, ", ")
}

func printTotals(p *printer, res *PassResult, loc *time.Location) {
	r, d := res.Report, res.Delivery
	for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
		if n := r.Deferred[ch]; n > 0 {
			p.f("  deferred %s to later passes (limits.per_pass)\n", count(n, ch))
		}
	}
	if d != nil {
		printQuiet(p, d, loc)
		for _, o := range []struct {
			outcome Outcome
			what    string
		}{
			{OutcomeFailed, "failed (refused for good, or every retry failed): see crmsync history"},
			{OutcomeUnknown, "of unknown outcome (they may have gone out): see crmsync history, then crmsync resend"},
			{OutcomeHeld, "held back at send time (unsubscribed or capped since the pass planned them)"},
			{OutcomePending, "still queued or retrying: the next run or evaluate delivers them"},
		} {
			for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
				if n := d.Total(ch, o.outcome); n > 0 {
					p.f("  %s %s\n", count(n, ch), o.what)
				}
			}
		}
	}
	if r.RuleErrors > 0 {
		p.f("  %d rule evaluation errors (see the logs)\n", r.RuleErrors)
	}
	if most, avg, reps := perRep(res.PerRep); reps > 0 {
		p.f("  Slack messages per rep: max %d, average %.1f over %d reps\n", most, avg, reps)
	}
}

func printQuiet(p *printer, d *Delivery, loc *time.Location) {
	times := slices.SortedFunc(maps.Keys(d.Quiet), func(a, b time.Time) int { return a.Compare(b) })
	for _, t := range times {
		p.f("  %s scheduled for %s (quiet hours)\n", count(d.Quiet[t], notify.Email), t.In(loc).Format("Mon 2006-01-02 15:04 MST"))
	}
}

// perRep returns the most Slack messages one rep got, the average over
// the reps that got any, and how many did.
func perRep(m map[string]int) (most int, avg float64, reps int) {
	total := 0
	for _, n := range m {
		if n == 0 {
			continue
		}
		reps++
		total += n
		most = max(most, n)
	}
	if reps > 0 {
		avg = float64(total) / float64(reps)
	}
	return most, avg, reps
}

// count is "1 email", "3 Slack messages".
func count(n int, ch notify.Channel) string {
	what := "email"
	if ch == notify.Slack {
		what = "Slack message"
	}
	if n != 1 {
		what += "s"
	}
	return fmt.Sprintf("%d %s", n, what)
}

// isRep reports whether a Slack recipient is a rep (an address), not a
// channel.
func isRep(to string) bool { return strings.Contains(to, "@") }
