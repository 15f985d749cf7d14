package dynamics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
)

func TestCertificateCredentials(t *testing.T) {
	f := newFakeOrg(t)
	cert, certPEM, keyPEM := newCertificate(t)
	f.cert = cert
	opts := f.options()
	opts.Auth.ClientSecret = ""
	opts.Auth.Certificate, opts.Auth.PrivateKey = certPEM, keyPEM
	got, err := conntest.Pull(f.connector(opts), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.assertions != 1 || len(got.Batch.Accounts) != 3 {
		t.Errorf("assertions %d (want 1), accounts %d", f.assertions, len(got.Batch.Accounts))
	}
}

func TestInvalidClientSecret(t *testing.T) {
	f := newFakeOrg(t)
	opts := f.options()
	opts.Auth.ClientSecret = "wrong"
	_, err := conntest.Pull(f.connector(opts), nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "AADSTS7000215") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("err = %v, want ErrAuth with Entra's code and without the secret", err)
	}
	if n := len(f.requestLog()); n != 0 {
		t.Errorf("%d API requests without a token", n)
	}
}

func TestNewChecksOptions(t *testing.T) {
	_, certPEM, keyPEM := newCertificate(t)
	_, otherCert, _ := newCertificate(t)
	ok := Options{Source: "dyn", BaseURL: "https://acme.crm.dynamics.com",
		Auth: Auth{TenantID: testTenant, ClientID: testClient, ClientSecret: testSecret}}
	tests := []struct {
		name string
		edit func(o *Options)
		want string // "" when New must succeed
	}{
		{"secret", func(o *Options) {}, ""},
		{"certificate", func(o *Options) { o.Auth.ClientSecret, o.Auth.Certificate, o.Auth.PrivateKey = "", certPEM, keyPEM }, ""},
		{"sovereign cloud", func(o *Options) {
			o.BaseURL = "https://acme.crm.microsoftdynamics.us"
			o.Auth.TokenURL = "https://login.microsoftonline.us/t/oauth2/v2.0/token"
		}, ""},
		{"no source", func(o *Options) { o.Source = "" }, "source name required"},
		{"no base url", func(o *Options) { o.BaseURL = "" }, "base_url required"},
		{"base url with path", func(o *Options) { o.BaseURL = "https://acme.crm.dynamics.com/api/data/v9.2" }, "bare host"},
		{"plain http", func(o *Options) { o.BaseURL = "http://acme.crm.dynamics.com" }, "want https"},
		{"bad version", func(o *Options) { o.APIVersion = "9.2" }, "want the form v9.2"},
		{"page size", func(o *Options) { o.PageSize = 5001 }, "page size"},
		{"over the limit", func(o *Options) { o.RequestsPer5Min = 6001 }, "Dataverse's limit"},
		{"negative window", func(o *Options) { o.Window = -time.Second }, "pacing window"},
		{"no tenant", func(o *Options) { o.Auth.TenantID = "" }, "tenant_id"},
		{"tenant with slash", func(o *Options) { o.Auth.TenantID = "a/b" }, "tenant_id"},
		{"no client", func(o *Options) { o.Auth.ClientID = "" }, "client_id"},
		{"no credential", func(o *Options) { o.Auth.ClientSecret = "" }, "set client_secret, or certificate"},
		{"both", func(o *Options) { o.Auth.Certificate, o.Auth.PrivateKey = certPEM, keyPEM }, "not both"},
		{"key not pem", func(o *Options) {
			o.Auth.ClientSecret, o.Auth.Certificate, o.Auth.PrivateKey = "", certPEM, []byte("MIIEvQIBADANBg")
		}, "not a PEM block"},
		{"key of another certificate", func(o *Options) {
			o.Auth.ClientSecret, o.Auth.Certificate, o.Auth.PrivateKey = "", otherCert, keyPEM
		}, "does not match"},
		{"token url http", func(o *Options) { o.Auth.TokenURL = "http://login.example/t" }, "want https"},
		{"bad mapping column", func(o *Options) { o.Mapping.Extra = []string{"New Tier"} }, "logical column name"},
		{"hubspot label", func(o *Options) { o.Mapping.PrimaryContact.AssociationLabel = "Primary" }, "HubSpot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			_, err := New(o)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New err = %v, want it to say %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "MIIE"):
				t.Fatalf("error quotes the key: %v", err)
			}
		})
	}
}
