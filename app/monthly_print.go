package app

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify/locale"
	"github.com/crmsync/crmsync/rules"
)

// Monthly review formats.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatCSV   = "csv"
)

// PrintMonthly writes m in format (FormatTable, FormatJSON or FormatCSV);
// opts give the time zone, locale and currency of the table.
func PrintMonthly(w io.Writer, m *Monthly, format string, opts ReportOptions) error {
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	case FormatCSV:
		return writeMonthlyCSV(w, m)
	case FormatTable:
		p := &printer{w: w}
		printMonthly(p, m, opts)
		return p.err
	}
	return fmt.Errorf("monthly review: unknown format %q: want table, json or csv", format)
}

// monthlyPrinter prints one review's sections in one locale.
type monthlyPrinter struct {
	*printer
	m     *Monthly
	money func(float64) string
	loc   *time.Location
}

func printMonthly(p *printer, m *Monthly, opts ReportOptions) {
	l := locale.For(opts.Locale)
	mp := &monthlyPrinter{printer: p, m: m, money: func(v float64) string { return l.Money(v, opts.Currency) }, loc: opts.Location}
	if mp.loc == nil {
		mp.loc = time.UTC
	}
	mp.f("Monthly review %s: figures at %s\n", m.Month, m.End.In(mp.loc).Format("2006-01-02 15:04 MST"))
	if f := filterText(m.Portfolio.Filter); f != "" {
		mp.f("Accounts: %s (ABC classes are portfolio-wide)\n", f)
	}
	mp.f("\n")
	mp.kpis(l)
	mp.abc()
	mp.segments()
	mp.evolution()
	mp.migration()
	mp.atRisk()
	mp.outcomes()
}

