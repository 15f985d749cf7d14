package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"TOKEN": "s3cr3t", "EMPTY": "", "PORT": "6379"}
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "${TOKEN}", want: "s3cr3t"},
		{in: "redis://localhost:${PORT}/0", want: "redis://localhost:6379/0"},
		{in: "${UNSET:-fallback}", want: "fallback"},
		{in: "${EMPTY:-fallback}", want: "fallback"},
		{in: "${PORT:-1}", want: "6379"},
		{in: "${UNSET:-}", want: ""},
		{in: "${EMPTY}", want: ""},
		{in: "pa$$word", want: "pa$word"},
		{in: "$${TOKEN}", want: "${TOKEN}"},
		{in: "cost: 5$", want: "cost: 5$"},
		{in: "$TOKEN", want: "$TOKEN"},
		{in: "${UNSET}", wantErr: "environment variable UNSET is not set"},
		{in: "${TOKEN", wantErr: `unterminated "${" (write "$$" for a literal "$")`},
		{in: "${1BAD}", wantErr: `invalid environment variable name "1BAD" in ${...}`},
		{in: "${}", wantErr: `invalid environment variable name "" in ${...}`},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, lookup)
		switch {
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("expand(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestEnvInParse(t *testing.T) {
	t.Setenv("CRMSYNC_TEST_MAX", "5")
	t.Setenv("CRMSYNC_TEST_OUTBOX", "out\nworkers:\n  concurrency: 0")
	unsetenv(t, "CRMSYNC_TEST_TZ")
	data := []byte(`timezone: ${CRMSYNC_TEST_TZ:-America/New_York}
limits: {emails_per_contact: {max: "${CRMSYNC_TEST_MAX}", per: 30d}}
notify: {outbox: "${CRMSYNC_TEST_OUTBOX}"}
rule_files: ["$${literal}"]
`)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "${literal}"), []byte("rules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Parse("crmsync.yaml", data, dir)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Timezone != "America/New_York" || c.Location().String() != "America/New_York" {
		t.Errorf("timezone = %q, want the default America/New_York", c.Timezone)
	}
	if c.Limits.EmailsPerContact.Max != 5 {
		t.Errorf("emails_per_contact.max = %d, want 5 from the environment", c.Limits.EmailsPerContact.Max)
	}
	// A value from the environment stays one scalar: it cannot add keys.
	if c.Workers.Concurrency != 10 || !strings.HasSuffix(c.Notify.Outbox, "out\nworkers:\n  concurrency: 0") {
		t.Errorf("env value changed the structure: concurrency %d, outbox %q", c.Workers.Concurrency, c.Notify.Outbox)
	}
	if c.RuleFiles[0] != "${literal}" {
		t.Errorf("rule_files[0] = %q, want ${literal}", c.RuleFiles[0])
	}
}

func TestEnvNotExpandedInKeys(t *testing.T) {
	t.Setenv("CRMSYNC_TEST_KEY", "timezone")
	_, err := Parse("crmsync.yaml", []byte("${CRMSYNC_TEST_KEY}: UTC\nnotify: {outbox: o}\nrule_files: [rules/a.yaml]\n"), "testdata")
	want := "crmsync.yaml:1:1: ${CRMSYNC_TEST_KEY}: unknown key"
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v, want %s", err, want)
	}
}
