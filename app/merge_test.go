package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/notify"
)

// mergeFiles are three CSV sources holding overlapping companies under
// different ids: Acme in all three (same domain; legacy has no domain but
// shares a contact), Beta in two, Gamma and Delta in one each.
var mergeFiles = map[string]string{
	"marketing/accounts.csv": "id,name,owner_id,lifecycle,domain,created_at,last_activity_at\n" +
		"M1,Acme Corp,MO,prospect,www.acme.com,2024-01-10,2026-06-01\n" +
		"M2,Beta,MO,customer,beta.io,2024-01-10,2026-06-01\n" +
		"M3,Gamma,MO,customer,gamma.fr,2024-01-10,2026-06-01\n",
	"marketing/contacts.csv": "id,account_id,first_name,email,opt_out,primary\n" +
		"MC1,M1,Jo,jo@acme.com,false,true\n" +
		"MC2,M2,Eve,eve@beta.io,false,true\n" +
		"MC3,M3,Gus,gus@gamma.fr,false,true\n",
	"marketing/deals.csv":  "id,account_id,name,amount,won,closed_at\nMD1,M1,Ads,2000,true,2026-03-01\nMD3,M3,Ads,300,true,2026-03-01\n",
	"marketing/owners.csv": "id,name,email\nMO,Mo Marketing,mo@example.com\n",
	"invoicing/accounts.csv": "id,name,owner_id,lifecycle,domain,created_at,last_activity_at\n" +
		"I1,ACME SAS,IVY,customer,acme.com,2023-05-01,2026-05-01\n" +
		"I2,Beta SARL,,customer,beta.io,2023-05-01,2026-05-01\n" +
		"I3,Delta GmbH,IVY,customer,delta.de,2023-05-01,2026-05-01\n",
	"invoicing/contacts.csv": "id,account_id,first_name,email,opt_out,primary\n" +
		"IC1,I1,Jo,JO@acme.com,true,false\n" +
		"IC3,I3,Dora,dora@delta.de,false,true\n",
	"invoicing/deals.csv": "id,account_id,name,amount,won,closed_at\n" +
		"ID1,I1,Invoice,8000,true,2026-04-01\nID2,I2,Invoice,1000,true,2026-04-01\nID3,I3,Invoice,500,true,2026-04-01\n",
	"invoicing/owners.csv": "id,name,email\nIVY,Ivy Invoicing,ivy@example.com\n",
	"legacy/accounts.csv": "id,name,owner_id,lifecycle,domain,created_at,last_activity_at\n" +
		"L1,Acme (old),LOU,customer,,2019-01-01,2026-07-01\n" +
		"L2,Beta (old),LOU,customer,,2019-01-01,2026-07-01\n",
	"legacy/contacts.csv": "id,account_id,first_name,email,opt_out,primary\nLC1,L1,Jo,jo@acme.com,false,false\nLC2,L2,Eve,eve@beta.io,false,false\n",
	"legacy/deals.csv":    "id,account_id,name,amount,won,closed_at\nLD1,L1,Order,400,true,2026-02-01\nLD2,L2,Order,700,true,2026-02-01\n",
	"legacy/owners.csv":   "id,name,email\nLOU,Lou Legacy,lou@example.com\n",
	"rules.yaml": `rules:
  - name: quiet
    when: days_inactive >= 90
    cooldown: 30d
    actions:
      - email: {to: primary_contact, template: reengage-90d}
      - slack: {to: owner}
`,
	"crmsync.yaml": `timezone: UTC
sources:
  - {name: marketing, type: csv, path: marketing}
  - {name: invoicing, type: csv, path: invoicing}
  - {name: legacy, type: csv, path: legacy}
merge:
  by: [domain, contact_email]
  precedence: [invoicing, marketing]
notify: {outbox: outbox}
rule_files: [rules.yaml]
`,
}

