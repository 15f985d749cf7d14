package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/internal/salesforcefake"
)

// TestExampleCRMConfig loads examples/crm.yaml, which shows every auth
// flow of both API connectors, and builds its connectors offline.
func TestExampleCRMConfig(t *testing.T) {
	key := filepath.Join(t.TempDir(), "salesforce.key")
	if err := os.WriteFile(key, salesforcefake.PrivateKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"HUBSPOT_PRIVATE_APP_TOKEN": "pat-na1-x", "HUBSPOT_CLIENT_ID": "id", "HUBSPOT_CLIENT_SECRET": "s",
		"HUBSPOT_REFRESH_TOKEN": "r", "SALESFORCE_CONSUMER_KEY": "ck", "SALESFORCE_USERNAME": "u@example.com",
		"SALESFORCE_PRIVATE_KEY_FILE": key, "SALESFORCE_CONSUMER_SECRET": "cs", "SALESFORCE_REFRESH_TOKEN": "rt",
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
	for _, want := range []string{"hubspot token", "hubspot refresh_token", "salesforce jwt_bearer", "salesforce client_credentials", "salesforce refresh_token"} {
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
