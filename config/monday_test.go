package config

import "testing"

const mondayBoards = `boards: {accounts: {id: "1234567880"}, contacts: {id: "1234567885"}, deals: {id: "1234567890"}}`

func TestMondaySources(t *testing.T) {
	tests := []sourceCase{
		{
			name:    "personal token and the template's columns",
			sources: "  - {name: mo, type: monday, auth: {token: t}, " + mondayBoards + "}\n",
		},
		{
			name: "everything set",
			sources: "  - {name: mo, type: monday, base_url: \"https://api.monday.com\", api_version: \"2025-10\", auth: {token: t}, " +
				"boards: {accounts: {id: \"1\", columns: {owner: person, domain: link_1}}, contacts: {id: \"2\", columns: {email: email_1, opt_out: checkbox_1}}, " +
				"deals: {id: \"3\", columns: {stage: status_1, value: numbers_1}, won: [Won, Gagné]}}, " +
				"limits: {daily_calls: 1000, full_every: 1d}, fields: {lifecycle: {field: status_2, map: {Client: customer}}, extra: [text_1]}}\n",
		},
		{
			name:    "no auth, no boards",
			sources: "  - {name: mo, type: monday}\n",
			want: []string{
				"sources[0].auth: required for source type monday",
				"sources[0].boards: required for source type monday",
			},
		},
		{
			name:    "a board missing, bad ids and roles",
			sources: "  - {name: mo, type: monday, auth: {token: t}, boards: {accounts: {id: acme, won: [Won]}, deals: {id: \"3\", columns: {email: x, stage: \"Stage\"}}}}\n",
			want: []string{
				`sources[0].boards.accounts.id: want the number in the board's URL (/boards/1234567890), got "acme"`,
				"sources[0].boards.accounts.won: only the deals board takes won",
				"sources[0].boards.contacts: required: the contacts board's id",
				`sources[0].boards.deals.columns.email: unknown role "email" for the deals board`,
				`sources[0].boards.deals.columns.stage: invalid column id "Stage"`,
			},
		},
		{
			name:    "other flows and vendors' keys",
			sources: "  - {name: mo, type: monday, login_url: \"https://x.io\", account_id: \"1\", auth: {client_id: c, client_secret: s, token_url: \"https://auth.monday.com/oauth2/token\"}, limits: {burst: 100, requests_per_5min: 5}, " + mondayBoards + "}\n",
			want: []string{
				"sources[0].login_url: only used by source type salesforce",
				"sources[0].account_id: only used by source type sellsy",
				"sources[0].auth: monday takes a token",
				"sources[0].auth.token_url: only used by source type dynamics",
				"sources[0].limits.burst: not used by source type monday",
				"sources[0].limits.requests_per_5min: only used by source type dynamics",
			},
		},
		{
			name:    "bad version, limits and url",
			sources: "  - {name: mo, type: monday, base_url: \"http://api.monday.com\", api_version: v2, auth: {token: t}, limits: {daily_calls: -1, full_every: 5m}, " + mondayBoards + "}\n",
			want: []string{
				"sources[0].base_url: want the API host over https",
				`sources[0].api_version: invalid API version "v2" (want the form 2025-07)`,
				"sources[0].limits.daily_calls: want the plan's daily call limit",
				"sources[0].limits.full_every: want at least 1h",
			},
		},
		{
			name:    "field mapping not column ids",
			sources: "  - {name: mo, type: monday, auth: {token: t}, fields: {lifecycle: {field: Status}, primary_contact: {association_label: x}}, " + mondayBoards + "}\n",
			want: []string{
				`sources[0].fields.lifecycle.field: invalid column id "Status"`,
				"sources[0].fields.primary_contact.association_label: association labels are a hubspot feature",
			},
		},
		{
			name:    "monday keys on other types",
			sources: "  - {name: hs, type: hubspot, auth: {token: t}, limits: {daily_calls: 5}, " + mondayBoards + "}\n  - {name: c, type: csv, path: in, " + mondayBoards + "}\n",
			want: []string{
				"sources[0].boards: only used by source type monday",
				"sources[0].limits.daily_calls: only used by source type monday",
				"sources[1].boards: not supported by source type csv",
			},
		},
	}
	runSourceCases(t, tests)
}

func TestMondayDefaults(t *testing.T) {
	c, err := Parse("crmsync.yaml", []byte(crmHeader+"  - {name: mo, type: monday, auth: {token: t}, "+mondayBoards+"}\n"), "testdata")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if s.APIVersion != DefaultMondayAPIVersion || s.Limits.FullEvery != DefaultMondayFullEvery || s.Auth.Flow() != FlowToken || s.Boards.Deals.ID != "1234567890" {
		t.Errorf("source %+v: want the default version, full_every and the token flow", s)
	}
}
