package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/internal/mondayfake"
)

// mondayConfig is a config with a monday source on fake and a csv one.
func mondayConfig(t *testing.T, fake *mondayfake.Server) *config.Config {
	t.Helper()
	cfg, err := config.Parse("crmsync.yaml", []byte(`notify: {outbox: o}
rule_files: [../examples/rules.yaml]
sources:
  - name: mon
    type: monday
    base_url: `+fake.URL()+`
    auth: {token: `+mondayfake.DefaultToken+`}
    boards:
      accounts: {id: "`+mondayfake.BoardAccounts+`"}
      contacts: {id: "`+mondayfake.BoardContacts+`", columns: {opt_out: contact_opt_out}}
      deals: {id: "`+mondayfake.BoardDeals+`", won: [Won]}
    limits: {daily_calls: 1000}
    fields: {extra: [account_language]}
  - name: files
    type: csv
    path: in
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestMondayFromConfig: a monday source of a config reaches the
// connector with its token, boards and mapping, and syncs the fake
// account into the store; config check builds it offline.
func TestMondayFromConfig(t *testing.T) {
	ctx := context.Background()
	fake := mondayfake.New(mondayfake.Options{})
	defer fake.Close()
	if err := fake.Seed(4, 2, 2); err != nil {
		t.Fatal(err)
	}
	cfg := mondayConfig(t, fake)
	if err := CheckSources(cfg); err != nil {
		t.Fatalf("CheckSources: %v", err)
	}
	if len(fake.Requests()) != 0 {
		t.Fatal("config check sent a request")
	}
	a, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st, err := a.Handlers.Sync.Sync(ctx, "mon", false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Accounts != 4 || st.Contacts != 8 || st.Deals != 8 || st.Owners != 2 {
		t.Errorf("synced %+v; want 4 accounts, 8 contacts, 8 deals, 2 owners", st)
	}
	n, err := a.Store.Records.CountAccounts(ctx)
	if err != nil || n != 4 {
		t.Errorf("store holds %d accounts (%v), want 4", n, err)
	}
}

func TestDescribeSource(t *testing.T) {
	ctx := context.Background()
	fake := mondayfake.New(mondayfake.Options{})
	defer fake.Close()
	if err := fake.Seed(1, 1, 1); err != nil {
		t.Fatal(err)
	}
	cfg := mondayConfig(t, fake)
	log := slog.New(slog.DiscardHandler)
	d, err := DescribeSource(ctx, cfg, "mon", log)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := d.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accounts board 1234567880 (Accounts)", "COLUMN ID", "contact_opt_out", "opt_out", "deal_stage", "stage"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text description lacks %q:\n%s", want, text.String())
		}
	}
	for _, line := range strings.Split(text.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "account_owner" && strings.Join(f, " ") != "account_owner people Owner owner" {
			t.Errorf("line %q, want account_owner people Owner owner", line)
		}
	}
	var js bytes.Buffer
	if err := d.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back SourceDescription
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Boards) != 3 || back.Boards[2].Columns[1].ID != "deal_stage" || back.Boards[2].Columns[1].MappedAs != "stage" {
		t.Errorf("JSON description %s: %v", js.String(), err)
	}
	if _, err := DescribeSource(ctx, cfg, "files", log); !errors.Is(err, ErrNoDescribe) || !strings.Contains(err.Error(), "only monday sources") {
		t.Errorf("describe a csv source: %v, want ErrNoDescribe", err)
	}
	if _, err := DescribeSource(ctx, cfg, "nope", log); err == nil || !strings.Contains(err.Error(), `no source named "nope"`) {
		t.Errorf("describe an unknown source: %v", err)
	}
	fake.RevokeToken(mondayfake.DefaultToken)
	if _, err := DescribeSource(ctx, cfg, "mon", log); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("describe with a revoked token: %v", err)
	}
}
