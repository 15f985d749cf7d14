package workers

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
)

// upsellRule is a rule with its own title and a Slack action copied to a
// channel.
const upsellRule = `rules:
  - name: upsell
    title: "Upsell: {{ .Account.Name }}"
    when: days_inactive < 30
    actions:
      - slack: {to: owner, channel: "#key-accounts"}
`

func TestPlannerData(t *testing.T) {
	rs, err := rules.Parse("rules.yaml", []byte(upsellRule))
	if err != nil {
		t.Fatal(err)
	}
	r := rs.Rules[0]
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	deal := func(cur string, won bool, closed time.Time) model.Deal {
		return model.Deal{Currency: cur, Won: won, ClosedAt: closed}
	}
	tests := []struct {
		name  string
		deals []model.Deal
		want  string
	}{
		{"no deals: the configured currency", nil, "EUR"},
		{"the latest won deal's", []model.Deal{deal("usd", true, t0), deal("GBP", true, t0.Add(-time.Hour)), deal("CHF", false, t0.Add(time.Hour))}, "USD"},
		{"won deals without currency: the configured one", []model.Deal{deal("", true, t0)}, "EUR"},
	}
	p := &Planner{Locale: "fr", Currency: "EUR"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &model.Client{Account: model.Account{Ref: model.NewRef("crm", "1"), Name: "Acme"}, Deals: tt.deals}
			d, err := p.data(t0, c, rules.Features{}, r)
			if err != nil {
				t.Fatal(err)
			}
			if d.Currency != tt.want || d.Locale != "fr" || d.Title != "Upsell: Acme" {
				t.Errorf("data = currency %q locale %q title %q, want %q fr \"Upsell: Acme\"", d.Currency, d.Locale, d.Title, tt.want)
			}
		})
	}
}

func TestPlanSlackMentionsOwnerInChannelCopies(t *testing.T) {
	rs, err := rules.Parse("rules.yaml", []byte(upsellRule))
	if err != nil {
		t.Fatal(err)
	}
	r := rs.Rules[0]
	c := &model.Client{
		Account: model.Account{Ref: model.NewRef("crm", "1"), Name: "<!channel> Acme"},
		Owner:   &model.Owner{Name: "Sam Rep", Email: "sam@example.com"},
	}
	p := &Planner{Locale: "en"}
	d, err := p.data(time.Now(), c, rules.Features{DaysInactive: 22}, r)
	if err != nil {
		t.Fatal(err)
	}
	var out planned
	if err := p.planSlack(&out, &passPlan{pass: "p1"}, d, c, r, r.Actions[0].Slack); err != nil {
		t.Fatal(err)
	}
	if len(out.msgs) != 2 {
		t.Fatalf("%d messages, want the DM and the channel copy", len(out.msgs))
	}
	for _, m := range out.msgs {
		channel := m.To == "#key-accounts"
		if got := strings.Contains(string(m.Blocks), "<@crmsync:sam%40example.com|Sam+Rep>"); got != channel {
			t.Errorf("message to %s mentions the owner: %v, want %v", m.To, got, channel)
		}
		if !strings.HasPrefix(m.Text, "Upsell: &lt;!channel&gt; Acme — ") || strings.Contains(m.Text, "quiet") {
			t.Errorf("message to %s: fallback %q, want the rule's title first", m.To, m.Text)
		}
		if m.Channel != notify.Slack {
			t.Errorf("channel %q", m.Channel)
		}
	}
}
