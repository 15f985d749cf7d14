package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/internal/suggest"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/workers"
)

// previewSynopsis is the preview command's usage line.
const previewSynopsis = "preview -c FILE [--rule NAME] [--account ID] [--owner OWNER] [--format table|json|csv] [--show-messages] [--now TIME]"

// previewOptions are the preview command's flags.
type previewOptions struct {
	rule, account, owner, format string
	showMessages                 bool
	now                          time.Time
}

// cmdPreview is a dry run: who would be flagged now, why, what would hold
// messages back, and the exact messages; with --account, also why the
// account is not flagged by the other rules. It sends nothing and writes
// nothing to the ledger.
func cmdPreview(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("preview", previewSynopsis, stderr)
	path := configFlag(fs)
	var o previewOptions
	fs.StringVar(&o.rule, "rule", "", "only this rule")
	fs.StringVar(&o.account, "account", "", "only this account, with why each rule does or does not flag it: the CRM's id, or source:id")
	fs.StringVar(&o.owner, "owner", "", "only the accounts of this owner: email, name or id")
	fs.StringVar(&o.format, "format", "table", "output format: table, json or csv")
	fs.BoolVar(&o.showMessages, "show-messages", false, "print each message in full (email subject and body, Slack text and blocks)")
	nowFlag := fs.String("now", "", "evaluation time (RFC 3339; default: now)")
	cfg, log, err := loadConfig(fs, args, path, logFlags(fs, "error"), stderr)
	if err != nil {
		return err
	}
	o.now = time.Now()
	if *nowFlag != "" {
		if o.now, err = time.Parse(time.RFC3339, *nowFlag); err != nil {
			fmt.Fprintf(stderr, "crmsync preview: --now: want RFC 3339 (2026-11-20T09:00:00Z), got %q\n", *nowFlag)
			return errUsage
		}
	}
	if o.format != "table" && o.format != "json" && o.format != "csv" {
		fmt.Fprintf(stderr, "crmsync preview: --format: want table, json or csv, got %q\n", o.format)
		return errUsage
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := checkRule(a.Rules, o.rule); err != nil {
		return err
	}
	if a.Store.Embedded() {
		// An in-memory store starts empty: fill it from the sources first.
		fmt.Fprintln(stderr, "crmsync preview: no redis.url configured: syncing every source into an in-memory store first")
		for _, s := range cfg.Sources {
			if _, err := a.Handlers.Sync.Sync(ctx, s.Name, false); err != nil {
				return err
			}
		}
	}
	res, err := runPreview(ctx, a, o)
	if err != nil {
		return err
	}
	defer res.close()
	w := bufio.NewWriterSize(stdout, 64<<10)
	switch o.format {
	case "json":
		err = writePreviewJSON(w, res)
	case "csv":
		err = writePreviewCSVFrom(w, res.flags())
	default:
		err = printPreviewFrom(w, res, o.showMessages)
	}
	return errors.Join(err, w.Flush())
}

// checkRule returns an error, with a suggestion, when rule is set and is
// not one of rs's.
func checkRule(rs *rules.RuleSet, rule string) error {
	if rule == "" || rs.Rule(rule) != nil {
		return nil
	}
	msg := fmt.Sprintf("no rule named %q", rule)
	if s := suggest.Closest(rule, ruleNames(rs, "")); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return errors.New(msg)
}

// previewResult is what preview prints: totals first, then the flags and,
// with --account, the account and why each rule does or does not flag it.
// A preview run by the command streams its flags from src; Flags holds
// them only when built in memory.
type previewResult struct {
	Totals       previewTotals               `json:"totals"`
	Flags        []workers.Flag              `json:"flags"`
	Account      *workers.AccountExplanation `json:"account,omitempty"`
	Explanations []rules.Explanation         `json:"explanations,omitempty"`

	src *workers.PreviewFlags
}

// flagSource gives a preview's flags in order, as many times as asked.
type flagSource interface {
	Each(fn func(workers.Flag) error) error
	EachSorted(keep func(*workers.Flag) bool, cmp func(a, b *workers.Flag) int, fn func(workers.Flag) error) error
}

// flags returns where res's flags come from.
func (res *previewResult) flags() flagSource {
	if res.src != nil {
		return res.src
	}
	return flagSlice(res.Flags)
}

// close releases the streamed flags, if any.
func (res *previewResult) close() {
	if res.src != nil {
		res.src.Close()
	}
}

// flagSlice is a flagSource over flags in memory.
type flagSlice []workers.Flag

func (fs flagSlice) Each(fn func(workers.Flag) error) error {
	for _, f := range fs {
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (fs flagSlice) EachSorted(keep func(*workers.Flag) bool, cmp func(a, b *workers.Flag) int, fn func(workers.Flag) error) error {
	var kept []workers.Flag
	for i := range fs {
		if keep(&fs[i]) {
			kept = append(kept, fs[i])
		}
	}
	slices.SortStableFunc(kept, func(a, b workers.Flag) int { return cmp(&a, &b) })
	return flagSlice(kept).Each(fn)
}

// runPreview evaluates the preview o asks for; its flags stay in a
// temporary file until the result is closed.
func runPreview(ctx context.Context, a *app.App, o previewOptions) (*previewResult, error) {
	res := &previewResult{}
	id := a.ResolveAccount(ctx, o.account)
	if id != "" {
		x, err := a.Handlers.Evaluate.Explain(ctx, o.now, id)
		if err != nil {
			return nil, err
		}
		res.Account = x
		for _, e := range x.Rules {
			if o.rule == "" || e.Rule == o.rule {
				res.Explanations = append(res.Explanations, e)
			}
		}
	}
	pf, err := a.Handlers.Evaluate.PreviewStream(ctx, o.now, workers.PreviewFilter{Rule: o.rule, AccountID: id, Owner: o.owner})
	if err != nil {
		return nil, err
	}
	res.src = pf
	n, err := a.Store.Records.CountAccounts(ctx)
	if err == nil {
		res.Totals, err = countPreview(n, ruleNames(a.Rules, o.rule), pf)
	}
	if err != nil {
		res.close()
		return nil, err
	}
	return res, nil
}

// ruleNames returns the names of rs's rules in file order, or only, if set.
func ruleNames(rs *rules.RuleSet, only string) []string {
	if only != "" {
		return []string{only}
	}
	names := make([]string, len(rs.Rules))
	for i, r := range rs.Rules {
		names[i] = r.Name
	}
	return names
}

// previewTotals counts a preview's flags, messages and held-back messages.
type previewTotals struct {
	Accounts int64                  `json:"accounts"` // accounts evaluated: the whole portfolio
	Flags    int                    `json:"flags"`
	Messages map[notify.Channel]int `json:"messages"`
	Deferred int                    `json:"deferred"`
	HeldBack map[string]int         `json:"held_back"` // reason → count, deferred excepted
	Rules    []ruleTotals           `json:"rules"`
}

// ruleTotals counts one rule's flags and messages; digests count under
// the rule whose nudges they gather.
type ruleTotals struct {
	Rule     string                 `json:"rule"`
	Flagged  int                    `json:"flagged"`
	Messages map[notify.Channel]int `json:"messages"`
	Deferred int                    `json:"deferred"`
	HeldBack map[string]int         `json:"held_back"`

	digests     bool   // not a rule: digests gathering several rules' nudges
	digestFlags int    // the digests counted under the rule
	when        string // the rule's expression, from its first flag
}

// holdDeferred is the held-back reason of messages left to later passes.
const holdDeferred = string(workers.SkipDeferred)

// previewTotalsOf counts flags, per rule in the order of names, then any
// other rule the flags name, and in all.
func previewTotalsOf(accounts int64, names []string, flags []workers.Flag) previewTotals {
	t, _ := countPreview(accounts, names, flagSlice(flags))
	return t
}

// countPreview counts the flags of src as previewTotalsOf does, one flag
// at a time.
func countPreview(accounts int64, names []string, src flagSource) (previewTotals, error) {
	t := previewTotals{Accounts: accounts, Messages: map[notify.Channel]int{}, HeldBack: map[string]int{}}
	byRule := map[string]*ruleTotals{}
	var extra []*ruleTotals // rules the flags name beyond names, in order of appearance
	ruleOf := func(name string) *ruleTotals {
		if rt, ok := byRule[name]; ok {
			return rt
		}
		rt := &ruleTotals{Rule: name, Messages: map[notify.Channel]int{}, HeldBack: map[string]int{}, digests: true}
		byRule[name] = rt
		extra = append(extra, rt)
		return rt
	}
	for _, name := range names {
		byRule[name] = &ruleTotals{Rule: name, Messages: map[notify.Channel]int{}, HeldBack: map[string]int{}}
	}
	err := src.Each(func(f workers.Flag) error {
		t.add(ruleOf(f.Rule), &f)
		return nil
	})
	for _, name := range names {
		t.Rules = append(t.Rules, *byRule[name])
	}
	for _, rt := range extra {
		t.Rules = append(t.Rules, *rt)
	}
	return t, err
}

// add counts flag f, of rule totals rt.
func (t *previewTotals) add(rt *ruleTotals, f *workers.Flag) {
	if isDigest(*f) {
		rt.digestFlags++
	} else {
		rt.Flagged++
		t.Flags++
		rt.when = cmp.Or(rt.when, f.Expression)
	}
	for _, m := range f.Messages {
		rt.Messages[m.Channel]++
		t.Messages[m.Channel]++
	}
	for _, h := range f.HeldBack {
		reason, _, _ := strings.Cut(h, " ")
		if reason == holdDeferred { // one hold for the match: count its messages
			rt.Deferred += len(f.Deferred)
			t.Deferred += len(f.Deferred)
			continue
		}
		rt.HeldBack[reason]++
		t.HeldBack[reason]++
	}
}

// isDigest reports whether f is a digest: a rep's nudges gathered into one
// message, not an account's flag.
func isDigest(f workers.Flag) bool { return strings.HasPrefix(f.AccountID, "digest:") }

// printPreview prints res as tables and text: the totals; with
// --account, the account's features and why each rule does or does not
// flag it; then the flags grouped by rule, largest revenue first, each
// rule's digests last, and the digests that gather several rules.
func printPreview(w io.Writer, res *previewResult, full bool) {
	printPreviewFrom(w, res, full)
}

// printPreviewFrom prints res as printPreview does, reading its flags
// one rule at a time.
func printPreviewFrom(w io.Writer, res *previewResult, full bool) error {
	printTotals(w, res.Totals)
	if x := res.Account; x != nil {
		fmt.Fprintf(w, "\nAccount %s  %s", x.AccountID, x.Account)
		if x.Owner != "" {
			fmt.Fprintf(w, "  (owner %s)", x.Owner)
		}
		fmt.Fprintln(w)
		printSources(w, x.Sources)
		fmt.Fprintf(w, "    features: %s\n", app.FormatFeatures(x.Features))
		for _, e := range res.Explanations {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	for _, rt := range res.Totals.Rules {
		if err := printRuleGroup(w, res.flags(), rt, full); err != nil {
			return err
		}
	}
	return nil
}

// printTotals prints the totals table.
func printTotals(w io.Writer, t previewTotals) {
	fmt.Fprintf(w, "Preview: %d accounts evaluated, %s, %s would be sent (nothing was sent)", t.Accounts, plural(t.Flags, "flag", "flags"), channelCounts(t.Messages, "messages"))
	if t.Deferred > 0 {
		fmt.Fprintf(w, ", %d deferred to later passes", t.Deferred)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tFLAGGED\tEMAILS\tSLACK\tDEFERRED\tHELD BACK")
	for _, rt := range t.Rules {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", rt.Rule, rt.Flagged, rt.Messages[notify.Email], rt.Messages[notify.Slack], rt.Deferred, reasonCounts(rt.HeldBack))
	}
	tw.Flush()
}

// channelCounts writes "12 emails, 30 Slack messages", or "0 messages".
func channelCounts(m map[notify.Channel]int, none string) string {
	var parts []string
	for _, ch := range slices.Sorted(maps.Keys(m)) {
		switch ch {
		case notify.Email:
			parts = append(parts, plural(m[ch], "email", "emails"))
		case notify.Slack:
			parts = append(parts, plural(m[ch], "Slack message", "Slack messages"))
		default:
			parts = append(parts, plural(m[ch], string(ch)+" message", string(ch)+" messages"))
		}
	}
	if len(parts) == 0 {
		return "0 " + none
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// reasonCounts writes "cooldown 3, inhibited 12", or "-".
func reasonCounts(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for _, r := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(r, "_", " "), m[r]))
	}
	return strings.Join(parts, ", ")
}

// byRevenue orders a rule's flags largest revenue_12m first, then by
// account id.
func byRevenue(a, b *workers.Flag) int {
	return cmp.Or(cmp.Compare(revenue(*b), revenue(*a)), cmp.Compare(a.AccountID, b.AccountID))
}

// revenue returns a flag's revenue_12m feature, 0 when it has none.
func revenue(f workers.Flag) float64 {
	v, _ := f.Features["revenue_12m"].(float64)
	return v
}

// printRuleGroup prints a rule's header, its accounts, largest revenue
// first, and its digests; nothing when it has neither.
func printRuleGroup(w io.Writer, src flagSource, rt ruleTotals, full bool) error {
	if rt.Flagged+rt.digestFlags == 0 {
		return nil
	}
	if rt.digests && rt.Flagged == 0 {
		fmt.Fprintf(w, "\n== Digests (%s): %s ==\n", rt.Rule, channelCounts(rt.Messages, "messages"))
	} else {
		fmt.Fprintf(w, "\n== %s: %s, %s ==\n", rt.Rule, plural(rt.Flagged, "account flagged", "accounts flagged"), channelCounts(rt.Messages, "messages"))
	}
	if rt.when != "" {
		fmt.Fprintf(w, "when: %s\n", rt.when)
	}
	err := src.EachSorted(func(f *workers.Flag) bool { return f.Rule == rt.Rule && !isDigest(*f) }, byRevenue, func(f workers.Flag) error {
		fmt.Fprintf(w, "  %s  %s\n", f.AccountID, f.Account)
		printSources(w, f.Sources)
		fmt.Fprintf(w, "    with: %s\n", app.FormatFeatures(f.Features))
		printFlagBody(w, f, full)
		return nil
	})
	if err != nil || rt.digestFlags == 0 {
		return err
	}
	if rt.Flagged > 0 {
		fmt.Fprintf(w, "Digests of %s\n", rt.Rule)
	}
	return src.Each(func(f workers.Flag) error {
		if f.Rule == rt.Rule && isDigest(f) {
			fmt.Fprintf(w, "  %s\n", f.Account)
			printFlagBody(w, f, full)
		}
		return nil
	})
}

// printSources prints the accounts a merged account is made of.
func printSources(w io.Writer, sources []string) {
	if len(sources) > 0 {
		fmt.Fprintf(w, "    merged from: %s\n", strings.Join(sources, " + "))
	}
}

// printFlagBody prints what holds a flag's messages back, and its messages.
func printFlagBody(w io.Writer, f workers.Flag, full bool) {
	if len(f.HeldBack) > 0 {
		fmt.Fprintf(w, "    held back: %s\n", heldBackText(f.HeldBack))
	}
	for _, m := range f.Messages {
		if full {
			printFullMessage(w, m)
		} else {
			printPreviewMessage(w, m)
		}
	}
}

// heldBackText lists why messages are held back, each reason in words and
// with its detail: "invalid email name@mail, cooldown until 2026-12-01 07:00:00".
func heldBackText(held []string) string {
	out := make([]string, len(held))
	for i, h := range held {
		reason, detail, ok := strings.Cut(h, " ")
		out[i] = strings.ReplaceAll(reason, "_", " ")
		if ok {
			out[i] += " " + detail
		}
	}
	return strings.Join(out, ", ")
}

// printPreviewMessage prints message m in one line: an email's subject,
// the first line of a Slack text.
func printPreviewMessage(w io.Writer, m notify.Message) {
	line := fmt.Sprintf("    %s to %s", m.Channel, m.To)
	switch {
	case m.TemplateID != "":
		line += ": template " + m.TemplateID
	case m.Subject != "":
		line += fmt.Sprintf(": %q", m.Subject)
	default:
		line += ": " + firstLine(m.Text, 120)
	}
	fmt.Fprintln(w, line+notBefore(m))
}

// notBefore writes " (not before 2026-11-20 09:00 UTC)" for a delayed
// message.
func notBefore(m notify.Message) string {
	if m.NotBefore.IsZero() {
		return ""
	}
	return " (not before " + m.NotBefore.Format("2006-01-02 15:04 MST") + ")"
}

// firstLine returns s's first line, cut to at most n runes.
func firstLine(s string, n int) string {
	line, _, more := strings.Cut(s, "\n")
	if r := []rune(line); len(r) > n {
		line, more = string(r[:n]), true
	}
	if more {
		line += " …"
	}
	return line
}

// printFullMessage prints message m as it would be sent: an email's
// subject and text body; a Slack message's fallback text and the text of
// its blocks.
func printFullMessage(w io.Writer, m notify.Message) {
	fmt.Fprintf(w, "    %s to %s%s\n", m.Channel, m.To, notBefore(m))
	if m.TemplateID != "" {
		b, _ := json.Marshal(m.TemplateData)
		fmt.Fprintf(w, "      template: %s\n      data: %s\n", m.TemplateID, b)
		return
	}
	if m.Subject != "" {
		fmt.Fprintf(w, "      subject: %s\n", m.Subject)
	}
	label := "text"
	if m.Channel == notify.Slack {
		label = "fallback text"
	}
	fmt.Fprintf(w, "      %s:\n%s", label, indent(m.Text, "        "))
	if texts := blockTexts(m.Blocks); len(texts) > 0 {
		fmt.Fprintf(w, "      blocks:\n")
		for _, t := range texts {
			fmt.Fprint(w, indent(t, "        "))
		}
	}
}

// indent prefixes each line of s with prefix and ends it with a newline.
func indent(s, prefix string) string {
	s = strings.TrimRight(s, "\n")
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix) + "\n"
}

// blockTexts returns the texts of Slack blocks, in order: every string
// under a "text" key, at any depth (sections, fields, context, buttons).
func blockTexts(blocks json.RawMessage) []string {
	if len(blocks) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(blocks, &v); err != nil {
		return []string{"(blocks are not valid JSON: " + err.Error() + ")"}
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if s, ok := v[k].(string); ok && k == "text" {
					out = append(out, s)
					continue
				}
				walk(v[k])
			}
		}
	}
	walk(v)
	return out
}

// previewCSVHeader names the columns of preview --format csv. There is one
// row per message a flag would send (status would_send), per reason a
// message is held back (status held_back:<reason>, or deferred for
// messages left to later passes by limits.per_pass), and per flag with
// neither (status flagged). detail is the held-back reason's detail
// ("until 2026-12-01 07:00:00") or a message's not-before time.
var previewCSVHeader = []string{"rule", "account_id", "account", "channel", "to", "status", "subject", "detail"}

// writePreviewCSV writes flags as CSV rows under previewCSVHeader. Cells
// starting with =, +, - or @ get a leading ' so that spreadsheets show
// CRM text as text, never as a formula.
func writePreviewCSV(w io.Writer, flags []workers.Flag) error {
	return writePreviewCSVFrom(w, flagSlice(flags))
}

// writePreviewCSVFrom writes the flags of src as writePreviewCSV does,
// as they come.
func writePreviewCSVFrom(w io.Writer, src flagSource) error {
	cw := csv.NewWriter(w)
	cw.Write(previewCSVHeader)
	row := func(f workers.Flag, cells ...string) {
		r := append([]string{f.Rule, f.AccountID, f.Account}, cells...)
		for i := range r {
			r[i] = csvText(r[i])
		}
		cw.Write(r)
	}
	err := src.Each(func(f workers.Flag) error {
		for _, m := range f.Messages {
			subject := cmp.Or(m.Subject, firstLine(m.Text, 200))
			nb := ""
			if !m.NotBefore.IsZero() {
				nb = "not before " + m.NotBefore.UTC().Format(time.RFC3339)
			}
			row(f, string(m.Channel), m.To, "would_send", subject, nb)
		}
		for _, m := range f.Deferred {
			row(f, string(m.Channel), m.To, holdDeferred, cmp.Or(m.Subject, firstLine(m.Text, 200)), "to a later pass (limits.per_pass)")
		}
		for _, h := range f.HeldBack {
			reason, detail, _ := strings.Cut(h, " ")
			if reason == holdDeferred {
				continue // a row per deferred message above
			}
			row(f, "", "", "held_back:"+reason, "", detail)
		}
		if len(f.Messages)+len(f.HeldBack) == 0 {
			row(f, "", "", "flagged", "", "")
		}
		return cw.Error()
	})
	cw.Flush()
	return errors.Join(err, cw.Error())
}

// csvText neutralises a cell a spreadsheet would read as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writePreviewJSON writes res as an indented JSON object, the bytes
// json.Encoder with a two-space indent writes, streaming its flags as
// they come: totals, flags, then the account and its explanations.
func writePreviewJSON(w io.Writer, res *previewResult) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// field writes v at depth (two spaces a level), after what.
	field := func(what string, v any, depth string) error {
		buf.Reset()
		enc.SetIndent(depth, "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
		io.WriteString(w, what)
		_, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		return err
	}
	if err := field("{\n  \"totals\": ", res.Totals, "  "); err != nil {
		return err
	}
	io.WriteString(w, ",\n  \"flags\": [")
	n := 0
	err := res.flags().Each(func(f workers.Flag) error {
		sep := ",\n    "
		if n == 0 {
			sep = "\n    "
		}
		n++
		return field(sep, f, "    ")
	})
	if err != nil {
		return err
	}
	if n > 0 {
		io.WriteString(w, "\n  ")
	}
	io.WriteString(w, "]")
	if res.Account != nil {
		if err := field(",\n  \"account\": ", res.Account, "  "); err != nil {
			return err
		}
	}
	if len(res.Explanations) > 0 {
		if err := field(",\n  \"explanations\": ", res.Explanations, "  "); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "\n}\n")
	return err
}
