package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/outbox"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// unknownSetup writes the demo's config (outbox delivery) on a fresh
// namespace of the real Redis, and leaves in its ledger an email of
// account sample:A00042 whose outcome is unknown: claimed by a task that
// died before recording it. It returns the config's path, the store and
// the message.
func unknownSetup(t *testing.T, n int) (string, *store.Store, []notify.Message) {
	t.Helper()
	path, st := evaluateSetup(t)
	var msgs []notify.Message
	for i := range n {
		to := []string{"ann@acme.example", "bob@acme.example", "cy@acme.example"}[i]
		m := notify.Message{
			LedgerKey: workers.LedgerKey("inactive-90-days", "sample:A00042", notify.Email, to, "p1"),
			Channel:   notify.Email, Rule: "inactive-90-days", AccountID: "sample:A00042", To: to,
			Subject: "Shall we catch up?", Text: "Hello", CreatedAt: time.Now(),
		}
		e := store.Entry{Key: m.LedgerKey, Rule: m.Rule, AccountID: m.AccountID, Recipient: to, Channel: "email"}
		ctx := context.Background()
		st.Ledger.Claim(ctx, e, "dead-task", workers.ClaimLease, time.Now())
		if res, _ := st.Ledger.Claim(ctx, e, "dead-task", workers.ClaimLease, time.Now()); res != store.NowUnknown {
			t.Fatalf("setup: claim = %v", res)
		}
		body, _ := json.Marshal(m)
		if err := st.Ledger.KeepMessage(ctx, m.LedgerKey, body); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	return path, st, msgs
}

// outboxEmails reads the emails the outbox next to config holds.
func outboxEmails(t *testing.T, config string) []notify.Message {
	t.Helper()
	path := filepath.Join(filepath.Dir(config), "outbox", "email.jsonl")
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	msgs, err := outbox.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestHistoryShowsUnknownOutcomes(t *testing.T) {
	path, _, msgs := unknownSetup(t, 1)
	code, stdout, stderr := runCLI(t, "history", "-c", path, "--account", "A00042")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"unknown email ann@acme.example  rule inactive-90-days  account sample:A00042",
		"outcome unknown: claimed at ",
		"resend: crmsync resend -c " + path + " --key '" + msgs[0].LedgerKey + "'",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("history lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runCLI(t, "history", "-c", path, "--account", "A00042", "--format", "json")
	if code != exitOK || !strings.Contains(stdout, `"status": "unknown"`) || !strings.Contains(stdout, `"claimed_at"`) {
		t.Errorf("json history: exit %d\n%s", code, stdout)
	}
}

func TestResendCommand(t *testing.T) {
	path, st, msgs := unknownSetup(t, 1)
	key := msgs[0].LedgerKey
	code, stdout, stderr := runCLI(t, "resend", "-c", path, "--key", key)
	if code != exitOK || !strings.Contains(stdout, key+": written to the outbox") {
		t.Fatalf("resend: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := outboxEmails(t, path); len(got) != 1 || got[0].LedgerKey != key || got[0].Subject != "Shall we catch up?" {
		t.Fatalf("outbox holds %+v; want the kept message, once", got)
	}
	if e, _ := st.Ledger.Entry(context.Background(), key); e.Status != store.StatusWritten {
		t.Fatalf("entry after the resend: %+v", e)
	}
	// Never again: the entry is sent.
	code, stdout, _ = runCLI(t, "resend", "-c", path, "--key", key)
	if code != exitOK || !strings.Contains(stdout, "already sent: not sent again") || len(outboxEmails(t, path)) != 1 {
		t.Fatalf("second resend: exit %d\n%s", code, stdout)
	}
	// A key that does not exist.
	code, stdout, _ = runCLI(t, "resend", "-c", path, "--key", "nope")
	if code != exitFailure || !strings.Contains(stdout, "nope: not resent") {
		t.Errorf("unknown key: exit %d\n%s", code, stdout)
	}
	for _, args := range [][]string{{"resend", "-c", path}, {"resend", "-c", path, "--key", "k", "--account", "a"}} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestResendAccountConcurrently(t *testing.T) {
	path, _, msgs := unknownSetup(t, 3)
	var wg sync.WaitGroup
	outs := make([]string, 4)
	for i := range outs {
		wg.Go(func() {
			code, stdout, stderr := runCLI(t, "resend", "-c", path, "--account", "A00042")
			if code != exitOK {
				t.Errorf("resend %d: exit %d\n%s%s", i, code, stdout, stderr)
			}
			outs[i] = stdout
		})
	}
	wg.Wait()
	got := map[string]int{}
	for _, m := range outboxEmails(t, path) {
		got[m.LedgerKey]++
	}
	for _, m := range msgs {
		if got[m.LedgerKey] != 1 {
			t.Errorf("%s written %d times by 4 concurrent resends, want once", m.LedgerKey, got[m.LedgerKey])
		}
	}
	if len(got) != len(msgs) {
		t.Errorf("outbox holds %v", got)
	}
	code, stdout, _ := runCLI(t, "resend", "-c", path, "--account", "A00042")
	if code != exitOK || !strings.Contains(stdout, "no message of unknown outcome") {
		t.Errorf("resend once all are sent: exit %d\n%s", code, stdout)
	}
}
