package app

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/internal/sellsyfake"
)

// sellsyConfig is a config with one sellsy source on the fake, signing
// in with auth (YAML flow mapping entries).
func sellsyConfig(t *testing.T, fake *sellsyfake.Server, auth string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("crmsync.yaml", []byte(`notify: {outbox: o}
rule_files: [../examples/rules.yaml]
sources:
  - name: sy
    type: sellsy
    account_id: "4242"
    base_url: `+fake.URL()+`
    auth: {client_id: `+sellsyfake.DefaultClientID+`, client_secret: `+sellsyfake.DefaultClientSecret+`, token_url: "`+fake.TokenURL()+`"`+auth+`}
    limits: {daily_reserve: "10", full_every: 2d, won_rescan: 0s}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSellsyFromConfig: a sellsy source with a refresh token syncs the
// fake account into the store, and the refresh token Sellsy rotated is
// kept by the store for the next start.
func TestSellsyFromConfig(t *testing.T) {
	ctx := context.Background()
	fake := sellsyfake.New(sellsyfake.Options{})
	defer fake.Close()
	if err := fake.Seed(4, 2, 2, 2, 1); err != nil {
		t.Fatal(err)
	}
	cfg := sellsyConfig(t, fake, ", refresh_token: "+sellsyfake.DefaultRefreshToken)
	if err := CheckSources(cfg); err != nil {
		t.Fatalf("CheckSources: %v", err)
	}
	a, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st, err := a.Handlers.Sync.Sync(ctx, "sy", false)
	if err != nil {
		t.Fatal(err)
	}
	accounts := fake.Len(sellsyfake.KindCompanies) + fake.Len(sellsyfake.KindIndividuals)
	if st.Accounts != accounts || st.Owners != 2 || st.Rejects != 0 {
		t.Errorf("synced %+v; want %d accounts, 2 owners, no rejects", st, accounts)
	}
	n, err := a.Store.Records.CountAccounts(ctx)
	if err != nil || n != int64(accounts) {
		t.Errorf("store holds %d accounts (%v), want %d", n, err, accounts)
	}
	kept, err := a.Store.Syncs.RefreshToken(ctx, "sy", sellsyfake.DefaultRefreshToken)
	if err != nil || kept != fake.RefreshToken() || kept == sellsyfake.DefaultRefreshToken {
		t.Errorf("kept refresh token %q (%v); want the rotated %q", kept, err, fake.RefreshToken())
	}
}

// TestSellsyClientCredentialsOffline: config check builds a personal
// client's source without sending anything.
func TestSellsyClientCredentialsOffline(t *testing.T) {
	fake := sellsyfake.New(sellsyfake.Options{})
	defer fake.Close()
	if err := CheckSources(sellsyConfig(t, fake, "")); err != nil {
		t.Fatalf("CheckSources: %v", err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("config check sent %d requests", n)
	}
}
