package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/workers"
)

func TestPrintPreviewHeldBack(t *testing.T) {
	tests := []struct {
		name string
		held []string
		want string // the held back line; "" for none
	}{
		{"nothing held back", nil, ""},
		{"an invalid address", []string{"invalid_email name@mail"}, "    held back: invalid email name@mail\n"},
		{"an address with underscores", []string{"invalid_email ann_lee@company-name"}, "    held back: invalid email ann_lee@company-name\n"},
		{"several reasons", []string{"inhibited", "cooldown until 2026-12-01 07:00:00", "frequency_cap", "opted_out"},
			"    held back: inhibited, cooldown until 2026-12-01 07:00:00, frequency cap, opted out\n"},
		{"a reason preview does not know", []string{"folded_somewhere into x"}, "    held back: folded somewhere into x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			flags := []workers.Flag{{
				Rule: "inactive-90-days", AccountID: "crm:1", Account: "Acme", HeldBack: tt.held,
				Messages: []notify.Message{{Channel: notify.Slack, To: "#sales", Text: "Acme is quiet"}},
			}}
			printPreview(&b, &previewResult{Totals: previewTotalsOf(1, nil, flags), Flags: flags}, false)
			out := b.String()
			if tt.want == "" {
				if strings.Contains(out, "held back:") {
					t.Errorf("preview shows a held back line:\n%s", out)
				}
				return
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("preview lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

// previewFlags are two rules' flags interleaved by account id, as a
// preview returns them, and a digest.
var previewFlags = []workers.Flag{
	{Rule: "quiet", AccountID: "crm:1", Account: "Small", Expression: "days_inactive >= 90", Features: map[string]any{"revenue_12m": 10.0},
		Messages: []notify.Message{{Channel: notify.Email, To: "a@small.example", Subject: "We miss you", Text: "Hello\nIt has been a while."}},
		HeldBack: []string{"inhibited"}},
	{Rule: "churning", AccountID: "crm:1", Account: "Small", Expression: "abc == \"A\"", Features: map[string]any{"revenue_12m": 10.0},
		HeldBack: []string{"cooldown until 2026-12-01 07:00:00"}},
	{Rule: "quiet", AccountID: "crm:2", Account: "Big", Expression: "days_inactive >= 90", Features: map[string]any{"revenue_12m": 9000.0},
		Messages: []notify.Message{{Channel: notify.Slack, To: "rep@corp.example", Text: "Big has been quiet\nfor 120 days",
			Blocks: json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"*Big* is quiet"}},{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Open"}}]}]`)}}},
	{Rule: "quiet", AccountID: "crm:3", Account: "=HYPERLINK(\"x\")", Expression: "days_inactive >= 90", Features: map[string]any{"revenue_12m": 500.0},
		HeldBack: []string{"deferred over limits.per_pass.emails (200): to a later pass", "frequency_cap"},
		Deferred: []notify.Message{{Channel: notify.Email, To: "c@three.example", Subject: "We miss you"}}},
	{Rule: "quiet", AccountID: "digest:rep@corp.example", Account: "digest of 2 accounts to rep@corp.example",
		Messages: []notify.Message{{Channel: notify.Slack, To: "rep@corp.example", Text: "2 of your clients need attention"}}},
}

func TestPrintPreviewTotalsFirstGroupedByRule(t *testing.T) {
	var b strings.Builder
	flags := append(slices.Clone(previewFlags), workers.Flag{Rule: "digest", AccountID: "digest:#key-accounts", Account: "digest of 40 accounts to #key-accounts",
		Messages: []notify.Message{{Channel: notify.Slack, To: "#key-accounts", Text: "40 clients need attention"}}})
	res := &previewResult{Totals: previewTotalsOf(40, []string{"churning", "quiet", "idle"}, flags), Flags: flags}
	printPreview(&b, res, false)
	out := b.String()
	// In this order: the totals, churning's group, quiet's accounts by
	// revenue, quiet's digest.
	order := []string{
		"Preview: 40 accounts evaluated, 4 flags, 1 email, 3 Slack messages would be sent (nothing was sent), 1 deferred to later passes\n",
		"churning  1        0       0      0         cooldown 1\n",
		"quiet     3        1       2      1         frequency cap 1, inhibited 1\n",
		"idle      0        0       0      0         -\n",
		"digest    0        0       1      0         -\n",
		"== churning: 1 account flagged, 0 messages ==\nwhen: abc == \"A\"\n  crm:1  Small\n",
		"== quiet: 3 accounts flagged, 1 email, 2 Slack messages ==\nwhen: days_inactive >= 90\n",
		"  crm:2  Big\n", "    slack to rep@corp.example: Big has been quiet …\n",
		"  crm:3  =HYPERLINK(\"x\")\n    with: revenue_12m=500\n    held back: deferred over limits.per_pass.emails (200): to a later pass, frequency cap\n",
		"  crm:1  Small\n", "    email to a@small.example: \"We miss you\"\n",
		"Digests of quiet\n  digest of 2 accounts to rep@corp.example\n    slack to rep@corp.example: 2 of your clients need attention\n",
		"\n== Digests (digest): 1 Slack message ==\n  digest of 40 accounts to #key-accounts\n    slack to #key-accounts: 40 clients need attention\n",
	}
	rest := out
	for _, want := range order {
		i := strings.Index(rest, want)
		if i < 0 {
			t.Fatalf("preview lacks, or has out of order, %q:\n%s", want, out)
		}
		rest = rest[i+len(want):]
	}
	if strings.Contains(out, "== idle") {
		t.Errorf("a rule without flags has a group:\n%s", out)
	}
}

func TestPrintPreviewShowMessages(t *testing.T) {
	var b strings.Builder
	res := &previewResult{Totals: previewTotalsOf(40, nil, previewFlags), Flags: previewFlags}
	printPreview(&b, res, true)
	out := b.String()
	for _, want := range []string{
		"    email to a@small.example\n      subject: We miss you\n      text:\n        Hello\n        It has been a while.\n",
		"    slack to rep@corp.example\n      fallback text:\n        Big has been quiet\n        for 120 days\n      blocks:\n        *Big* is quiet\n        Open\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("preview --show-messages lacks %q:\n%s", want, out)
		}
	}
}

func TestPrintPreviewExplanations(t *testing.T) {
	var b strings.Builder
	res := &previewResult{
		Totals:  previewTotalsOf(40, []string{"quiet"}, nil),
		Account: &workers.AccountExplanation{AccountID: "crm:9", Account: "Nine", Owner: "Bea", Features: map[string]any{"days_inactive": 23}},
		Explanations: []rules.Explanation{{Rule: "quiet", Conditions: []rules.Condition{{Expr: "days_inactive >= 90",
			Operands: []rules.Operand{{Expr: "days_inactive", Value: 23}}}}}},
	}
	printPreview(&b, res, false)
	want := "\nAccount crm:9  Nine  (owner Bea)\n    features: days_inactive=23\n  quiet: not flagged — days_inactive >= 90 is false (days_inactive = 23)\n"
	if !strings.HasSuffix(b.String(), want) {
		t.Errorf("got\n%s\nwant it to end with\n%s", b.String(), want)
	}
}

func TestWritePreviewCSV(t *testing.T) {
	var b bytes.Buffer
	flags := append(previewFlags, workers.Flag{Rule: "quiet", AccountID: "crm:4", Account: "Four",
		Messages: []notify.Message{{Channel: notify.Email, To: "x@four.example", Subject: "Hi", NotBefore: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)}}})
	if err := writePreviewCSV(&b, flags); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"rule", "account_id", "account", "channel", "to", "status", "subject", "detail"},
		{"quiet", "crm:1", "Small", "email", "a@small.example", "would_send", "We miss you", ""},
		{"quiet", "crm:1", "Small", "", "", "held_back:inhibited", "", ""},
		{"churning", "crm:1", "Small", "", "", "held_back:cooldown", "", "until 2026-12-01 07:00:00"},
		{"quiet", "crm:2", "Big", "slack", "rep@corp.example", "would_send", "Big has been quiet …", ""},
		{"quiet", "crm:3", "'=HYPERLINK(\"x\")", "email", "c@three.example", "deferred", "We miss you", "to a later pass (limits.per_pass)"},
		{"quiet", "crm:3", "'=HYPERLINK(\"x\")", "", "", "held_back:frequency_cap", "", ""},
		{"quiet", "digest:rep@corp.example", "digest of 2 accounts to rep@corp.example", "slack", "rep@corp.example", "would_send", "2 of your clients need attention", ""},
		{"quiet", "crm:4", "Four", "email", "x@four.example", "would_send", "Hi", "not before 2026-11-21T08:00:00Z"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
}

func TestPreviewAnswersWhyNot(t *testing.T) {
	cfg, err := app.PrepareDemo(t.TempDir()) // the demo's config and the bundled sample, in an embedded store
	if err != nil {
		t.Fatal(err)
	}
	const now = "2026-11-20T09:00:00Z"
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout []string
		wantStderr []string
	}{
		{name: "an account no rule flags names each rule's failing condition",
			args: []string{"--account", "A00001"}, code: exitOK,
			wantStdout: []string{
				"Account sample:A00001  Initech Biotech SARL  (owner ",
				"    features: abc=C ",
				`  inactive-90-days: not flagged — account.lifecycle == "customer" is false (account.lifecycle = "former")`,
				`  high-value-churning: not flagged — abc == "A" is false (abc = "C")`,
			}},
		{name: "a flagged account shows its flag and why the other rule does not flag it",
			args: []string{"--account", "A00042"}, code: exitOK,
			wantStdout: []string{
				"== high-value-churning: 1 account flagged",
				"  sample:A00042  ",
				"  high-value-churning: flagged — ",
				"  inactive-90-days: not flagged — ",
			}},
		{name: "an unknown account is an error with a suggestion",
			args: []string{"--account", "sample:A0042"}, code: exitFailure,
			wantStderr: []string{`no account "sample:A0042" (did you mean sample:A00042 (`}},
		{name: "a misspelt rule gets a suggestion",
			args: []string{"--rule", "inactve-90-days"}, code: exitFailure,
			wantStderr: []string{`no rule named "inactve-90-days" (did you mean "inactive-90-days"?)`}},
		{name: "an unknown owner has no flags",
			args: []string{"--owner", "nobody@example.com"}, code: exitOK,
			wantStdout: []string{" accounts evaluated, 0 flags, ", "\ninactive-90-days     0        0       0      0 ", "\nhigh-value-churning  0        0       0      0 "}},
		{name: "a bad format is a usage error",
			args: []string{"--format", "xml"}, code: exitUsage,
			wantStderr: []string{"want table, json or csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"preview", "-c", cfg, "--now", now}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
	t.Run("json names the failing conditions", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "preview", "-c", cfg, "--now", now, "--account", "A00001", "--format", "json")
		var res struct {
			Totals       struct{ Accounts, Flags int }
			Flags        []workers.Flag
			Account      workers.AccountExplanation
			Explanations []rules.Explanation
		}
		if err := json.Unmarshal([]byte(stdout), &res); code != exitOK || err != nil {
			t.Fatalf("exit %d, %v: %s", code, err, stderr)
		}
		if res.Totals.Accounts == 0 || res.Totals.Flags != 0 || len(res.Flags) != 0 && !isDigest(res.Flags[0]) || res.Account.AccountID != "sample:A00001" {
			t.Errorf("totals %+v, %d flags, account %q: want the portfolio evaluated, no flag on sample:A00001", res.Totals, len(res.Flags), res.Account.AccountID)
		}
		if len(res.Explanations) != 2 {
			t.Fatalf("%d explanations, want one per rule", len(res.Explanations))
		}
		for _, e := range res.Explanations {
			if e.Matched || len(e.Conditions) == 0 || e.Conditions[0].Holds {
				t.Errorf("%s: %+v, want not matched, with the false condition", e.Rule, e)
			}
		}
	})
}
