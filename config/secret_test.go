package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "token", s)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "token", s)
	j, err := json.Marshal(struct{ T Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct{ T string }
	if err := json.Unmarshal(j, &decoded); err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(struct{ T Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	outputs := []string{
		s.String(), fmt.Sprint(s), fmt.Sprintf("%s %v %q %x %#v %+v", s, s, s, s, s, s),
		fmt.Sprintf("%v", struct{ T Secret }{s}), decoded.T, string(y), logs.String(),
	}
	for _, out := range outputs {
		if strings.Contains(out, "hunter2") || !strings.Contains(out, "<secret>") {
			t.Errorf("output %q shows the secret or lacks <secret>", out)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
	if Secret("").String() != "" {
		t.Errorf("empty secret String() = %q, want empty", Secret("").String())
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("redis_url", "redis://:pw-from-file@localhost:6379/0\n")
	write("admin", "admin-secret\r\n")
	write("empty", "\n")
	write("not-redis", "https://user:leaky@example.com\n")
	write("x", "rules: []\n")
	tests := []struct {
		name    string
		yaml    string
		check   func(*Config) string
		wantErr string
	}{
		{
			name: "relative file read and trimmed",
			yaml: "redis: {url_file: redis_url}\nhttp: {admin_token_file: admin}",
			check: func(c *Config) string {
				if c.Redis.URL.Reveal() != "redis://:pw-from-file@localhost:6379/0" || c.HTTP.AdminToken.Reveal() != "admin-secret" {
					return fmt.Sprintf("url %q, token %q", c.Redis.URL.Reveal(), c.HTTP.AdminToken.Reveal())
				}
				return ""
			},
		},
		{
			name:    "missing file",
			yaml:    "redis: {url_file: nope}",
			wantErr: fmt.Sprintf(`crmsync.yaml:4:19: redis.url_file: cannot read %q: no such file or directory`, filepath.Join(dir, "nope")),
		},
		{
			name:    "empty file",
			yaml:    "redis: {url_file: empty}",
			wantErr: fmt.Sprintf(`crmsync.yaml:4:19: redis.url_file: file %q is empty`, filepath.Join(dir, "empty")),
		},
		{
			name:    "file content is validated but not shown",
			yaml:    "redis: {url_file: not-redis}",
			wantErr: `crmsync.yaml:4:19: redis.url_file: want a redis://host:port/db or rediss://host:port/db URL (or redis+sentinel://, redis+cluster://)`,
		},
		{
			name:    "both secret and file",
			yaml:    "http: {admin_token: x, admin_token_file: admin}",
			wantErr: `crmsync.yaml:4:7: http: at most one of admin_token and admin_token_file`,
		},
		{
			name:    "source auth both",
			yaml:    "sources: [{name: a, type: csv, path: p, auth: {token: x, token_file: admin}}]",
			wantErr: `crmsync.yaml:4:47: sources[0].auth: at most one of token and token_file`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "notify: {outbox: out}\nrule_files: [x]\n# secrets\n" + tt.yaml + "\n"
			c, err := Parse("crmsync.yaml", []byte(data), dir)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse error = %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(c); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	t.Setenv("CRMSYNC_TEST_SECRET", "hunter2")
	data := []byte(`redis: ${CRMSYNC_TEST_SECRET}
http: [${CRMSYNC_TEST_SECRET}]
sources: [{name: a, type: csv, path: p, auth: {token: "${CRMSYNC_TEST_SECRET}"}}]
notify: {outbox: "o"}
rule_files: [x]
`)
	_, err := Parse("crmsync.yaml", data, "/")
	if err == nil {
		t.Fatal("Parse succeeded, want errors")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the secret: %v", err)
	}
	_, err = parseFile(t, "bad.redis-url.yaml")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad redis URL error = %v, want an error without the password", err)
	}
}

func TestStringRedacts(t *testing.T) {
	t.Setenv("CRMSYNC_TEST_REDIS_URL", testRedisURL)
	c, err := parseFile(t, "good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := c.String()
	for _, secret := range []string{"hunter2", "redis.internal", "admin-token-from-file"} {
		if strings.Contains(out, secret) {
			t.Errorf("String() shows %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"url: <secret>", "admin_token: <secret>", "per: 14d", `schedule: 0 */6 * * *`} {
		if !strings.Contains(out, want) {
			t.Errorf("String() lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "auth:") {
		t.Errorf("String() shows an absent auth section:\n%s", out)
	}
}

// TestStringRoundTrip parses String's output back: without secrets, it is
// the same config.
func TestStringRoundTrip(t *testing.T) {
	c, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Parsed from another folder: the printed paths are absolute, so they
	// stay; rule_files stay relative (to the config folder).
	c2, err := Parse("printed.yaml", []byte(c.String()), "testdata")
	if err != nil {
		t.Fatalf("Parse(String()): %v\n%s", err, c)
	}
	if a, b := exported(c), exported(c2); fmt.Sprintf("%#v", a) != fmt.Sprintf("%#v", b) {
		t.Errorf("round trip changed the config:\n%#v\n%#v", a, b)
	}
}

func TestDeliverySecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	for name, v := range map[string]string{"sg": "SG.s3cr3t\n", "slack": "xoxb-s3cr3t\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte("rules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := []byte(`notify:
  email: {api_key_file: sg, from: {email: a@example.com}, unsubscribe_group_id: 42, sandbox: true, base_url: "https://api.eu.sendgrid.com"}
  slack: {token_file: slack, base_url: "https://slack.example/api/"}
rule_files: ["*.yaml"]
`)
	c, err := Parse("c.yaml", data, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Notify.Email.APIKey.Reveal() != "SG.s3cr3t" || c.Notify.Slack.Token.Reveal() != "xoxb-s3cr3t" {
		t.Fatalf("secrets not read from their files: %q %q", c.Notify.Email.APIKey.Reveal(), c.Notify.Slack.Token.Reveal())
	}
	if c.Notify.Email.UnsubscribeGroupID != 42 || !c.Notify.Email.Sandbox || c.Notify.Slack.BaseURL != "https://slack.example/api/" {
		t.Fatalf("notify = %+v", c.Notify)
	}
	if s := c.String(); strings.Contains(s, "s3cr3t") {
		t.Fatalf("a delivery secret leaked into String():\n%s", s)
	}
	bad := []byte("notify: {email: {api_key: k, from: {email: a@example.com}, base_url: ftp://x}, slack: {token: t, base_url: \"https://slack.com/api\"}}\nrule_files: [\"*.yaml\"]\n")
	_, err = Parse("c.yaml", bad, dir)
	for _, want := range []string{"notify.email.base_url: invalid URL", "notify.slack.base_url: invalid URL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
