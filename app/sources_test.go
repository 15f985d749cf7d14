package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/internal/dynamicsfake"
	"github.com/crmsync/crmsync/internal/salesforcefake"
	"github.com/crmsync/crmsync/model"
)

// TestExampleCRMConfig loads examples/crm.yaml, which shows every auth
// flow of the API connectors, and builds its connectors offline.
func TestExampleCRMConfig(t *testing.T) {
	dir := t.TempDir()
	key, dynCert, dynKey := filepath.Join(dir, "salesforce.key"), filepath.Join(dir, "crmsync.crt"), filepath.Join(dir, "crmsync.key")
	for file, data := range map[string][]byte{
		key: salesforcefake.PrivateKeyPEM(), dynCert: dynamicsfake.Certificate().CertPEM(), dynKey: dynamicsfake.Certificate().KeyPEM(),
	} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{
		"HUBSPOT_PRIVATE_APP_TOKEN": "pat-na1-x", "HUBSPOT_CLIENT_ID": "id", "HUBSPOT_CLIENT_SECRET": "s",
		"HUBSPOT_REFRESH_TOKEN": "r", "SALESFORCE_CONSUMER_KEY": "ck", "SALESFORCE_USERNAME": "u@example.com",
		"SALESFORCE_PRIVATE_KEY_FILE": key, "SALESFORCE_CONSUMER_SECRET": "cs", "SALESFORCE_REFRESH_TOKEN": "rt",
		"DYNAMICS_TENANT_ID": "contoso.onmicrosoft.com", "DYNAMICS_CLIENT_ID": "11111111-1111-1111-1111-111111111111",
		"DYNAMICS_CLIENT_SECRET": "ds", "DYNAMICS_CERTIFICATE_FILE": dynCert, "DYNAMICS_PRIVATE_KEY_FILE": dynKey,
		"SELLSY_ACCOUNT_ID": "123456", "SELLSY_CLIENT_ID": "sc", "SELLSY_CLIENT_SECRET": "ss",
		"SELLSY_OAUTH_CLIENT_ID": "oc", "SELLSY_OAUTH_CLIENT_SECRET": "os", "SELLSY_REFRESH_TOKEN": "rt",
		"MONDAY_TOKEN": "eyJhbGciOiJIUzI1NiJ9.x.y",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.Load(filepath.Join("..", "examples", "crm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	flows := map[string]bool{}
	for _, s := range cfg.Sources {
		flows[s.Type+" "+s.Auth.Flow()] = true
	}
	for _, want := range []string{"hubspot token", "hubspot refresh_token", "salesforce jwt_bearer", "salesforce client_credentials", "salesforce refresh_token",
		"dynamics client_credentials", "dynamics client_certificate", "sellsy client_credentials", "sellsy refresh_token", "monday token"} {
		if !flows[want] {
			t.Errorf("examples/crm.yaml lacks the %s flow", want)
		}
	}
	if err := CheckSources(cfg); err != nil {
		t.Fatalf("CheckSources: %v", err)
	}
}

func TestCheckSourcesRefusesABadKey(t *testing.T) {
	key := filepath.Join(t.TempDir(), "salesforce.key")
	if err := os.WriteFile(key, []byte("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("crmsync.yaml", []byte(`notify: {outbox: o}
rule_files: [../examples/rules.yaml]
sources:
  - {name: sf, type: salesforce, auth: {client_id: ck, username: u, private_key_file: `+key+`}}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	err = CheckSources(cfg)
	if err == nil || !strings.Contains(err.Error(), "source sf:") || strings.Contains(err.Error(), "not a key") {
		t.Fatalf("CheckSources = %v; want an error naming the source, not quoting the key", err)
	}
}

// TestCSVFormatFromConfig: the CSV format keys of a config reach the
// connector: the French export fixture syncs into its 14 records, its 3
// bad rows set aside.
func TestCSVFormatFromConfig(t *testing.T) {
	ctx := context.Background()
	dir, err := filepath.Abs(filepath.Join("..", "connectors", "csv", "testdata", "fr-export"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("crmsync.yaml", []byte(`notify: {outbox: o}
rule_files: [../examples/rules.yaml]
sources:
  - {name: fr, type: csv, path: `+dir+`, delimiter: ";", encoding: windows-1252, date_format: DD/MM/YYYY, decimal: ","}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st, err := a.Handlers.Sync.Sync(ctx, "fr", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Accounts + st.Contacts + st.Deals + st.Owners; got != 14 || st.Rejects != 3 {
		t.Errorf("synced %d records, %d rejects (%+v); want 14 and 3", got, st.Rejects, st)
	}
}

// TestDynamicsFromConfig: a dynamics source of a config reaches the
// connector with its credentials, token URL and mapping: it syncs the
// fake organization's accounts, contacts, deals and owners into the store.
func TestDynamicsFromConfig(t *testing.T) {
	ctx := context.Background()
	fake := dynamicsfake.New(dynamicsfake.Options{})
	defer fake.Close()
	if err := fake.Seed(4, 2, 2, 1); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("crmsync.yaml", []byte(`notify: {outbox: o}
rule_files: [../examples/rules.yaml]
sources:
  - name: d365
    type: dynamics
    base_url: `+fake.URL()+`
    auth:
      tenant_id: `+dynamicsfake.DefaultTenantID+`
      client_id: `+dynamicsfake.DefaultClientID+`
      client_secret: `+dynamicsfake.DefaultClientSecret+`
      token_url: `+fake.TokenURL()+`
    limits: {requests_per_5min: 600}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st, err := a.Handlers.Sync.Sync(ctx, "d365", false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Accounts != fake.Len("accounts") || st.Contacts != fake.Len("contacts") || st.Owners != fake.Len("systemusers") {
		t.Errorf("synced %+v; want %d accounts, %d contacts, %d owners", st,
			fake.Len("accounts"), fake.Len("contacts"), fake.Len("systemusers"))
	}
	n, err := a.Store.Records.CountAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(fake.Len("accounts")) {
		t.Errorf("store holds %d accounts, want %d", n, fake.Len("accounts"))
	}
	if fake.Count(dynamicsfake.KindToken) == 0 {
		t.Error("no token was asked of the configured token_url")
	}
}

// sweepLog is a store's sweeps that records the sweeps asked for.
type sweepLog struct {
	err   error
	asked []string
}

func (l *sweepLog) BeginSweepIfStored(_ context.Context, source string, _ time.Time) (bool, error) {
	l.asked = append(l.asked, source)
	return l.err == nil, l.err
}

// TestBeginSweepHook: the connectors' hook asks the store for a sweep of
// its own source (which opens one only when the source is stored:
// store's BeginSweepIfStored), and a store that cannot answer fails the
// pull.
func TestBeginSweepHook(t *testing.T) {
	broken := errors.New("redis down")
	tests := []struct {
		name    string
		log     sweepLog
		wantErr error
	}{
		{name: "asked of the store", log: sweepLog{}},
		{name: "cannot tell: the pull fails", log: sweepLog{err: broken}, wantErr: broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := beginSweep(&tt.log, "crm")(t.Context(), time.Now())
			if !errors.Is(err, tt.wantErr) || !slices.Equal(tt.log.asked, []string{"crm"}) {
				t.Errorf("err %v, asked %v; want %v, [crm]", err, tt.log.asked, tt.wantErr)
			}
		})
	}
	if beginSweep(nil, "crm") != nil {
		t.Error("without a store (config check), the hook must be nil")
	}
}

// TestCSVResyncSweepsRemovedRows: once the sample is stored (its first
// sync opened no sweep: beginSweep), a row removed from accounts.csv
// takes its account out of the store at the next sync.
func TestCSVResyncSweepsRemovedRows(t *testing.T) {
	path, err := PrepareDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, loadConfig(t, path), Options{})
	ctx := t.Context()
	if _, err := a.Handlers.Sync.Sync(ctx, "sample", false); err != nil {
		t.Fatal(err)
	}
	gone := model.ID("sample", "A00002")
	if _, ok, err := a.Store.Records.Client(ctx, gone); err != nil || !ok {
		t.Fatalf("after the first sync, %s stored %v (%v), want stored", gone, ok, err)
	}
	file := filepath.Join(filepath.Dir(path), "sample", "accounts.csv")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	kept := slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "A00002,") })
	if err := os.WriteFile(file, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Handlers.Sync.Sync(ctx, "sample", false); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.Store.Records.Client(ctx, gone); err != nil || ok {
		t.Errorf("after its row was removed, %s stored %v (%v), want swept", gone, ok, err)
	}
	if _, ok, _ := a.Store.Records.Client(ctx, model.ID("sample", "A00001")); !ok {
		t.Error("A00001, still in the file, was swept")
	}
}