// TestMergeSources: the same companies in three sources make one
// portfolio account each, with revenue summed and ABC computed once over
// the merged accounts; the owner follows the precedence; an opt-out in
// one source holds for all; a source that drops a company removes only
// its part.
func TestMergeSources(t *testing.T) {
	dir := t.TempDir()
	for name, data := range mergeFiles {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "crmsync.yaml")
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(b, redistest.ConfigLine(t)...), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startApp(t, loadConfig(t, path))
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	p := mergePass(t, a, now)

	r := p.Report
	if r.Accounts != 4 || r.Revenue != 12900 {
		t.Errorf("portfolio: %d accounts, revenue %v; want 4 (not 8) and 12,900", r.Accounts, r.Revenue)
	}
	if r.ABC["A"].Accounts+r.ABC["B"].Accounts+r.ABC["C"].Accounts != 4 || r.ABC["A"].Accounts != 1 || r.ABC["A"].Revenue != 10400 {
		t.Errorf("ABC = A %+v B %+v C %+v; want Acme alone in A with 10,400", r.ABC["A"], r.ABC["B"], r.ABC["C"])
	}
	if m := r.Merge; m == nil || m.Accounts != 8 || m.Groups != 2 || m.Merged != 4 || m.Conflicts != 0 {
		t.Errorf("merge stats = %+v", r.Merge)
	}
	slack := p.Written[notify.Slack]
	to := map[string][]string{}
	for _, m := range slack {
		to[m.To] = append(to[m.To], m.AccountID)
	}
	if got := to["ivy@example.com"]; !slices.Equal(sorted(got), []string{"invoicing:I1", "invoicing:I3"}) {
		t.Errorf("Ivy got %v; want Acme (invoicing first in precedence) and Delta", got)
	}
	if got := to["mo@example.com"]; !slices.Equal(sorted(got), []string{"invoicing:I2", "marketing:M3"}) {
		t.Errorf("Mo got %v; want Beta (invoicing has no owner, marketing comes before legacy) and Gamma", got)
	}
	if got := to["lou@example.com"]; len(got) != 0 {
		t.Errorf("Lou (legacy, last in precedence) got %v", got)
	}
	for _, m := range p.Written[notify.Email] {
		if strings.EqualFold(m.To, "jo@acme.com") {
			t.Errorf("emailed %s, who unsubscribed in invoicing", m.To)
		}
	}
	if len(slack) != 4 || len(p.Written[notify.Email]) != 3 {
		t.Errorf("%d Slack and %d emails, want 4 and 3 (Beta, Gamma, Delta)", len(slack), len(p.Written[notify.Email]))
	}

	x, err := a.Handlers.Evaluate.Explain(t.Context(), now, "legacy:L1")
	if err != nil {
		t.Fatal(err)
	}
	if x.AccountID != "invoicing:I1" || !slices.Equal(x.Sources, []string{"invoicing:I1", "marketing:M1", "legacy:L1"}) || x.Features["revenue_12m"] != 10400.0 {
		t.Errorf("explain legacy:L1 = %s %v revenue %v", x.AccountID, x.Sources, x.Features["revenue_12m"])
	}
	if got := a.ResolveAccount(t.Context(), "L1"); got != "invoicing:I1" {
		t.Errorf("ResolveAccount(L1) = %q, want the merged account invoicing:I1", got)
	}
	// The dashboard reads the merged portfolio too: 4 accounts, Acme in A
	// with its three sources.
	book, err := a.webData().Book(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fig, err := book.Scores.Figures(t.Context(), insights.Filter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	acme, err := book.Scores.Scored(t.Context(), []string{"invoicing:I1"})
	if err != nil {
		t.Fatal(err)
	}
	if fig.Accounts != 4 || fig.ABC[0].Accounts != 1 || len(acme) != 1 || acme[0].Features.ABC != "A" || len(acme[0].Sources) != 3 {
		t.Errorf("dashboard: %d accounts, %d in A, Acme %+v; want 4, 1, Acme in A from 3 sources", fig.Accounts, fig.ABC[0].Accounts, acme)
	}

	// legacy stops having Acme: only its part leaves
	legacy := filepath.Join(dir, "legacy/accounts.csv")
	if err := os.WriteFile(legacy, []byte("id,name,owner_id,lifecycle,domain,created_at,last_activity_at\nL2,Beta (old),LOU,customer,,2019-01-01,2026-07-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p = mergePass(t, a, now.Add(24*time.Hour))
	if r := p.Report; r.Accounts != 4 || r.Revenue != 12500 || r.ABC["A"].Revenue != 10000 || r.Merge.Merged != 3 {
		t.Errorf("after legacy dropped Acme: %d accounts, revenue %v, A %+v, merge %+v; want 4, 12,500, Acme at 10,000", r.Accounts, r.Revenue, r.ABC["A"], r.Merge)
	}
}

func mergePass(t *testing.T, a *App, now time.Time) DemoPass {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := a.Demo(ctx, DemoOptions{Now: now, Passes: 1}, &out)
	if err != nil {
		t.Fatalf("pass: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "merged sources: 8 accounts read") && now.Day() == 1 {
		t.Errorf("the report does not say what was merged:\n%s", out.String())
	}
	return res.Passes[0]
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
