package config

import (
	"strings"
	"testing"
)

func TestWebSection(t *testing.T) {
	key := strings.Repeat("k", 32)
	tests := []struct {
		name, web string
		want      []string
	}{
		{"none", "", nil},
		{"loopback with admins", "web: {admins: [boss@example.com], session_ttl: 8h}\n", nil},
		{"slack", "web: {public_url: \"https://crm.example.com\", session_key: " + key + ", signin: {slack: {client_id: \"123.456\", client_secret: s, team_id: T1}}}\n", nil},
		{"slack without the rest", "web: {signin: {slack: {}}}\n", []string{
			"web.public_url: required with web.signin.slack", "web.session_key: required with web.signin.slack",
			"web.signin.slack.client_id: required", "web.signin.slack.client_secret: required",
		}},
		{"short key", "web: {public_url: \"https://x.example\", session_key: short, signin: {slack: {client_id: c, client_secret: s}}}\n", []string{"web.session_key: required with web.signin.slack: at least 32 bytes"}},
		{"bad values", "web: {admins: [\"Boss <boss@example.com>\"], cookie_secure: sometimes, session_ttl: 10s, public_url: crm}\n", []string{
			`web.admins[0]: want a plain email address`, `web.cookie_secure: want always or never`, "web.session_ttl: want at least 1m", `web.public_url: want the dashboard's http(s) address`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("crmsync.yaml", []byte(crmHeader+"  - {name: f, type: csv, path: ./data}\n"+tt.web), "testdata")
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if tt.name == "slack" && (c.Web.SignIn.Slack.ClientSecret.Reveal() != "s" || c.Web.SessionKey.Reveal() != key) {
					t.Errorf("web = %+v", c.Web)
				}
				return
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("errors:\n%v\nwant %q", err, w)
				}
			}
		})
	}
}
