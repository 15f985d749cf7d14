package salesforce

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/salesforcefake"
)

func ecKeyPEM(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	key := salesforcefake.PrivateKeyPEM()
	refresh := Auth{ClientID: "ck", RefreshToken: "rt"}
	tests := []struct {
		name string
		edit func(o *Options)
		want string // substring of the error; "" for success
	}{
		{"refresh token", func(o *Options) {}, ""},
		{"refresh token with secret", func(o *Options) { o.Auth.ClientSecret = "s" }, ""},
		{"jwt bearer", func(o *Options) { o.Auth = Auth{ClientID: "ck", Username: "u@x.io", PrivateKey: key} }, ""},
		{"client credentials at my domain", func(o *Options) {
			o.LoginURL, o.Auth = "https://acme.my.salesforce.com/", Auth{ClientID: "ck", ClientSecret: "s"}
		}, ""},
		{"no source", func(o *Options) { o.Source = "" }, "source name required"},
		{"bad api version", func(o *Options) { o.APIVersion = "66.0" }, `api version "66.0"`},
		{"batch size too small", func(o *Options) { o.BatchSize = 100 }, "batch size 100"},
		{"batch size too large", func(o *Options) { o.BatchSize = 2001 }, "batch size 2001"},
		{"reserve of everything", func(o *Options) { o.DailyReserve = 1 }, "daily reserve"},
		{"token lifetime below the renewal margin", func(o *Options) { o.TokenLifetime = time.Minute }, "token lifetime"},
		{"login url over http", func(o *Options) { o.LoginURL = "http://login.salesforce.com" }, "want https"},
		{"login url with a path", func(o *Options) { o.LoginURL = "https://login.salesforce.com/services" }, "bare host"},
		{"no client id", func(o *Options) { o.Auth.ClientID = "" }, "client_id"},
		{"no credentials", func(o *Options) { o.Auth = Auth{ClientID: "ck"} }, "one flow"},
		{"jwt without key", func(o *Options) { o.Auth = Auth{ClientID: "ck", Username: "u"} }, "both username and private_key"},
		{"jwt and refresh token", func(o *Options) {
			o.Auth = Auth{ClientID: "ck", Username: "u", PrivateKey: key, RefreshToken: "rt"}
		}, "one flow"},
		{"jwt key not pem", func(o *Options) {
			o.Auth = Auth{ClientID: "ck", Username: "u", PrivateKey: []byte("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")}
		}, "not a PEM block"},
		{"jwt key not rsa", func(o *Options) { o.Auth = Auth{ClientID: "ck", Username: "u", PrivateKey: ecKeyPEM(t)} }, "not an RSA key"},
		{"jwt key encrypted", func(o *Options) {
			o.Auth = Auth{ClientID: "ck", Username: "u", PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})}
		}, "encrypted"},
		{"audience without jwt", func(o *Options) { o.Auth.Audience = "https://login.salesforce.com" }, "audience"},
		{"client credentials at the login host", func(o *Options) { o.Auth = Auth{ClientID: "ck", ClientSecret: "s"} }, "My Domain"},
		{"association label", func(o *Options) { o.Mapping.PrimaryContact.AssociationLabel = "Primary" }, "HubSpot"},
		{"field with soql", func(o *Options) { o.Mapping.Extra = []string{"Name FROM User --"} }, "not a Salesforce field"},
		{"relationship field", func(o *Options) { o.Mapping.LastActivity = []string{"Owner.LastLoginDate"} }, "not a Salesforce field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := Options{Source: "sf", Auth: refresh}
			tt.edit(&o)
			_, err := New(o)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New: error %v, want one containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC") {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	t.Parallel()
	c, err := New(Options{Source: "sf", Auth: Auth{ClientID: "ck", RefreshToken: "rt"}})
	if err != nil {
		t.Fatal(err)
	}
	o := c.opts
	if o.LoginURL != DefaultLoginURL || o.APIVersion != DefaultAPIVersion || o.BatchSize != DefaultBatchSize ||
		o.DailyReserve != DefaultDailyReserve || o.TokenLifetime != DefaultTokenLifetime || o.HTTPClient == nil {
		t.Errorf("defaults not applied: %+v", o)
	}
	if c.mapping.Lifecycle.Field != "Type" || len(c.mapping.LastActivity) != 1 {
		t.Errorf("mapping = %+v, want DefaultMapping", c.mapping)
	}
}

