package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/outbox"
	"github.com/crmsync/crmsync/notify/sendgrid"
	"github.com/crmsync/crmsync/notify/slack"
)

// loadWith writes the example rules and a config with the given notify
// block, and loads it.
func loadWith(t *testing.T, notifyYAML string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	path, err := PrepareDemo(dir)
	if err != nil {
		t.Fatal(err)
	}
	body := notifyYAML + "\nrule_files: [rules.yaml]\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "crmsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSendersFollowTheConfig(t *testing.T) {
	both := "notify:\n  email: {api_key: SG.x, from: {email: a@example.com}}\n  slack: {token: xoxb-x}\n"
	cfg := loadWith(t, both)
	senders, ob, err := newSenders(cfg)
	if err != nil || ob != nil {
		t.Fatalf("newSenders = %v, outbox %v", err, ob)
	}
	if _, ok := senders[notify.Email].(*sendgrid.Sender); !ok {
		t.Errorf("email sender = %T, want SendGrid", senders[notify.Email])
	}
	if _, ok := senders[notify.Slack].(*slack.Sender); !ok {
		t.Errorf("slack sender = %T, want Slack", senders[notify.Slack])
	}

	// An outbox is a dry run: it wins over credentials.
	cfg = loadWith(t, "notify:\n  outbox: out\n  email: {api_key: SG.x}\n")
	senders, ob, err = newSenders(cfg)
	if err != nil || ob == nil {
		t.Fatalf("newSenders = %v, %v", err, ob)
	}
	if _, ok := senders[notify.Email].(*outbox.Outbox); !ok {
		t.Errorf("email sender = %T, want the outbox", senders[notify.Email])
	}
}

func TestRulesNeedTheirChannels(t *testing.T) {
	cfg := loadWith(t, "notify:\n  email: {api_key: SG.x, from: {email: a@example.com}}\n")
	rs, _, err := LoadRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = CheckChannels(cfg, rs)
	for _, want := range []string{"rule inactive-90-days sends Slack messages, but notify.slack.token is not set", "rule high-value-churning has on_resolve"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckChannels error %v lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "sends emails") {
		t.Errorf("email is configured, yet: %v", err)
	}
}
