package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/workers"
)

// cmdResend sends again, on an operator's explicit request, messages
// whose outcome is unknown (a crash or an outage between the send and its
// record): one by its ledger key, or every one of an account. Each is sent
// at most once, however many resends run at the same time; a message
// already sent is never resent, and a Slack message found where it would
// have gone is recorded sent instead.
func cmdResend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("resend", "resend -c FILE (--key KEY | --account ID)", stderr)
	path := configFlag(fs)
	key := fs.String("key", "", "ledger key of the message, as crmsync history prints it")
	account := fs.String("account", "", "resend every message of unknown outcome of this account: the CRM's id, or source:id")
	cfg, log, err := loadConfig(fs, args, path, logFlags(fs, "warn"), stderr)
	if err != nil {
		return err
	}
	if (*key == "") == (*account == "") {
		fmt.Fprintln(stderr, "crmsync resend: give one of --key or --account")
		fs.Usage()
		return errUsage
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Store.Embedded() {
		return errors.New("resend: no redis.url configured: the in-memory store has nothing to resend")
	}
	keys := []string{*key}
	if *account != "" {
		if keys, err = unknownKeys(ctx, a, *account); err != nil {
			return err
		}
		if len(keys) == 0 {
			fmt.Fprintf(stdout, "no message of unknown outcome for account %s\n", *account)
			return nil
		}
	}
	return resendAll(ctx, a, keys, stdout)
}

// unknownKeys lists the keys of the account's messages of unknown outcome.
func unknownKeys(ctx context.Context, a *app.App, account string) ([]string, error) {
	entries, err := a.UnknownEntries(ctx, account)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	return keys, nil
}

// resendAll resends each of keys and prints what became of it; it fails
// when one could not be resent.
func resendAll(ctx context.Context, a *app.App, keys []string, stdout io.Writer) error {
	failed := 0
	for _, k := range keys {
		outcome, err := a.Resend(ctx, k)
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "%s: not resent: %v\n", k, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: %s\n", k, resendText[outcome])
	}
	if failed > 0 {
		return fmt.Errorf("resend: %d of %d not resent: %w", failed, len(keys), errReported)
	}
	return nil
}

// resendText says what each outcome of a resend means.
var resendText = map[string]string{
	workers.Resent:        "sent",
	workers.ResentWritten: "written to the outbox (nothing was sent)",
	workers.ResendFound:   "already in Slack: recorded sent, not posted again",
	workers.ResendSent:    "already sent: not sent again",
	workers.ResendHeld:    "being sent by another worker or resend: not sent again",
	workers.ResendBlocked: "not sent: the address is on the suppression list",
	workers.ResendLeft:    "outcome unknown again (the provider did not answer in time): still unknown, resend again later",
	workers.ResendRefused: "rejected by the provider: not sent (see crmsync history)",
}
