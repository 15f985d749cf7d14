package dynamics

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/dynamicsfake"
	"github.com/crmsync/crmsync/model"
)

// These tests run the connector over real HTTP against
// internal/dynamicsfake, the Dataverse fake shared with other packages.

// Sizes of the org seeded by seededFake.
const (
	fakeAccounts    = 30
	fakeContactsPer = 2
	fakeDealsPer    = 2
)

// seededFake starts a fake with a generated org: fakeAccounts accounts,
// each with fakeContactsPer contacts, fakeDealsPer opportunities and one
// completed activity, and one owner.
func seededFake(t testing.TB, o dynamicsfake.Options) *dynamicsfake.Server {
	t.Helper()
	s := dynamicsfake.New(o)
	t.Cleanup(s.Close)
	if err := s.Seed(fakeAccounts, fakeContactsPer, fakeDealsPer, 1); err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeOptions are connector options for the fake s, signing in with the
// fake's client secret.
func fakeOptions(s *dynamicsfake.Server) Options {
	return Options{
		Source:  "dyn",
		BaseURL: s.URL(),
		Auth: Auth{TenantID: dynamicsfake.DefaultTenantID, ClientID: dynamicsfake.DefaultClientID,
			ClientSecret: dynamicsfake.DefaultClientSecret, TokenURL: s.TokenURL(), Scope: s.Scope()},
		PageSize:    25,
		HTTPClient:  s.Client(),
		Logger:      slog.New(slog.DiscardHandler),
		Attempts:    4,
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
	}
}

func newConnector(t testing.TB, opts Options) *Connector {
	t.Helper()
	return conntest.New(t, New, opts)
}

// checkFullOrg checks that a full pull handed over the seeded org.
func checkFullOrg(t *testing.T, got *conntest.Collected) {
	t.Helper()
	b := got.Batch
	if len(b.Accounts) != fakeAccounts || len(b.Contacts) != fakeAccounts*fakeContactsPer ||
		len(b.Deals) != fakeAccounts*fakeDealsPer || len(b.Owners) != 1 || len(got.Rejects) != 0 {
		t.Fatalf("pulled %d accounts, %d contacts, %d deals, %d owners, %d rejects; want %d, %d, %d, 1, 0",
			len(b.Accounts), len(b.Contacts), len(b.Deals), len(b.Owners), len(got.Rejects),
			fakeAccounts, fakeAccounts*fakeContactsPer, fakeAccounts*fakeDealsPer)
	}
}

func accountNamed(t *testing.T, b model.Batch, name string) model.Account {
	t.Helper()
	for _, a := range b.Accounts {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no account named %q", name)
	return model.Account{}
}

func TestFakeFullPull(t *testing.T) {
	s := seededFake(t, dynamicsfake.Options{})
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFullOrg(t, got)
	b := got.Batch
	owner := b.Owners[0]
	// Seed: account i has customertypecode 3, 8, null, 1 in turn and no
	// website when i%7 == 3.
	for _, tc := range []struct {
		name      string
		lifecycle model.Lifecycle
		domain    string
	}{
		{"Account 000000", model.Customer, "account-000000.example"},
		{"Account 000001", model.Prospect, "account-000001.example"},
		{"Account 000002", model.Other, "account-000002.example"},
		{"Account 000003", model.Other, ""},
	} {
		a := accountNamed(t, b, tc.name)
		if a.Lifecycle != tc.lifecycle || a.Domain != tc.domain || a.OwnerID != owner.ID ||
			a.LastActivityAt.IsZero() || a.PrimaryContactID == "" || !strings.HasPrefix(a.ID, "dyn:") {
			t.Errorf("%s = %+v; want lifecycle %q, domain %q, owner %s, a last activity and a primary contact",
				tc.name, a, tc.lifecycle, tc.domain, owner.ID)
		}
	}
	acct0 := accountNamed(t, b, "Account 000000")
	optOut, won := 0, 0
	for _, c := range b.Contacts {
		if c.OptOut {
			optOut++
		}
		if c.Email == "first0.last000000@account-000000.example" && (c.AccountID != acct0.ID || !c.OptOut) {
			t.Errorf("contact 0 = %+v; want under %s and opted out (donotemail)", c, acct0.ID)
		}
	}
	// Contact n opts out when n%10 == 0 (donotemail) or n%5 == 0
	// (donotbulkemail): every fifth contact.
	if want := fakeAccounts * fakeContactsPer / 5; optOut != want {
		t.Errorf("%d contacts opted out, want %d", optOut, want)
	}
	for _, d := range b.Deals {
		if d.Won {
			won++
			if d.ClosedAt.IsZero() || d.Amount <= 0 || d.Currency != "USD" {
				t.Errorf("won deal %+v: want a close date, an amount and USD", d)
			}
		}
	}
	if want := fakeAccounts * fakeDealsPer / 3; won != want {
		t.Errorf("%d deals won, want %d (every third)", won, want)
	}
	if s.Throttled() != 0 || s.MaxConcurrency() != 1 {
		t.Errorf("throttled %d, max in flight %d; want 0 and 1", s.Throttled(), s.MaxConcurrency())
	}
}

func TestFakeIncremental(t *testing.T) {
	s := seededFake(t, dynamicsfake.Options{})
	c := newConnector(t, fakeOptions(s))
	full, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFullOrg(t, full)
	acct := accountNamed(t, full.Batch, "Account 000005")
	gone := full.Batch.Contacts[7]
	deal := full.Batch.Deals[4]
	if _, err := s.Upsert("accounts", map[string]any{"accountid": acct.ExternalID, "name": "Renamed <script>"}); err != nil {
		t.Fatal(err)
	}
	for _, del := range []struct{ set, id string }{{"contacts", gone.ExternalID}, {"opportunities", deal.ExternalID}} {
		if err := s.Delete(del.set, del.id); err != nil {
			t.Fatal(err)
		}
	}
	got, err := conntest.Pull(c, full.Last())
	if err != nil {
		t.Fatal(err)
	}
	b := got.Batch
	if len(b.Accounts) != 1 || b.Accounts[0].ID != acct.ID || b.Accounts[0].Name != "Renamed <script>" {
		t.Errorf("incremental accounts = %+v, want %s renamed", b.Accounts, acct.ID)
	}
	if len(b.Contacts) != 0 || len(b.Deals) != 0 || len(got.Rejects) != 0 {
		t.Errorf("incremental pull handed %d contacts, %d deals, %d rejects; want none", len(b.Contacts), len(b.Deals), len(got.Rejects))
	}
	wantDeleted := map[model.Deletion]bool{
		{Entity: model.EntityContact, ID: gone.ID}: true,
		{Entity: model.EntityDeal, ID: deal.ID}:    true,
	}
	if len(b.Deleted) != len(wantDeleted) {
		t.Fatalf("deleted %+v, want %v", b.Deleted, wantDeleted)
	}
	for _, d := range b.Deleted {
		if !wantDeleted[d] {
			t.Errorf("unexpected deletion %+v", d)
		}
	}
	again, err := conntest.Pull(c, got.Last())
	if err != nil {
		t.Fatal(err)
	}
	// Owners are re-read every pull; nothing else changed.
	if n := again.Batch.Len() - len(again.Batch.Owners); n != 0 {
		t.Errorf("pull with nothing changed handed %d records: %+v", n, again.Batch)
	}
}

func TestFakeTokenExpiresMidSync(t *testing.T) {
	s := seededFake(t, dynamicsfake.Options{})
	s.OnRequest(func(kind string, n int) {
		if kind == dynamicsfake.KindContacts && n == 2 {
			s.ExpireTokens()
		}
	})
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFullOrg(t, got)
	if n := s.TokensIssued(); n != 2 {
		t.Errorf("%d tokens issued, want 2 (one new after the expiry)", n)
	}
	if n := s.Statuses()[401]; n != 1 {
		t.Errorf("%d answers 401, want 1", n)
	}
}

func TestFakeExpiredDeltaRereads(t *testing.T) {
	s := seededFake(t, dynamicsfake.Options{})
	opts := fakeOptions(s)
	var sweeps []time.Time
	opts.BeginSweep = func(_ context.Context, at time.Time) error {
		sweeps = append(sweeps, at)
		return nil
	}
	c := newConnector(t, opts)
	full, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFullOrg(t, full)
	if len(sweeps) != 0 {
		t.Fatalf("first pull began %d sweeps, want 0", len(sweeps))
	}
	gone := full.Batch.Accounts[2]
	if err := s.Delete("accounts", gone.ExternalID); err != nil {
		t.Fatal(err)
	}
	s.ExpireDeltaTokens()
	got, err := conntest.Pull(c, full.Last())
	if err != nil {
		t.Fatal(err)
	}
	if len(sweeps) != 1 {
		t.Errorf("began %d sweeps, want 1", len(sweeps))
	}
	if len(got.Batch.Accounts) != fakeAccounts-1 || len(got.Batch.Contacts) != fakeAccounts*fakeContactsPer {
		t.Errorf("re-read %d accounts, %d contacts; want %d and %d", len(got.Batch.Accounts), len(got.Batch.Contacts),
			fakeAccounts-1, fakeAccounts*fakeContactsPer)
	}
	for _, a := range got.Batch.Accounts {
		if a.ID == gone.ID {
			t.Errorf("deleted account %s re-read", a.ID)
		}
	}
	if s.Statuses()[400] != 1 {
		t.Errorf("statuses %v, want one 400 (the expired token)", s.Statuses())
	}
}

func TestFakeServiceProtectionRetryAfter(t *testing.T) {
	const perWindow = 4
	s := seededFake(t, dynamicsfake.Options{WindowRequests: perWindow, Window: time.Second})
	opts := fakeOptions(s)
	opts.PageSize = 5000
	start := time.Now()
	got, err := conntest.Pull(newConnector(t, opts), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFullOrg(t, got)
	if s.Throttled() == 0 {
		t.Fatal("no 429: the window did not bite")
	}
	// Each 429 carries Retry-After: 1; honouring it means every retry
	// goes at least a second after the refusal.
	if d := time.Since(start); d < time.Second {
		t.Errorf("pull took %s, want ≥ 1s (Retry-After honoured)", d)
	}
	if s.WindowUsed(dynamicsfake.DefaultClientID) > perWindow {
		t.Errorf("window holds %d requests, over %d", s.WindowUsed(dynamicsfake.DefaultClientID), perWindow)
	}
}

func TestFakeCertificate(t *testing.T) {
	cert := dynamicsfake.Certificate()
	for _, tc := range []struct {
		name    string
		key     *dynamicsfake.CertificateKey
		wantErr bool
	}{
		{"registered", cert, false},
		{"untrusted", dynamicsfake.UntrustedCertificate(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := seededFake(t, dynamicsfake.Options{Certificate: cert})
			opts := fakeOptions(s)
			opts.Auth.ClientSecret = ""
			opts.Auth.Certificate, opts.Auth.PrivateKey = tc.key.CertPEM(), tc.key.KeyPEM()
			got, err := conntest.Pull(newConnector(t, opts), nil)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "AADSTS") {
					t.Fatalf("err = %v, want an Entra refusal", err)
				}
				if !isAuth(err) {
					t.Errorf("err = %v, want it to wrap connectors.ErrAuth", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkFullOrg(t, got)
		})
	}
}

func isAuth(err error) bool {
	return errors.Is(err, connectors.ErrAuth)
}
