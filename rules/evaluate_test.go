package rules

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

const evalRules = `
rules:
  - name: inactive
    when: days_inactive >= 90
    actions:
      - email: {template: reengage}
      - slack: {to: owner}
  - name: churning
    when: abc == "A" && days_inactive >= 60
    inhibits: [inactive, slack-only]
    actions:
      - slack: {channel: "#key-accounts"}
  - name: slack-only
    when: days_inactive >= 30
    actions:
      - slack: {to: owner}
  - name: first-contact
    when: contacts[0].primary
`

// summary lists the matches as "rule:email,slack".
func summary(ms []Match) string {
	var parts []string
	for _, m := range ms {
		var kinds []string
		for _, a := range m.Actions {
			if a.Email != nil {
				kinds = append(kinds, "email")
			}
			if a.Slack != nil {
				kinds = append(kinds, "slack")
			}
		}
		parts = append(parts, m.Rule.Name+":"+strings.Join(kinds, ","))
	}
	return strings.Join(parts, " ")
}

func TestEvaluate(t *testing.T) {
	rs, err := Parse("eval.yaml", []byte(evalRules))
	if err != nil {
		t.Fatal(err)
	}
	withContact := []model.Contact{{Primary: true}}
	tests := []struct {
		name     string
		inactive int
		abc      string
		contacts []model.Contact
		want     string
		wantErr  string
	}{
		{
			name: "with only a rule on contacts matching", inactive: 5, abc: "A", contacts: withContact,
			want: "first-contact:",
		},
		{
			name: "with a quiet B client", inactive: 100, abc: "B", contacts: withContact,
			want: "inactive:email,slack slack-only:slack first-contact:",
		},
		{
			name: "with a quiet A client: slack inhibited, email kept", inactive: 100, abc: "A", contacts: withContact,
			want: "inactive:email churning:slack slack-only: first-contact:",
		},
		{
			name: "with an inhibiting rule that matches alone", inactive: 65, abc: "A", contacts: withContact,
			want: "churning:slack slack-only: first-contact:",
		},
		{
			name: "with a runtime error in one rule", inactive: 100, abc: "B",
			want:    "inactive:email,slack slack-only:slack",
			wantErr: "rule first-contact: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &model.Client{Account: model.Account{CreatedAt: ago(day * time.Duration(tt.inactive))}, Contacts: tt.contacts}
			f := Compute(testNow, c)
			f.ABC = tt.abc
			got, err := rs.Evaluate(testNow, c, f)
			if s := summary(got); s != tt.want {
				t.Errorf("Evaluate() = %q, want %q", s, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Evaluate() error = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Errorf("Evaluate() error = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
	if n := len(rs.Rule("inactive").Actions); n != 2 {
		t.Errorf("inhibition changed the rule's own actions: %d left", n)
	}
}

func TestExpressionEnv(t *testing.T) {
	c := &model.Client{
		Account: model.Account{
			Ref: model.NewRef("hs", "42"), Name: "Acme", Domain: "acme.test", Lifecycle: model.Customer,
			TimeZone: "Europe/Paris", URL: "https://crm.test/42", CreatedAt: ago(400 * day),
			LastActivityAt: ago(50 * day), Extra: map[string]string{"industry": "saas"},
		},
		Contacts: []model.Contact{
			{Ref: model.NewRef("hs", "c1"), FirstName: "Ada", LastName: "L", Email: "ada@acme.test", Title: "CTO", Primary: true, LastActivityAt: ago(20 * day)},
			{Ref: model.NewRef("hs", "c2"), Email: "bob@acme.test", OptOut: true},
		},
		Deals: []model.Deal{won(1000, ago(10*day)), won(4000, ago(400*day))},
		Owner: &model.Owner{Ref: model.NewRef("hs", "o1"), Name: "Rep", Email: "rep@acme.test"},
	}
	noDeals := &model.Client{Account: model.Account{CreatedAt: ago(10 * day)}}
	merged := &model.Client{Account: model.Account{Ref: model.NewRef("sellsy", "9"), CreatedAt: ago(10 * day),
		Sources: []model.Ref{model.NewRef("sellsy", "9"), model.NewRef("hs", "42")}}}
	tests := []struct {
		when   string
		client *model.Client
		want   bool
	}{
		{`account.id == "hs:42" && account.name == "Acme" && account.domain == "acme.test"`, c, true},
		{`account.lifecycle == "customer" && lifecycle == "customer"`, c, true},
		{`account.timezone == "Europe/Paris" && account.url == "https://crm.test/42"`, c, true},
		{`account.extra.industry == "saas"`, c, true},
		{`account.sources == ["hs"] && "hs" in account.sources`, c, true},
		{`account.sources == ["sellsy", "hs"] && len(account.sources) > 1`, merged, true},
		{`account.extra["missing"] == "" && account.extra.other == ""`, c, true},
		{`days_since(account.last_activity_at) == 50 && days_since(account.created_at) == 400`, c, true},
		{`now - account.created_at > days(399) && now - account.created_at < days(401)`, c, true},
		{`owner.id == "hs:o1" && owner.name == "Rep" && owner.email == "rep@acme.test"`, c, true},
		{`owner.email == ""`, noDeals, true},
		{`len(contacts) == 2 && contacts[0].name == "Ada L" && contacts[1].name == "bob@acme.test"`, c, true},
		{`any(contacts, .opt_out) && any(contacts, .primary && .title == "CTO")`, c, true},
		{`contacts[0].id == "hs:c1" && contacts[0].email == "ada@acme.test" && days_since(contacts[0].last_activity_at) == 20`, c, true},
		{`revenue_12m == 1000 && revenue_prev_12m == 4000 && revenue_trend == 0.25`, c, true},
		// The purchase 10 days ago is later than Ada's activity 20 days ago.
		{`days_inactive == 10 && abc == "A"`, c, true},
		{`purchases_12m == 1 && rfm.segment == "" && pmg == "" && !pareto_top`, c, true}, // not segmented

		{`days_since_purchase == 10 && days_since_purchase > 5 && days_since_purchase < 11.5`, c, true},
		{`days_since_purchase == nil`, c, false},
		{`days_since_purchase == nil`, noDeals, true},
		{`days_since_purchase > 30`, noDeals, false},
		{`days_since_purchase <= 30`, noDeals, false},
		{`30 < days_since_purchase`, noDeals, false},
		{`not (days_since_purchase > 30)`, noDeals, true},
		{`(days_since_purchase ?? 9999) > 365`, noDeals, true},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			rs, err := Parse("env.yaml", []byte("rules:\n  - name: r\n    when: '"+strings.ReplaceAll(tt.when, "'", "''")+"'\n"))
			if err != nil {
				t.Fatal(err)
			}
			f := Compute(testNow, tt.client)
			f.ABC = "A"
			got, err := rs.Evaluate(testNow, tt.client, f)
			if err != nil {
				t.Fatalf("Evaluate() error = %v", err)
			}
			if (len(got) == 1) != tt.want {
				t.Errorf("matched = %v, want %v", len(got) == 1, tt.want)
			}
			// A rule that does not read the extra fields, or the record
			// beyond a features record, finds the same without them:
			// what a pass relies on to read less.
			if !rs.ReadsAccountExtra() {
				bare := *tt.client
				bare.Account.Extra = nil
				if got, _ := rs.Evaluate(testNow, &bare, f); (len(got) == 1) != tt.want {
					t.Errorf("without extra fields: matched = %v, want %v", len(got) == 1, tt.want)
				}
			}
			if !rs.ReadsAccountRecord() {
				a := tt.client.Account
				bare := *tt.client
				bare.Account = model.Account{Ref: model.Ref{ID: a.ID}, Lifecycle: a.Lifecycle, OwnerID: a.OwnerID, CreatedAt: a.CreatedAt, LastActivityAt: a.LastActivityAt}
				if got, _ := rs.Evaluate(testNow, &bare, f); (len(got) == 1) != tt.want {
					t.Errorf("with a features record's account: matched = %v, want %v", len(got) == 1, tt.want)
				}
			}
		})
	}
}

func TestReadsAccount(t *testing.T) {
	tests := []struct {
		when          string
		extra, record bool
	}{
		{`days_inactive > 90`, false, false},
		{`account.lifecycle == "customer" && days_since(account.created_at) > 30`, false, false},
		{`account.id != "" && days_since(account.last_activity_at) > 30`, false, false},
		{`account.lifecycle == "customer" && account.name != ""`, false, true},
		{`account?.lifecycle == "customer"`, false, false},
		{`account["lifecycle"] == "customer"`, false, false},
		{`account.timezone == "Europe/Paris"`, false, true},
		{`account.extra.industry == "saas"`, true, true},
		{`account.extra["industry"] == "saas"`, true, true},
		{`account.lifecycle == "customer" && "saas" in values(account.extra)`, true, true},
		{`toJSON(account) contains "saas"`, true, true}, // the whole account
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			rs, err := Parse("env.yaml", []byte("rules:\n  - name: r\n    when: '"+strings.ReplaceAll(tt.when, "'", "''")+"'\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := rs.ReadsAccountExtra(); got != tt.extra {
				t.Errorf("ReadsAccountExtra() = %v, want %v", got, tt.extra)
			}
			if got := rs.ReadsAccountRecord(); got != tt.record {
				t.Errorf("ReadsAccountRecord() = %v, want %v", got, tt.record)
			}
		})
	}
}

func TestEvaluateConcurrently(t *testing.T) {
	rs, err := LoadFiles("../examples/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	clients, features := benchClients(200)
	want := make([]int, len(clients))
	for i, c := range clients {
		ms, _ := rs.Evaluate(testNow, c, features[i])
		want[i] = len(ms)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, c := range clients {
				ms, err := rs.Evaluate(testNow, c, features[i])
				if err != nil || len(ms) != want[i] {
					t.Errorf("client %d: %d matches, %v; want %d", i, len(ms), err, want[i])
				}
			}
		})
	}
	wg.Wait()
}
