package config

import "testing"

func TestSellsySources(t *testing.T) {
	tests := []sourceCase{
		{
			name:    "personal client credentials",
			sources: "  - {name: sy, type: sellsy, account_id: \"12345\", auth: {client_id: c, client_secret: s}}\n",
		},
		{
			name: "refresh token with limits and a token URL",
			sources: "  - {name: sy, type: sellsy, account_id: \"12345\", base_url: \"https://api.sellsy.com\", " +
				"auth: {client_id: c, client_secret: s, refresh_token: r, token_url: \"https://login.sellsy.com/oauth2/access-tokens\"}, " +
				"limits: {daily_reserve: \"500\", full_every: 1d, won_rescan: 60d}, fields: {primary_contact: {field: main_contact_id}, extra: [reference]}}\n",
		},
		{
			name:    "no account id, no auth",
			sources: "  - {name: sy, type: sellsy}\n",
			want: []string{
				"sources[0].account_id: required for source type sellsy",
				"sources[0].auth: required for source type sellsy",
			},
		},
		{
			name:    "monday keys",
			sources: "  - {name: sy, type: sellsy, account_id: \"1\", auth: {client_id: c, client_secret: s}, boards: {}, limits: {daily_calls: 5}}\n",
			want:    []string{"sources[0].boards: only used by source type monday", "sources[0].limits.daily_calls: only used by source type monday"},
		},
		{
			name:    "account id not a number",
			sources: "  - {name: sy, type: sellsy, account_id: acme, auth: {client_id: c, client_secret: s}}\n",
			want:    []string{`sources[0].account_id: want the Sellsy account's number, got "acme"`},
		},
		{
			name:    "refresh token without client secret",
			sources: "  - {name: sy, type: sellsy, account_id: \"1\", auth: {client_id: c, refresh_token: r}}\n",
			want:    []string{"sources[0].auth.client_secret: required by the refresh_token flow"},
		},
		{
			name:    "other vendors' keys",
			sources: "  - {name: sy, type: sellsy, account_id: \"1\", login_url: \"https://x.io\", auth: {client_id: c, client_secret: s, tenant_id: t}, limits: {burst: 100, requests_per_5min: 10}}\n",
			want: []string{
				"sources[0].login_url: only used by source type salesforce",
				"sources[0].auth.tenant_id: only used by source type dynamics",
				"sources[0].limits.burst: not used by source type sellsy",
				"sources[0].limits.requests_per_5min: not used by source type sellsy",
			},
		},
		{
			name:    "bad limits and urls",
			sources: "  - {name: sy, type: sellsy, account_id: \"1\", base_url: \"http://api.sellsy.com\", auth: {client_id: c, client_secret: s, token_url: \"http://login.sellsy.com/t\"}, limits: {daily_reserve: 10%, full_every: 10m, won_rescan: -1h}}\n",
			want: []string{
				"sources[0].base_url: want the API host over https",
				"sources[0].auth.token_url: invalid URL",
				`sources[0].limits.daily_reserve: want a number of requests for sellsy, got "10%"`,
				"sources[0].limits.full_every: want at least 1h",
			},
		},
		{
			name:    "primary contact property",
			sources: "  - {name: sy, type: sellsy, account_id: \"1\", auth: {client_id: c, client_secret: s}, fields: {primary_contact: {property: is_main}}}\n",
			want:    []string{"sources[0].fields.primary_contact: sellsy takes field"},
		},
		{
			name:    "sellsy keys on other types",
			sources: "  - {name: hs, type: hubspot, account_id: \"1\", auth: {token: t}, limits: {full_every: 1d}}\n  - {name: c, type: csv, path: in, account_id: \"1\"}\n",
			want: []string{
				"sources[0].account_id: only used by source type sellsy",
				"sources[0].limits.full_every: only used by source type sellsy",
				"sources[1].account_id: not supported by source type csv",
			},
		},
		{
			name:    "csv format keys",
			sources: "  - {name: sy, type: sellsy, account_id: \"1\", delimiter: \";\", auth: {client_id: c, client_secret: s}}\n",
			want:    []string{"sources[0].delimiter: only used by source type csv"},
		},
	}
	runSourceCases(t, tests)
}

func TestSellsyDefaults(t *testing.T) {
	c, err := Parse("crmsync.yaml", []byte(crmHeader+"  - {name: sy, type: sellsy, account_id: \"12345\", auth: {client_id: c, client_secret: s}}\n"), "testdata")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if s.Limits.FullEvery != DefaultSellsyFullEvery || s.Limits.WonRescan != DefaultSellsyWonRescan || s.Auth.Flow() != FlowClientCredentials {
		t.Errorf("limits %+v, flow %q; want the defaults and client credentials", s.Limits, s.Auth.Flow())
	}
	c, err = Parse("crmsync.yaml", []byte(crmHeader+"  - {name: sy, type: sellsy, account_id: \"1\", auth: {client_id: c, client_secret: s}, limits: {won_rescan: 0s}}\n"), "testdata")
	if err != nil || c.Sources[0].Limits.WonRescan != 0 {
		t.Errorf("won_rescan: 0s = %v, %v; want 0 (no rescan)", c.Sources[0].Limits.WonRescan, err)
	}
}