// filterText describes a filter, "" for none.
func filterText(f insights.Filter) string {
	var parts []string
	for _, kv := range [][2]string{{"owner", f.Owner}, {"source", f.Source}, {"segment", f.Segment}, {"class", f.Class}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	return strings.Join(parts, ", ")
}

func (mp *monthlyPrinter) kpis(l locale.Locale) {
	f := &mp.m.Portfolio
	r := f.Retention
	mp.f("Portfolio\n")
	tw := tabwriter.NewWriter(mp, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  accounts\t%d\n", f.Accounts)
	fmt.Fprintf(tw, "  clients\t%d (lifecycle customer)\n", f.Clients)
	fmt.Fprintf(tw, "  buyers\t%d (bought in the last 12 months)\n", f.Buyers)
	fmt.Fprintf(tw, "  revenue 12m\t%s (%s vs the 12 months before: %s)\n", mp.money(f.Revenue12m), l.Percent(f.RevenueTrend), mp.money(f.RevenuePrev12m))
	fmt.Fprintf(tw, "  retention\t%s of the %d buyers a month before (%d lost, %d gained)\n", pct(float64(r.Kept), float64(r.Before)), r.Before, r.Lost, r.Gained)
	fmt.Fprintf(tw, "  revenue at risk\t%s over %d accounts flagged now\n", mp.money(f.RevenueAtRisk), f.AtRisk)
	fmt.Fprintf(tw, "  pareto\tclass A: %s of buyers make %s of revenue; A+B: %s make %s\n",
		pct(f.Pareto.EndA.Accounts, 1), pct(f.Pareto.EndA.Revenue, 1), pct(f.Pareto.EndB.Accounts, 1), pct(f.Pareto.EndB.Revenue, 1))
	tw.Flush()
	mp.f("\n")
}

func (mp *monthlyPrinter) abc() {
	f := &mp.m.Portfolio
	tw := tabwriter.NewWriter(mp, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  class\taccounts\tshare of accounts\trevenue 12m\tshare of revenue\t\n")
	for _, c := range f.ABC {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t\n", c.Class, c.Accounts, pct(c.AccountShare, 1), mp.money(c.Revenue), pct(c.RevenueShare, 1))
	}
	fmt.Fprintf(tw, "  size (pmg)\taccounts\t\trevenue 12m\t\t\n")
	for _, s := range f.PMG {
		fmt.Fprintf(tw, "  %s\t%d\t\t%s\t\t\n", s.Size, s.Accounts, mp.money(s.Revenue))
	}
	tw.Flush()
	var lc []string
	for _, l := range model.Lifecycles {
		lc = append(lc, fmt.Sprintf("%s %d", l, f.Lifecycle[l]))
	}
	mp.f("  lifecycle: %s\n\n", strings.Join(lc, ", "))
}

// segmentOrder lists the RFM segments best first.
var segmentOrder = []string{rules.SegmentChampions, rules.SegmentLoyal, rules.SegmentPotentialLoyalist, rules.SegmentNew,
	rules.SegmentPromising, rules.SegmentNeedAttention, rules.SegmentAboutToSleep, rules.SegmentAtRisk,
	rules.SegmentCantLose, rules.SegmentHibernating, rules.SegmentLost}

func (mp *monthlyPrinter) segments() {
	g := &mp.m.Portfolio.RFM
	mp.f("RFM grid: accounts (mean m) by recency r and frequency f\n")
	tw := tabwriter.NewWriter(mp, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  \tf=1\tf=2\tf=3\tf=4\tf=5\t\n")
	for r := 5; r >= 1; r-- {
		fmt.Fprintf(tw, "  r=%d", r)
		for f := 1; f <= 5; f++ {
			c := g.Cells[r-1][f-1]
			fmt.Fprintf(tw, "\t%d (%.1f)", c.Accounts, c.MeanM)
		}
		fmt.Fprintf(tw, "\t\n")
	}
	tw.Flush()
	var segs []string
	for _, s := range segmentOrder {
		if n := g.Segments[s]; n > 0 {
			segs = append(segs, fmt.Sprintf("%s %d", s, n))
		}
	}
	mp.f("  segments: %s\n\n", strings.Join(segs, ", "))
}

func (mp *monthlyPrinter) evolution() {
	ev := mp.m.Evolution
	mp.f("Evolution: each month at its end, against the month before\n")
	tw := tabwriter.NewWriter(mp, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  month\t")
	for _, m := range ev {
		fmt.Fprintf(tw, "%s\t", m.Month)
	}
	fmt.Fprintf(tw, "\n")
	row := func(label string, cell func(m insights.Month) string) {
		fmt.Fprintf(tw, "  %s\t", label)
		for _, m := range ev {
			fmt.Fprintf(tw, "%s\t", cell(m))
		}
		fmt.Fprintf(tw, "\n")
	}
	row("buyers", func(m insights.Month) string { return strconv.Itoa(m.Buyers) })
	row("gained", func(m insights.Month) string { return strconv.Itoa(m.Retention.Gained) })
	row("lost", func(m insights.Month) string { return strconv.Itoa(m.Retention.Lost) })
	row("retention", func(m insights.Month) string { return pct(float64(m.Retention.Kept), float64(m.Retention.Before)) })
	row("revenue 12m", func(m insights.Month) string { return mp.money(m.Revenue) })
	for k, c := range insights.Classes {
		row(c+" accounts", func(m insights.Month) string { return strconv.Itoa(m.Classes[k].Accounts) })
		row(c+" revenue 12m", func(m insights.Month) string { return mp.money(m.Classes[k].Revenue) })
	}
	row("inactive >= 90 days", func(m insights.Month) string {
		if !m.HasSnapshots {
			return "no snapshot"
		}
		return strconv.Itoa(m.Inactive90)
	})
	tw.Flush()
	mp.f("\n")
}

func (mp *monthlyPrinter) migration() {
	ev := mp.m.Evolution
	if len(ev) == 0 {
		return
	}
	last := ev[len(ev)-1]
	mp.f("Class migration: class at the end of the month before (rows) → at the end of %s (columns)\n", last.Month)
	tw := tabwriter.NewWriter(mp, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  \tA\tB\tC\t\n")
	for i, from := range insights.Classes {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t\n", from, last.Migration[i][0], last.Migration[i][1], last.Migration[i][2])
	}
	tw.Flush()
	mp.f("\n")
}

func (mp *monthlyPrinter) atRisk() {
	mp.f("At risk now, by owner (accounts a rule flags now; class and revenue at the month's end, days inactive now)\n")
	if len(mp.m.AtRisk) == 0 {
		mp.f("  no account flagged\n\n")
		return
	}
	tw := tabwriter.NewWriter(mp, 0, 0, 2, ' ', 0)
	for _, g := range mp.m.AtRisk {
		owner := g.Owner
		if owner == "" {
			owner = "(no owner)"
		}
		if g.Email != "" && g.Email != owner {
			owner += " <" + g.Email + ">"
		}
		fmt.Fprintf(tw, "  %s: %d accounts, %s\n", owner, len(g.Accounts), mp.money(g.Revenue))
		for _, a := range g.Accounts {
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%d days inactive\t%s\n", a.ID, a.Name, a.Class, mp.money(a.Revenue12m), a.DaysInactive, strings.Join(a.Rules, ", "))
		}
	}
	tw.Flush()
	mp.f("\n")
}

func (mp *monthlyPrinter) outcomes() {
	if len(mp.m.Outcomes) == 0 {
		return
	}
	mp.f("Outcomes per rule (flags closed since outcomes are measured; re-engaged: an activity or won deal within outcome_window)\n")
	tw := tabwriter.NewWriter(mp, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  rule\tmessaged\tre-engaged\tholdout\tre-engaged\tuplift [95%% interval]\topen\t\n")
	for _, o := range mp.m.Outcomes {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%s\t%s\t%d\t\n", o.Rule, o.Messaged, pct(float64(o.MessagedReengaged), float64(o.Messaged)),
			o.Holdout, pct(float64(o.HoldoutReengaged), float64(o.Holdout)), upliftText(o), o.Open)
	}
	tw.Flush()
}

// upliftText prints an uplift in points with its interval, "-" when a
// group is empty.
func upliftText(o RuleOutcome) string {
	if o.Uplift == nil || o.UpliftLow == nil || o.UpliftHigh == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f pts [%+.1f, %+.1f]", 100**o.Uplift, 100**o.UpliftLow, 100**o.UpliftHigh)
}
