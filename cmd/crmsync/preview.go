package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/workers"
)

// cmdPreview is a dry run: who would be flagged now, why, what would hold
// messages back, and the exact messages. It sends nothing and writes
// nothing to the ledger.
func cmdPreview(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("preview", "preview -c FILE [--rule NAME] [--account ID] [--format table|json] [--now TIME]", stderr)
	path := configFlag(fs)
	rule := fs.String("rule", "", "only this rule")
	account := fs.String("account", "", "only this account: the CRM's id, or source:id")
	format := fs.String("format", "table", "output format: table or json")
	nowFlag := fs.String("now", "", "evaluation time (RFC 3339; default: now)")
	cfg, log, err := loadConfig(fs, args, path, logFlags(fs, "error"), stderr)
	if err != nil {
		return err
	}
	now := time.Now()
	if *nowFlag != "" {
		if now, err = time.Parse(time.RFC3339, *nowFlag); err != nil {
			fmt.Fprintf(stderr, "crmsync preview: --now: want RFC 3339 (2026-11-20T09:00:00Z), got %q\n", *nowFlag)
			return errUsage
		}
	}
	if *format != "table" && *format != "json" {
		fmt.Fprintf(stderr, "crmsync preview: --format: want table or json, got %q\n", *format)
		return errUsage
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Store.Embedded() {
		// An in-memory store starts empty: fill it from the sources first.
		fmt.Fprintln(stderr, "crmsync preview: no redis.url configured: syncing every source into an in-memory store first")
		for _, s := range cfg.Sources {
			if _, err := a.Handlers.Sync.Sync(ctx, s.Name, false); err != nil {
				return err
			}
		}
	}
	flags, err := a.Handlers.Evaluate.Preview(ctx, now, workers.PreviewFilter{Rule: *rule, AccountID: a.ResolveAccount(ctx, *account)})
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(flags)
	}
	printPreview(stdout, flags)
	return nil
}

func printPreview(w io.Writer, flags []workers.Flag) {
	perRule := map[string]int{}
	var rules []string
	msgs := 0
	for _, f := range flags {
		if perRule[f.Rule] == 0 {
			rules = append(rules, f.Rule)
		}
		perRule[f.Rule]++
		msgs += len(f.Messages)
		fmt.Fprintf(w, "%s  %s  %s\n", f.Rule, f.AccountID, f.Account)
		fmt.Fprintf(w, "    why:  %s\n    with: %s\n", f.Expression, app.FormatFeatures(f.Features))
		if len(f.HeldBack) > 0 {
			fmt.Fprintf(w, "    held back: %s\n", heldBackText(f.HeldBack))
		}
		for _, m := range f.Messages {
			printPreviewMessage(w, m.Channel, m.To, m.Subject, m.Text, m.NotBefore)
		}
	}
	fmt.Fprintf(w, "\n%d flags", len(flags))
	for _, r := range rules {
		fmt.Fprintf(w, ", %s %d", r, perRule[r])
	}
	fmt.Fprintf(w, "; %d messages would be sent (nothing was sent)\n", msgs)
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

func printPreviewMessage(w io.Writer, ch any, to, subject, text string, notBefore time.Time) {
	line := fmt.Sprintf("    %s to %s", ch, to)
	if subject != "" {
		line += fmt.Sprintf(": %q", subject)
	} else {
		line += ": " + text
	}
	if !notBefore.IsZero() {
		line += " (not before " + notBefore.Format("2006-01-02 15:04 MST") + ")"
	}
	fmt.Fprintln(w, line)
}