func TestAudience(t *testing.T) {
	t.Parallel()
	tests := []struct{ login, aud, want string }{
		{DefaultLoginURL, "", "https://login.salesforce.com"},
		{SandboxLoginURL, "", "https://test.salesforce.com"},
		{"https://acme.my.salesforce.com", "", "https://login.salesforce.com"},
		{"https://acme--dev.sandbox.my.salesforce.com", "", "https://test.salesforce.com"},
		{"https://acme.my.salesforce.com", "https://acme.my.site.com/portal", "https://acme.my.site.com/portal"},
	}
	for _, tt := range tests {
		if got := audience(tt.login, tt.aud); got != tt.want {
			t.Errorf("audience(%q, %q) = %q, want %q", tt.login, tt.aud, got, tt.want)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://acme.my.salesforce.com", "https://acme.my.salesforce.com"},
		{"https://acme.my.salesforce.com/", "https://acme.my.salesforce.com"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://localhost:1", "http://localhost:1"},
		{"http://acme.my.salesforce.com", ""},
		{"https://user:pw@acme.my.salesforce.com", ""},
		{"acme.my.salesforce.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := checkBaseURL(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("checkBaseURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDatetime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-22T09:00:00.000+0000", time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), true},
		{"2026-11-22T10:30:00.250+0130", time.Date(2026, 11, 22, 9, 0, 0, 250e6, time.UTC), true},
		{"2026-11-22T09:00:00Z", time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), true},
		{"2026-11-22T09:00:00+00:00", time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), true},
		{"2026-11-22", time.Time{}, false},
		{"22/11/2026 09:00", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseDatetime(tt.in)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseDatetime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestSOQL(t *testing.T) {
	t.Parallel()
	e := &entity{sobject: "Account", fields: []string{"Id", "Name"}}
	tests := []struct {
		name string
		wm   connectors.Watermark
		want string
	}{
		{"full", nil, "SELECT Id, Name FROM Account ORDER BY SystemModstamp ASC, Id ASC"},
		{"keyset", connectors.Watermark{"Account.ts": "2026-11-22T10:00:00.000+0100", "Account.id": "0015g00000XyZ12AAB"},
			"SELECT Id, Name FROM Account WHERE SystemModstamp > 2026-11-22T09:00:00Z OR " +
				"(SystemModstamp = 2026-11-22T09:00:00Z AND Id > '0015g00000XyZ12AAB') ORDER BY SystemModstamp ASC, Id ASC"},
		{"milliseconds round down", connectors.Watermark{"Account.ts": "2026-11-22T09:00:00.900+0000", "Account.id": "0015g00000XyZ12"},
			"SELECT Id, Name FROM Account WHERE SystemModstamp > 2026-11-22T09:00:00Z OR " +
				"(SystemModstamp = 2026-11-22T09:00:00Z AND Id > '0015g00000XyZ12') ORDER BY SystemModstamp ASC, Id ASC"},
		{"injected id", connectors.Watermark{"Account.ts": "2026-11-22T09:00:00.000+0000", "Account.id": "x' OR Name != '"}, ""},
		{"bad ts", connectors.Watermark{"Account.ts": "yesterday", "Account.id": "0015g00000XyZ12AAB"}, ""},
	}
	for _, tt := range tests {
		got, err := e.soql(tt.wm)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("%s: soql = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestDedupe(t *testing.T) {
	t.Parallel()
	got := dedupe([]string{"Id", "Type", "", "type", "Tier__c", "Id"})
	if want := []string{"Id", "Type", "Tier__c"}; !equal(got, want) {
		t.Errorf("dedupe = %v, want %v", got, want)
	}
}

func TestStartWatermarkRefusesBrokenWatermarks(t *testing.T) {
	t.Parallel()
	c, err := New(Options{Source: "sf", Auth: Auth{ClientID: "ck", RefreshToken: "rt"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, wm := range []connectors.Watermark{
		{"Account.ts": "2026-11-22T09:00:00.000+0000"},
		{"Contact.ts": "soon", "Contact.id": "0035g00000AbCdEAAV"},
		{"Opportunity.deleted": "last week"},
	} {
		err := c.Pull(t.Context(), wm, nil)
		if err == nil || !strings.Contains(err.Error(), "watermark") {
			t.Errorf("Pull(%v) = %v, want a watermark error", wm, err)
		}
	}
}
