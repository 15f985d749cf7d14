package workers

import (
	"context"
	"errors"
	"testing"

	"github.com/crmsync/crmsync/rules"
)

func TestExplainAccount(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "ann@example.com", "")
	storeClient(t, s, "2", "bob@example.com", "")
	e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
	rs, err := rules.Parse("rules.yaml", []byte(`
rules:
  - name: quiet
    when: days_inactive >= 90
  - name: key-account
    when: abc == "A" && days_inactive >= 1000
  - name: prospect
    when: account.lifecycle == "prospect"
`))
	if err != nil {
		t.Fatal(err)
	}
	e.Rules = rs
	x, err := e.Explain(ctx, evalNow, "crm:1")
	if err != nil {
		t.Fatal(err)
	}
	if x.AccountID != "crm:1" || x.Account != "Acme 1" || x.Owner != "Rep" || x.Features["abc"] != "C" {
		t.Errorf("account = %s %q owner %q abc %v; want crm:1 Acme 1, owner Rep, class C from the portfolio's segmentation (no revenue)", x.AccountID, x.Account, x.Owner, x.Features["abc"])
	}
	want := []string{
		"quiet: flagged — days_inactive >= 90 is true (days_inactive = 730)",
		`key-account: not flagged — abc == "A" is false (abc = "C")`,
		`prospect: not flagged — account.lifecycle == "prospect" is false (account.lifecycle = "customer")`,
	}
	if len(x.Rules) != len(want) {
		t.Fatalf("%d explanations, want %d", len(x.Rules), len(want))
	}
	for i, w := range want {
		if got := x.Rules[i].String(); got != w {
			t.Errorf("rule %d:\ngot  %s\nwant %s", i, got, w)
		}
	}
}

func TestExplainUnknownAccount(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "12345", "ann@example.com", "")
	e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
	tests := []struct {
		id, want string
	}{
		{"crm:12346", `no account "crm:12346" (did you mean crm:12345 (Acme 12345)?)`},
		{"12354", `no account "12354" (did you mean crm:12345 (Acme 12345)?)`},
		{"acme 1234", `no account "acme 1234" (did you mean crm:12345 (Acme 12345)?)`},
		{"zzz:999", `no account "zzz:999"`},
	}
	for _, tt := range tests {
		_, err := e.Explain(ctx, evalNow, tt.id)
		var unknown *UnknownAccountError
		if !errors.As(err, &unknown) || err.Error() != tt.want {
			t.Errorf("Explain(%q) = %v, want %s", tt.id, err, tt.want)
		}
	}
}
