package config

import (
	"strings"
	"testing"
)

// crmHeader is the rest of a valid config around the sources under test.
const crmHeader = "notify: {outbox: o}\nrule_files: [rules/a.yaml]\nsources:\n"

func TestCRMSources(t *testing.T) {
	tests := []sourceCase{
		{
			name:    "hubspot private app",
			sources: "  - {name: hs, type: hubspot, auth: {token: pat-na1-x}, limits: {burst: 190, daily_reserve: 5000}}\n",
		},
		{
			name:    "hubspot oauth",
			sources: "  - {name: hs, type: hubspot, auth: {client_id: id, client_secret: s, refresh_token: r}}\n",
		},
		{
			name:    "salesforce jwt",
			sources: "  - {name: sf, type: salesforce, auth: {client_id: ck, username: u@x.io, private_key: k}}\n",
		},
		{
			name:    "salesforce client credentials at a My Domain",
			sources: "  - {name: sf, type: salesforce, login_url: https://acme.my.salesforce.com, auth: {client_id: ck, client_secret: s}, limits: {daily_reserve: 15%}}\n",
		},
		{
			name:    "salesforce refresh token",
			sources: "  - {name: sf, type: salesforce, api_version: v62.0, auth: {client_id: ck, client_secret: s, refresh_token: r}}\n",
		},
		{
			name: "field mapping",
			sources: `  - name: sf
    type: salesforce
    auth: {client_id: ck, refresh_token: r}
    fields:
      lifecycle: {field: Type, map: {"Customer - Direct": customer, Prospect: prospect, Churned: former}}
      last_activity_at: [LastActivityDate, Last_Meeting__c]
      primary_contact: {field: Primary_Contact__c}
      extra: [Industry, Tier__c]
`,
		},
		{
			name:    "hubspot without auth",
			sources: "  - {name: hs, type: hubspot}\n",
			want:    []string{"crmsync.yaml:4:5: sources[0].auth: required for source type hubspot"},
		},
		{
			name:    "hubspot oauth without client secret",
			sources: "  - {name: hs, type: hubspot, auth: {client_id: id, refresh_token: r}}\n",
			want:    []string{"crmsync.yaml:4:37: sources[0].auth.client_secret: required by the refresh_token flow"},
		},
		{
			name:    "hubspot token and oauth mixed",
			sources: "  - {name: hs, type: hubspot, auth: {token: t, client_id: id}}\n",
			want:    []string{"sources[0].auth.client_id: not used by the token flow"},
		},
		{
			name:    "hubspot with salesforce keys",
			sources: "  - {name: hs, type: hubspot, login_url: https://x.io, auth: {token: t}, limits: {burst: 5000, daily_reserve: 10%}}\n",
			want: []string{
				"sources[0].login_url: only used by source type salesforce",
				"sources[0].limits.burst: want the requests allowed per 10 seconds",
				`sources[0].limits.daily_reserve: want a number of requests for hubspot, got "10%"`,
			},
		},
		{
			name:    "salesforce client credentials at login.salesforce.com",
			sources: "  - {name: sf, type: salesforce, auth: {client_id: ck, client_secret: s}}\n",
			want:    []string{"sources[0].login_url: the client credentials flow needs your My Domain URL"},
		},
		{
			name:    "salesforce jwt without key",
			sources: "  - {name: sf, type: salesforce, auth: {client_id: ck, username: u}}\n",
			want:    []string{"sources[0].auth.private_key: required by the jwt_bearer flow"},
		},
		{
			name:    "salesforce static token",
			sources: "  - {name: sf, type: salesforce, auth: {token: t}}\n",
			want:    []string{"sources[0].auth.token: salesforce access tokens expire"},
		},
		{
			name:    "salesforce bad version and reserve",
			sources: "  - {name: sf, type: salesforce, api_version: \"66\", auth: {client_id: c, refresh_token: r}, limits: {daily_reserve: \"120%\"}}\n",
			want: []string{
				`sources[0].api_version: invalid API version "66" (want the form v66.0)`,
				`sources[0].limits.daily_reserve: want a share of the daily allocation such as "10%", got "120%"`,
			},
		},
		{
			name: "bad mapping",
			sources: `  - name: hs
    type: hubspot
    auth: {token: t}
    fields:
      lifecycle: {map: {customer: client}}
      last_activity_at: ["notes; DROP"]
      primary_contact: {property: primary, association_label: Primary}
      extra: [""]
`,
			want: []string{
				"crmsync.yaml:8:18: sources[0].fields.lifecycle.field: required",
				`crmsync.yaml:8:35: sources[0].fields.lifecycle.map.customer: unknown lifecycle "client" (want one of prospect, customer, former, other)`,
				`crmsync.yaml:9:26: sources[0].fields.last_activity_at[0]: invalid field name "notes; DROP"`,
				"crmsync.yaml:10:24: sources[0].fields.primary_contact: want exactly one of property, field and association_label",
				"crmsync.yaml:11:15: sources[0].fields.extra[0]: required",
			},
		},
		{
			name:    "csv with mapping",
			sources: "  - {name: c, type: csv, path: p, fields: {extra: [x]}}\n",
			want:    []string{"sources[0].fields: not supported by source type csv"},
		},
	}
	runSourceCases(t, tests)
}

// sourceCase is a config test: the sources of a config (below
// crmHeader), and the error lines Parse must report, none when valid.
type sourceCase struct {
	name    string
	sources string
	want    []string // error lines; none means valid
}

// runSourceCases parses each case in a subtest and checks its errors.
func runSourceCases(t *testing.T, tests []sourceCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { parseWant(t, tt.sources, tt.want) })
	}
}

// parseWant parses a config of crmHeader and sources: it must be valid
// when want is empty, else its error must hold a line containing each of
// want, which it returns.
func parseWant(t *testing.T, sources string, want []string) error {
	t.Helper()
	_, err := Parse("crmsync.yaml", []byte(crmHeader+sources), "testdata")
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		return nil
	}
	if err == nil {
		t.Fatalf("Parse succeeded, want %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Parse errors:\n%v\nwant a line containing %q", err, w)
		}
	}
	return err
}

func TestCRMSourceDefaults(t *testing.T) {
	c, err := Parse("crmsync.yaml", []byte(crmHeader+"  - {name: sf, type: salesforce, login_url: \"https://test.salesforce.com/\", auth: {client_id: c, refresh_token: r}}\n"), "testdata")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if s.LoginURL != "https://test.salesforce.com" || s.APIVersion != DefaultSalesforceAPIVersion || s.Auth.Flow() != FlowRefreshToken {
		t.Errorf("source = login %q, version %q, flow %q", s.LoginURL, s.APIVersion, s.Auth.Flow())
	}
	if got := c.String(); strings.Contains(got, "refresh_token: r\n") || !strings.Contains(got, "refresh_token: <secret>") {
		t.Errorf("config check output shows the refresh token:\n%s", got)
	}
}

func TestParseShare(t *testing.T) {
	for in, want := range map[string]float64{"10%": 0.10, " 2.5 %": 0.025, "0%": 0, "100%": 1} {
		if got, ok := ParseShare(in); !ok || got != want {
			t.Errorf("ParseShare(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"10", "-1%", "101%", "x%", ""} {
		if _, ok := ParseShare(in); ok {
			t.Errorf("ParseShare(%q) ok, want not a share", in)
		}
	}
}
