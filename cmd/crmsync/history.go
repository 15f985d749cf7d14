package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/store"
)

// cmdHistory prints the ledger trail of an account or a contact: what was
// sent (or written to the outbox), when, by which rule, and the figures
// that made the rule fire.
func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("history", "history -c FILE (--account ID | --contact EMAIL) [--format table|json]", stderr)
	path := configFlag(fs)
	account := fs.String("account", "", "account id: the CRM's id, or source:id")
	contact := fs.String("contact", "", "contact email address")
	format := fs.String("format", "table", "output format: table or json")
	cfg, _, err := loadConfig(fs, args, path, logFlags(fs, "error"), stderr)
	if err != nil {
		return err
	}
	if (*account == "") == (*contact == "") || (*format != "table" && *format != "json") {
		fmt.Fprintln(stderr, "crmsync history: give one of --account or --contact, and --format table or json")
		fs.Usage()
		return errUsage
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.Embedded() {
		fmt.Fprintln(stderr, "crmsync history: no redis.url configured: the in-memory store is empty")
	}
	entries, group, err := history(ctx, st, cfg, *account, *contact)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	if len(group) > 0 {
		fmt.Fprintf(stdout, "%s is one portfolio account merged from %s (config merge)\n", group[0], strings.Join(group, " + "))
	}
	printHistory(stdout, entries, *path)
	return nil
}

// history reads the entries of an account (trying each source's prefix
// when the id has none) or of a contact. An account the latest pass
// merged with others (config merge) is read under all their ids, and
// group lists them, primary first.
func history(ctx context.Context, st *store.Store, cfg *config.Config, account, contact string) (entries []store.Entry, group []string, err error) {
	if contact != "" {
		entries, err = st.Ledger.HistoryByRecipient(ctx, strings.ToLower(contact))
		return entries, nil, err
	}
	ids := []string{account}
	for _, s := range cfg.Sources {
		ids = append(ids, s.Name+":"+account)
	}
	for _, id := range ids {
		if group, err = st.Records.MergeGroup(ctx, id); err != nil || group != nil {
			break
		}
	}
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, id := range append(ids, group...) {
		if seen[id] {
			continue
		}
		seen[id] = true
		e, err := st.Ledger.History(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e...)
	}
	return entries, group, nil
}

// printHistory prints entries, one line each with their details below;
// an entry of unknown outcome says how to resend it (config: the -c FILE
// given).
func printHistory(w io.Writer, entries []store.Entry, config string) {
	if len(entries) == 0 {
		fmt.Fprintln(w, "no messages")
		return
	}
	written := false
	for _, e := range entries {
		written = written || e.Status == store.StatusWritten
		at := e.ClaimedAt
		if !e.SentAt.IsZero() {
			at = e.SentAt
		}
		fmt.Fprintf(w, "%s  %-7s %-5s %s  rule %s  account %s\n", at.UTC().Format(time.DateTime), e.Status, e.Channel, e.Recipient, e.Rule, e.AccountID)
		if e.Expression != "" {
			fmt.Fprintf(w, "    when: %s\n", e.Expression)
		}
		if len(e.Features) > 0 {
			fmt.Fprintf(w, "    with: %s\n", app.FormatFeatures(e.Features))
		}
		if e.Error != "" {
			fmt.Fprintf(w, "    error: %s\n", e.Error)
		}
		if e.Status == store.StatusUnknown {
			fmt.Fprintf(w, "    outcome unknown: claimed at %s, never recorded (it may have gone out); not sent again automatically\n",
				e.ClaimedAt.UTC().Format(time.DateTime))
			fmt.Fprintf(w, "    resend: crmsync resend -c %s --key '%s'\n", config, e.Key)
		}
	}
	if written {
		fmt.Fprintln(w, "written: written to the outbox (notify.outbox), not sent")
	}
}
