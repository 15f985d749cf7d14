package dynamicsfake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 9, 14, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// answer is a decoded answer of the Server.
type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (a answer) values() []any {
	v, _ := a.body["value"].([]any)
	return v
}

func get(t *testing.T, s *Server, target, tok string, prefer ...string) answer {
	t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = s.APIURL() + target
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for _, p := range prefer {
		req.Header.Add("Prefer", p)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("%s: body %q: %v", req.URL, raw, err)
		}
	}
	return a
}

func postToken(t *testing.T, s *Server, path string, form url.Values) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

// reference decodes a documented example file.
func reference(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile("/work/shared/reference/crm-examples/" + name)
	if os.IsNotExist(err) {
		data, err = examples.ReadFile("examples/" + name)
	}
	if err != nil {
		t.Skipf("reference %s: %v", name, err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func newSeeded(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	s := New(opts)
	t.Cleanup(s.Close)
	if err := s.SeedDocumented(); err != nil {
		t.Fatal(err)
	}
	return s, s.IssueToken()
}

func TestTokenEndpoint(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	path := "/" + DefaultTenantID + "/oauth2/v2.0/token"
	assertion := func(c *CertificateKey, aud string) string {
		a, err := SignAssertion(c, DefaultClientID, aud, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	base := func(extra ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "scope": {s.Scope()}}
		for i := 0; i < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return f
	}
	tests := []struct {
		name      string
		path      string
		form      url.Values
		status    int
		errorCode string
		aadsts    float64
	}{
		{"secret", path, base("client_secret", DefaultClientSecret), 200, "", 0},
		{"wrong secret", path, base("client_secret", "nope"), 401, "invalid_client", 7000215},
		{"wrong scope", path, base("client_secret", DefaultClientSecret, "scope", "https://other.crm.dynamics.com/.default"), 400, "invalid_scope", 1002012},
		{"unknown client", path, base("client_secret", DefaultClientSecret, "client_id", "x"), 400, "unauthorized_client", 700016},
		{"unknown tenant", "/other/oauth2/v2.0/token", base("client_secret", DefaultClientSecret), 400, "invalid_request", 90002},
		{"password grant", path, base("client_secret", DefaultClientSecret, "grant_type", "password"), 400, "unsupported_grant_type", 70003},
		{"certificate", path, base("client_assertion_type", ClientAssertionType, "client_assertion", assertion(Certificate(), s.TokenURL())), 200, "", 0},
		{"untrusted certificate", path, base("client_assertion_type", ClientAssertionType, "client_assertion", assertion(UntrustedCertificate(), s.TokenURL())), 401, "invalid_client", 700027},
		{"assertion wrong audience", path, base("client_assertion_type", ClientAssertionType, "client_assertion", assertion(Certificate(), "https://login.microsoftonline.com/x/oauth2/v2.0/token")), 401, "invalid_client", 700024},
		{"assertion wrong type", path, base("client_assertion_type", "jwt", "client_assertion", assertion(Certificate(), s.TokenURL())), 400, "invalid_request", 50027},
		{"assertion garbage", path, base("client_assertion_type", ClientAssertionType, "client_assertion", "a.b.c"), 400, "invalid_request", 50027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := postToken(t, s, tt.path, tt.form)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if tt.status == 200 {
				if a.body["token_type"] != "Bearer" || a.body["expires_in"] != float64(3599) || a.body["access_token"] == "" {
					t.Fatalf("token body %s", a.raw)
				}
				tok := a.body["access_token"].(string)
				if got := get(t, s, "accounts", tok); got.status != 200 {
					t.Fatalf("API with issued token: %d", got.status)
				}
				return
			}
			if a.body["error"] != tt.errorCode || !reflect.DeepEqual(a.body["error_codes"], []any{tt.aadsts}) {
				t.Fatalf("error body %s", a.raw)
			}
			for _, k := range []string{"error_description", "timestamp", "trace_id", "correlation_id", "error_uri"} {
				if _, ok := a.body[k]; !ok {
					t.Errorf("error body lacks %s: %s", k, a.raw)
				}
			}
		})
	}
}

func TestTokenErrorMatchesReference(t *testing.T) {
	s := New(Options{ClientID: "00000000-0000-0000-0000-000000000000"})
	defer s.Close()
	want := reference(t, "dynamics_token_error_invalid_client.json")
	a := postToken(t, s, "/"+DefaultTenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"00000000-0000-0000-0000-000000000000"}, "client_secret": {"wrong"}, "scope": {s.Scope()}})
	for _, k := range []string{"error", "error_description", "error_codes", "error_uri"} {
		if !reflect.DeepEqual(a.body[k], want[k]) {
			t.Errorf("%s = %v, want %v", k, a.body[k], want[k])
		}
	}
	if len(a.body) != len(want) {
		t.Errorf("keys %v, want those of %v", a.body, want)
	}
}

func TestOAuth2ClientCredentials(t *testing.T) {
	clk := newClock()
	s, _ := newSeeded(t, Options{Now: clk.Now, TokenLifetime: time.Hour})
	tests := []struct {
		name   string
		params url.Values
		secret string
		style  oauth2.AuthStyle
	}{
		{"secret in body", nil, DefaultClientSecret, oauth2.AuthStyleInParams},
		{"secret in basic header", nil, DefaultClientSecret, oauth2.AuthStyleInHeader},
		{"certificate", url.Values{"client_assertion_type": {ClientAssertionType}, "client_assertion": {mustAssert(t, s)}}, "", oauth2.AuthStyleInParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientcredentials.Config{ClientID: DefaultClientID, ClientSecret: tt.secret, TokenURL: s.TokenURL(),
				Scopes: []string{s.Scope()}, EndpointParams: tt.params, AuthStyle: tt.style}
			tok, err := cfg.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if a := get(t, s, "systemusers", tok.AccessToken); a.status != 200 || len(a.values()) != 2 {
				t.Fatalf("systemusers: %d %s", a.status, a.raw)
			}
		})
	}
}

func mustAssert(t *testing.T, s *Server) string {
	t.Helper()
	a, err := SignAssertion(Certificate(), DefaultClientID, s.TokenURL(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestUnauthorized(t *testing.T) {
	clk := newClock()
	s, tok := newSeeded(t, Options{Now: clk.Now, TokenLifetime: time.Hour})
	other := s.IssueToken()
	tests := []struct {
		name      string
		tok       string
		setup     func()
		wantError bool
	}{
		{"missing", "", func() {}, false},
		{"unknown", "forged", func() {}, true},
		{"expired by time", tok, func() { clk.Add(time.Hour) }, true},
		{"expired by ExpireTokens", other, func() { clk.Add(-time.Hour); s.ExpireTokens() }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			a := get(t, s, "contacts", tt.tok)
			if a.status != 401 || len(a.raw) != 0 {
				t.Fatalf("got %d %q, want 401 with an empty body", a.status, a.raw)
			}
			h := a.header.Get("WWW-Authenticate")
			if !strings.HasPrefix(h, `Bearer authorization_uri="https://login.microsoftonline.com/`) ||
				strings.Contains(h, `error="invalid_token"`) != tt.wantError {
				t.Fatalf("WWW-Authenticate %q", h)
			}
		})
	}
	if fresh := s.IssueToken(); get(t, s, "contacts", fresh).status != 200 {
		t.Fatal("a new token is refused")
	}
}

// contactsQuery is the query of the documented contacts pages.
const contactsQuery = "contacts?$select=fullname,firstname,lastname,emailaddress1,jobtitle,telephone1,_parentcustomerid_value,_ownerid_value,donotemail,donotbulkemail,statecode,lastusedincampaign,modifiedon,createdon&$filter=modifiedon%20ge%202024-09-11T00:00:00Z&$orderby=modifiedon%20asc,contactid%20asc"

func TestPagingMatchesReference(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	prefs := []string{`odata.include-annotations="*"`, "odata.maxpagesize=3"}
	p1 := get(t, s, contactsQuery, tok, prefs...)
	if p1.status != 200 {
		t.Fatalf("page 1: %d %s", p1.status, p1.raw)
	}
	if got := p1.header.Get("Preference-Applied"); !strings.Contains(got, "odata.maxpagesize=3") {
		t.Errorf("Preference-Applied %q", got)
	}
	want1 := reference(t, "dynamics_contacts_page1.json")
	if !reflect.DeepEqual(p1.values(), want1["value"]) {
		t.Errorf("page 1 values\n got %v\nwant %v", p1.values(), want1["value"])
	}
	next, _ := p1.body["@odata.nextLink"].(string)
	if !strings.Contains(next, "$skiptoken=%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22") || !strings.HasPrefix(next, s.APIURL()+contactsQuery) {
		t.Fatalf("nextLink %q", next)
	}
	p2 := get(t, s, next, tok, prefs...)
	want2 := reference(t, "dynamics_contacts_page2.json")
	if !reflect.DeepEqual(p2.values(), want2["value"]) {
		t.Errorf("page 2 values\n got %v\nwant %v", p2.values(), want2["value"])
	}
	if _, ok := p2.body["@odata.nextLink"]; ok {
		t.Error("last page has a nextLink")
	}
	if p1.body["@odata.context"] != strings.Replace(want1["@odata.context"].(string), "https://acme.crm.dynamics.com/api/data/v9.2/", s.APIURL(), 1) {
		t.Errorf("context %v", p1.body["@odata.context"])
	}
}

func TestPagingLarge(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if err := s.Seed(120, 5, 2, 1); err != nil {
		t.Fatal(err)
	}
	tok := s.IssueToken()
	tests := []struct {
		name, query string
		size        int
		wantPages   int
		want        int
	}{
		{"default 5000", "contacts?$select=fullname", 0, 1, 600},
		{"maxpagesize 100", "contacts?$select=fullname", 100, 6, 600},
		{"maxpagesize 7 ordered", "contacts?$select=modifiedon&$orderby=modifiedon%20desc", 7, 86, 600},
		{"capped at 5000", "contacts?$select=fullname", 9000, 1, 600},
		{"$top without paging", "accounts?$top=10", 0, 1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prefs []string
			if tt.size > 0 {
				prefs = append(prefs, "odata.maxpagesize="+strconv.Itoa(tt.size))
			}
			seen, pages, target := map[string]bool{}, 0, tt.query
			for target != "" {
				a := get(t, s, target, tok, prefs...)
				if a.status != 200 {
					t.Fatalf("%s: %d %s", target, a.status, a.raw)
				}
				pages++
				for _, v := range a.values() {
					row := v.(map[string]any)
					id, _ := row["contactid"].(string)
					if id == "" {
						id, _ = row["accountid"].(string)
					}
					if seen[id] {
						t.Fatalf("row %s served twice", id)
					}
					seen[id] = true
				}
				target, _ = a.body["@odata.nextLink"].(string)
			}
			if pages != tt.wantPages || len(seen) != tt.want {
				t.Fatalf("%d pages, %d rows; want %d, %d", pages, len(seen), tt.wantPages, tt.want)
			}
		})
	}
}

func TestSkipTokenTampered(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	p1 := get(t, s, "contacts?$select=fullname", tok, "odata.maxpagesize=2")
	next := p1.body["@odata.nextLink"].(string)
	tests := []struct {
		name, target string
		prefer       string
	}{
		{"option appended", next + "&$orderby=fullname", "odata.maxpagesize=2"},
		{"page size changed", next, "odata.maxpagesize=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := get(t, s, tt.target, tok, tt.prefer); a.status != 400 {
				t.Fatalf("got %d %s, want 400", a.status, a.raw)
			}
		})
	}
	if a := get(t, s, next, tok, "odata.maxpagesize=2"); a.status != 200 {
		t.Fatalf("the untouched nextLink: %d %s", a.status, a.raw)
	}
	s.ExpireCursors()
	if a := get(t, s, next, tok, "odata.maxpagesize=2"); a.status != 400 {
		t.Fatalf("after ExpireCursors: %d %s", a.status, a.raw)
	}
}

// BenchmarkFullRead pages through 10,000 contacts, 5,000 a page: the
// fake's own cost under a connector benchmark.
func BenchmarkFullRead(b *testing.B) {
	s := New(Options{})
	defer s.Close()
	if err := s.Seed(2000, 5, 0, 0); err != nil {
		b.Fatal(err)
	}
	tok := s.IssueToken()
	for b.Loop() {
		target := s.APIURL() + "contacts?$select=fullname,emailaddress1,_parentcustomerid_value,modifiedon"
		for target != "" {
			req, _ := http.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Prefer", "odata.maxpagesize=5000")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Next string `json:"@odata.nextLink"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("%d %v", resp.StatusCode, err)
			}
			target = page.Next
		}
	}
}

func TestFilters(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	tests := []struct {
		name, query string
		want        int    // rows, when status is 200
		status      int    // 200 unless set
		message     string // part of the 400 message
	}{
		{"won opportunities", "opportunities?$filter=statecode%20eq%201", 1, 0, ""},
		{"modified since", "contacts?$filter=modifiedon%20gt%202024-09-12T07:45:01Z", 3, 0, ""},
		{"parent account", "contacts?$filter=_parentcustomerid_value%20eq%20a1c2e3f4-0000-ed11-b83e-000d3a572421", 2, 0, ""},
		{"and", "contacts?$filter=_parentcustomerid_value%20eq%20a1c2e3f4-0000-ed11-b83e-000d3a572421%20and%20donotbulkemail%20eq%20true", 1, 0, ""},
		{"or with parentheses", "opportunities?$filter=(statecode%20eq%201%20or%20statecode%20eq%202)%20and%20modifiedon%20ge%202024-06-01T00:00:00Z", 2, 0, ""},
		{"not", "opportunities?$filter=not%20statecode%20eq%200", 2, 0, ""},
		{"null", "contacts?$filter=_parentcustomerid_value%20eq%20null", 1, 0, ""},
		{"string", "accounts?$filter=name%20eq%20'Globex'", 1, 0, ""},
		{"completed activities", "activitypointers?$filter=statecode%20eq%201%20and%20actualend%20ne%20null", 2, 0, ""},
		{"date column", "opportunities?$filter=actualclosedate%20ge%202024-07-01", 1, 0, ""},
		{"unknown column", "contacts?$filter=lastmodified%20gt%202024-09-11T00:00:00Z", 0, 400, "Could not find a property named 'lastmodified' on type 'Microsoft.Dynamics.CRM.contact'."},
		{"quoted datetime", "contacts?$filter=modifiedon%20gt%20'2024-09-11'", 0, 400, "incompatible types"},
		{"quoted guid", "contacts?$filter=_parentcustomerid_value%20eq%20'a1c2e3f4-0000-ed11-b83e-000d3a572421'", 0, 400, "incompatible types"},
		{"function", "contacts?$filter=contains(fullname,'a')", 0, 400, "unknown function"},
		{"dangling and", "contacts?$filter=statecode%20eq%200%20and", 0, 400, "Expression expected"},
		{"bad operator", "contacts?$filter=statecode%20is%200", 0, 400, "Syntax error"},
		{"unknown $select", "contacts?$select=nickname", 0, 400, "Could not find a property named 'nickname'"},
		{"unknown $orderby", "contacts?$orderby=nickname", 0, 400, "Could not find a property named 'nickname'"},
		{"$skip", "contacts?$skip=10", 0, 400, "$skip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, s, tt.query, tok)
			want := max(tt.status, 200)
			if a.status != want {
				t.Fatalf("status %d, want %d: %s", a.status, want, a.raw)
			}
			if want == 200 {
				if len(a.values()) != tt.want {
					t.Fatalf("%d rows, want %d: %s", len(a.values()), tt.want, a.raw)
				}
				return
			}
			e, _ := a.body["error"].(map[string]any)
			if e["code"] != CodeBadQuery || !strings.Contains(e["message"].(string), tt.message) {
				t.Fatalf("error %s", a.raw)
			}
		})
	}
}

func TestBadFilterMatchesReference(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	a := get(t, s, "contacts?$filter=lastmodified%20gt%202024-09-11T00:00:00Z", tok)
	if want := reference(t, "dynamics_error_400_bad_filter.json"); !reflect.DeepEqual(a.body, want) {
		t.Fatalf("got %s, want %v", a.raw, want)
	}
}

func TestChangeTracking(t *testing.T) {
	clk := newClock()
	s, tok := newSeeded(t, Options{Now: clk.Now, TokenLifetime: 30 * 24 * time.Hour})
	const sel = "contacts?$select=fullname,emailaddress1,modifiedon"
	initial := get(t, s, sel, tok, "odata.track-changes")
	if initial.status != 200 || len(initial.values()) != 5 {
		t.Fatalf("initial: %d %s", initial.status, initial.raw)
	}
	if got := initial.header.Get("Preference-Applied"); got != "odata.track-changes" {
		t.Errorf("Preference-Applied %q", got)
	}
	delta, _ := initial.body["@odata.deltaLink"].(string)
	if !strings.HasPrefix(delta, s.APIURL()+sel+"&$deltatoken=") || !strings.Contains(delta, "%2109%2f14%2f2024%2008%3a00%3a00") {
		t.Fatalf("deltaLink %q", delta)
	}
	row := initial.values()[0].(map[string]any)
	if len(row) != 5 || row["@odata.etag"] == nil || row["contactid"] == nil {
		t.Errorf("initial row %v", row)
	}

	maria, tom := "49b0be2e-d01c-ed11-b83e-000d3a572421", "5a1b2c3d-d01c-ed11-b83e-000d3a572421"
	clk.Add(time.Hour)
	if _, err := s.Upsert("contacts", map[string]any{"contactid": maria, "emailaddress1": "maria.j@acme-widgets.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("contacts", tom); err != nil {
		t.Fatal(err)
	}
	changes := get(t, s, delta, tok, "odata.track-changes")
	want := reference(t, "dynamics_contacts_delta_changes.json")
	if changes.status != 200 || len(changes.values()) != 2 {
		t.Fatalf("changes: %d %s", changes.status, changes.raw)
	}
	if !strings.HasSuffix(changes.body["@odata.context"].(string), "$metadata#contacts(fullname,emailaddress1,modifiedon)/$delta") {
		t.Errorf("context %v", changes.body["@odata.context"])
	}
	changed := changes.values()[0].(map[string]any)
	if changed["emailaddress1"] != "maria.j@acme-widgets.com" || changed["modifiedon"] != "2024-09-14T09:00:00Z" {
		t.Errorf("changed row %v", changed)
	}
	if !sameKeys(changed, want["value"].([]any)[0].(map[string]any)) {
		t.Errorf("changed row keys %v, want those of %v", changed, want["value"].([]any)[0])
	}
	removed := changes.values()[1].(map[string]any)
	wantRemoved := want["value"].([]any)[1].(map[string]any)
	wantRemoved["@odata.context"] = s.APIURL() + "$metadata#contacts/$deletedEntity"
	if !reflect.DeepEqual(removed, wantRemoved) {
		t.Errorf("removed %v, want %v", removed, wantRemoved)
	}
	again := get(t, s, changes.body["@odata.deltaLink"].(string), tok, "odata.track-changes")
	if again.status != 200 || len(again.values()) != 0 || again.body["@odata.deltaLink"] == nil {
		t.Fatalf("no changes: %d %s", again.status, again.raw)
	}
}

func sameKeys(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			return false
		}
	}
	return true
}

func TestChangeTrackingPaged(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if err := s.Seed(10, 3, 0, 0); err != nil {
		t.Fatal(err)
	}
	tok := s.IssueToken()
	prefs := []string{"odata.track-changes", "odata.maxpagesize=7"}
	target, pages, rows, delta := "contacts?$select=fullname", 0, 0, ""
	for target != "" {
		a := get(t, s, target, tok, prefs...)
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		pages, rows = pages+1, rows+len(a.values())
		if pages == 2 { // a change while paging is left to the next delta
			if _, err := s.Upsert("contacts", map[string]any{"fullname": "New Contact"}); err != nil {
				t.Fatal(err)
			}
		}
		target, _ = a.body["@odata.nextLink"].(string)
		if target == "" {
			delta, _ = a.body["@odata.deltaLink"].(string)
		} else if a.body["@odata.deltaLink"] != nil {
			t.Fatal("a page with a nextLink has a deltaLink")
		}
	}
	if pages != 5 || rows != 30 || delta == "" {
		t.Fatalf("%d pages, %d rows, deltaLink %q", pages, rows, delta)
	}
	next := get(t, s, delta, tok, prefs...)
	if len(next.values()) != 1 || next.values()[0].(map[string]any)["fullname"] != "New Contact" {
		t.Fatalf("delta after paging: %s", next.raw)
	}
}

func TestChangeTrackingErrors(t *testing.T) {
	clk := newClock()
	s, tok := newSeeded(t, Options{Now: clk.Now, TokenLifetime: 30 * 24 * time.Hour, NoChangeTracking: []string{"activitypointers"}})
	deltaLink := func() string {
		a := get(t, s, "accounts?$select=name", tok, "odata.track-changes")
		return a.body["@odata.deltaLink"].(string)
	}
	expired := reference(t, "dynamics_error_changetracking_expired.json")
	unsupported := reference(t, "dynamics_error_changetracking_unsupported_option.json")
	tests := []struct {
		name   string
		target func() string
		prefer string
		want   map[string]any
	}{
		{"ExpireDeltaTokens", func() string { l := deltaLink(); s.ExpireDeltaTokens(); return l }, "odata.track-changes", expired},
		{"older than the retention", func() string { l := deltaLink(); clk.Add(8 * 24 * time.Hour); return l }, "odata.track-changes", expired},
		{"garbage token", func() string { return "accounts?$deltatoken=xyz" }, "", expired},
		{"$filter with track-changes", func() string { return "accounts?$filter=statecode%20eq%200" }, "odata.track-changes", unsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, s, tt.target(), tok, tt.prefer)
			if a.status != 400 || !reflect.DeepEqual(a.body, tt.want) {
				t.Fatalf("got %d %s, want 400 %v", a.status, a.raw, tt.want)
			}
		})
	}
	if a := get(t, s, "accounts?$orderby=name", tok, "odata.track-changes"); !strings.Contains(string(a.raw), `The \"$orderby\" query parameter`) {
		t.Errorf("orderby with tracking: %s", a.raw)
	}
	if a := get(t, s, "activitypointers", tok, "odata.track-changes"); a.status != 200 || a.body["@odata.deltaLink"] != nil || a.header.Get("Preference-Applied") != "" {
		t.Errorf("table without change tracking: %d %v %q", a.status, a.body["@odata.deltaLink"], a.header.Get("Preference-Applied"))
	}
}

func TestServiceProtectionWindow(t *testing.T) {
	clk := newClock()
	s, tok := newSeeded(t, Options{Now: clk.Now, WindowRequests: 3, TokenLifetime: 24 * time.Hour})
	for i := range 3 {
		if a := get(t, s, "accounts", tok); a.status != 200 {
			t.Fatalf("request %d: %d", i, a.status)
		}
		clk.Add(10 * time.Second)
	}
	a := get(t, s, "accounts", tok)
	if a.status != 429 || a.header.Get("Retry-After") != "270" {
		t.Fatalf("got %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	want := reference(t, "dynamics_error_429_service_protection.json")
	want["error"].(map[string]any)["message"] = "Number of requests exceeded the limit of 3 over time window of 300 seconds."
	if !reflect.DeepEqual(a.body, want) {
		t.Errorf("429 body %s", a.raw)
	}
	clk.Add(270 * time.Second)
	if a := get(t, s, "accounts", tok); a.status != 200 {
		t.Fatalf("after Retry-After: %d", a.status)
	}
	if s.Throttled() != 1 || s.Statuses()[429] != 1 || s.CountPath(APIPath+"accounts", 429) != 1 {
		t.Errorf("counters %d %v", s.Throttled(), s.Statuses())
	}
}

func TestSetLimits(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	s.SetLimits(1, 0, 0)
	get(t, s, "accounts", tok)
	if a := get(t, s, "accounts", tok); a.status != 429 {
		t.Fatalf("over a limit of 1: %d", a.status)
	}
	s.SetLimits(DefaultWindowRequests, 0, 0)
	if a := get(t, s, "accounts", tok); a.status != 200 {
		t.Fatalf("within 6000: %d", a.status)
	}
	if o := s.Options(); o.WindowRequests != 6000 || o.Window != 5*time.Minute || o.MaxConcurrent != 52 {
		t.Fatalf("limits %d %v %d", o.WindowRequests, o.Window, o.MaxConcurrent)
	}
	if got := s.WindowUsed(DefaultClientID); got != 2 {
		t.Fatalf("WindowUsed %d, want 2 (refused requests do not count)", got)
	}
}

func TestServiceProtectionConcurrency(t *testing.T) {
	s, tok := newSeeded(t, Options{MaxConcurrent: 2})
	release, entered := make(chan struct{}), make(chan struct{}, 2)
	s.OnRequest(func(kind string, n int) {
		if kind == KindAccounts {
			entered <- struct{}{}
			<-release
		}
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { get(t, s, "accounts", tok) })
	}
	<-entered
	<-entered
	a := get(t, s, "contacts", tok)
	close(release)
	wg.Wait()
	if a.status != 429 || a.header.Get("Retry-After") != "1" {
		t.Fatalf("got %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	e := a.body["error"].(map[string]any)
	if e["code"] != CodeConcurrentLimit || e["message"] != "Number of concurrent requests exceeded the limit of 2." {
		t.Errorf("body %s", a.raw)
	}
	if s.MaxConcurrency() != 2 {
		t.Errorf("MaxConcurrency %d", s.MaxConcurrency())
	}
	s.OnRequest(nil)
	if a := get(t, s, "contacts", tok); a.status != 200 {
		t.Fatalf("after the burst: %d", a.status)
	}
}

func TestErrors(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	s.Deny("opportunities")
	tests := []struct {
		name, target string
		status       int
		code         string
		message      string
	}{
		{"403 privilege", "opportunities", 403, CodePrivilege, "is missing prvReadOpportunity privilege (Id=...) on OTC=3 for entity 'opportunity'."},
		{"404 record", "contacts(49b0be2e-d01c-ed11-b83e-000d3a572499)", 404, CodeNotFound, "contact With Id = 49b0be2e-d01c-ed11-b83e-000d3a572499 Does Not Exist"},
		{"404 entity set", "leads", 404, CodeBadQuery, "Resource not found for the segment 'leads'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, s, tt.target, tok)
			e, _ := a.body["error"].(map[string]any)
			if a.status != tt.status || e["code"] != tt.code || !strings.HasSuffix(e["message"].(string), tt.message) {
				t.Fatalf("got %d %s", a.status, a.raw)
			}
		})
	}
	want404 := reference(t, "dynamics_error_404_not_found.json")
	if a := get(t, s, "contacts(49b0be2e-d01c-ed11-b83e-000d3a572499)", tok); !reflect.DeepEqual(a.body, want404) {
		t.Errorf("404 %s", a.raw)
	}
	s.Allow("opportunities")
	if a := get(t, s, "opportunities", tok); a.status != 200 {
		t.Errorf("after Allow: %d", a.status)
	}
}

func TestSingleRecord(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	a := get(t, s, "systemusers(5e1f2a3b-1111-ed11-b83e-000d3a572421)?$select=fullname,internalemailaddress,isdisabled", tok)
	if a.status != 200 || a.body["internalemailaddress"] != "jsmith@example.com" || a.body["isdisabled"] != false ||
		!strings.HasSuffix(a.body["@odata.context"].(string), "$metadata#systemusers(fullname,internalemailaddress,isdisabled)/$entity") {
		t.Fatalf("got %d %s", a.status, a.raw)
	}
	cur := get(t, s, "transactioncurrencies?$select=isocurrencycode", tok)
	if len(cur.values()) != 1 || cur.values()[0].(map[string]any)["transactioncurrencyid"] != USDCurrencyID ||
		cur.values()[0].(map[string]any)["isocurrencycode"] != "USD" {
		t.Fatalf("transactioncurrencies: %s", cur.raw)
	}
	org := get(t, s, "organizations?$select=expirechangetrackingindays", tok)
	if len(org.values()) != 1 || org.values()[0].(map[string]any)["expirechangetrackingindays"] != 7.0 {
		t.Fatalf("organizations: %s", org.raw)
	}
}

func TestApply(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	tests := []struct {
		name, query string
		want        []any
	}{
		{"last activity", "activitypointers?$apply=filter(statecode%20eq%201)/groupby((_regardingobjectid_value),aggregate(actualend%20with%20max%20as%20lastactivity))",
			[]any{
				map[string]any{"_regardingobjectid_value": "1b2c3d4e-4444-ed11-b83e-000d3a572421", "lastactivity": "2024-09-01T12:40:00Z"},
				map[string]any{"_regardingobjectid_value": "49b0be2e-d01c-ed11-b83e-000d3a572421", "lastactivity": "2024-09-10T15:10:00Z"},
			}},
		{"won by account", "opportunities?$apply=filter(statecode%20eq%201)/groupby((_parentaccountid_value),aggregate(actualvalue%20with%20sum%20as%20won,actualclosedate%20with%20max%20as%20lastwon))",
			[]any{map[string]any{"_parentaccountid_value": "a1c2e3f4-0000-ed11-b83e-000d3a572421", "won": 100000.0, "lastwon": "2024-06-28"}}},
		{"count", "contacts?$apply=aggregate($count%20as%20n)", []any{map[string]any{"n": 5.0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, s, tt.query, tok)
			if a.status != 200 || !reflect.DeepEqual(a.values(), tt.want) {
				t.Fatalf("got %d %s", a.status, a.raw)
			}
		})
	}
	a := get(t, s, tests[0].query, tok, `odata.include-annotations="*"`)
	ref := reference(t, "dynamics_activitypointers_last_activity_aggregate.json")
	if !sameKeys(a.values()[0].(map[string]any), ref["value"].([]any)[0].(map[string]any)) {
		t.Errorf("aggregate row %v, want the keys of %v", a.values()[0], ref["value"].([]any)[0])
	}
	if got := a.values()[1].(map[string]any)["lastactivity@OData.Community.Display.V1.FormattedValue"]; got != "9/10/2024 3:10 PM" {
		t.Errorf("formatted %v", got)
	}
	if a := get(t, s, "activitypointers?$apply=groupby((modifiedon))", tok); a.status != 400 {
		t.Errorf("groupby datetime: %d", a.status)
	}
}

func TestMutationsBetweenPages(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	s.OnRequest(func(kind string, n int) {
		if kind == KindContacts && n == 2 { // before page 2: delete a served row
			if err := s.Delete("contacts", "49b0be2e-d01c-ed11-b83e-000d3a572421"); err != nil {
				t.Error(err)
			}
		}
	})
	p1 := get(t, s, "contacts?$select=fullname&$orderby=contactid", tok, "odata.maxpagesize=2")
	p2 := get(t, s, p1.body["@odata.nextLink"].(string), tok, "odata.maxpagesize=2")
	if len(p1.values())+len(p2.values()) != 4 || p2.status != 200 {
		t.Fatalf("keyset paging after a delete: %s / %s", p1.raw, p2.raw)
	}
	if s.Len("contacts") != 4 {
		t.Fatalf("Len %d", s.Len("contacts"))
	}
}

func TestFaults(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	s.FailNext(1, 503)
	if a := get(t, s, "accounts", tok); a.status != 503 {
		t.Fatalf("FailNext: %d", a.status)
	}
	s.TruncateEvery(1)
	req, _ := http.NewRequest(http.MethodGet, s.APIURL()+"accounts", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if json.Valid(raw) || s.Truncated() != 1 {
		t.Fatalf("truncated answer parses: %q (%d cut)", raw, s.Truncated())
	}
	s.TruncateEvery(0)
	if s.Count(KindAccounts) != 2 {
		t.Errorf("Count %d", s.Count(KindAccounts))
	}
}

func TestUpsertRefusesBadValues(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	tests := []struct {
		name   string
		set    string
		fields map[string]any
	}{
		{"unknown set", "leads", map[string]any{}},
		{"unknown column", "contacts", map[string]any{"nickname": "x"}},
		{"int as float", "contacts", map[string]any{"statecode": 1.0}},
		{"bad guid", "contacts", map[string]any{"_parentcustomerid_value": "acme"}},
		{"bad datetime", "contacts", map[string]any{"modifiedon": "yesterday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Upsert(tt.set, tt.fields); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if err := s.Delete("contacts", "nope"); err == nil {
		t.Fatal("Delete of a missing row: no error")
	}
}

func TestHostileStringsStayText(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	hostile := "<!channel> <script>alert(\"x\")</script> \\ é\n"
	id, err := s.Upsert("contacts", map[string]any{"fullname": hostile, "emailaddress1": "a&b@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	a := get(t, s, "contacts("+id+")?$select=fullname,emailaddress1", s.IssueToken())
	if a.status != 200 || a.body["fullname"] != hostile || a.body["emailaddress1"] != "a&b@example.com" {
		t.Fatalf("got %d %s", a.status, a.raw)
	}
	if strings.Contains(string(a.raw), "<script>") {
		t.Fatalf("raw markup in the body: %s", a.raw)
	}
}

func TestRequestLog(t *testing.T) {
	s, tok := newSeeded(t, Options{})
	postToken(t, s, "/"+DefaultTenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "scope": {s.Scope()}})
	get(t, s, "accounts?$select=name", tok, "odata.maxpagesize=10")
	log := s.Requests()
	if len(log) != 2 || log[0].Kind != KindToken || log[0].Query != nil || log[0].Status != 200 {
		t.Fatalf("token entry %+v", log)
	}
	if log[1].Kind != KindAccounts || log[1].Prefer != "odata.maxpagesize=10" || log[1].Query.Get("$select") != "name" {
		t.Fatalf("API entry %+v", log[1])
	}
	if s.Count(KindToken) != 1 || s.Count(KindAccounts) != 1 || s.TokensIssued() != 2 {
		t.Fatalf("counts %d %d %d", s.Count(KindToken), s.Count(KindAccounts), s.TokensIssued())
	}
}

func TestFailTokens(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID},
		"client_secret": {DefaultClientSecret}, "scope": {s.Scope()}}
	path := "/" + DefaultTenantID + "/oauth2/v2.0/token"
	s.FailTokens(http.StatusServiceUnavailable, "temporarily_unavailable", 50196, "The server encountered a client request loop.")
	a := postToken(t, s, path, form)
	if a.status != 503 || a.body["error"] != "temporarily_unavailable" || !strings.HasPrefix(a.body["error_description"].(string), "AADSTS50196: ") {
		t.Fatalf("got %d %s", a.status, a.raw)
	}
	s.FailTokens(0, "", 0, "")
	if a := postToken(t, s, path, form); a.status != 200 {
		t.Fatalf("after FailTokens(0): %d %s", a.status, a.raw)
	}
}

func TestSeedLinks(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if err := s.Seed(30, 2, 3, 1); err != nil {
		t.Fatal(err)
	}
	tok := s.IssueToken()
	won := get(t, s, "opportunities?$filter=statecode%20eq%201", tok)
	if len(won.values()) != 30 {
		t.Fatalf("%d won of 90", len(won.values()))
	}
	for _, v := range won.values() {
		o := v.(map[string]any)
		if o["actualvalue"] == nil || o["actualclosedate"] == nil || o["statuscode"] != 3.0 ||
			s.Get("accounts", o["_parentaccountid_value"].(string)) == nil {
			t.Fatalf("won opportunity %v", o)
		}
	}
	accounts := get(t, s, "accounts?$select=customertypecode,_primarycontactid_value,_ownerid_value", tok)
	for _, v := range accounts.values() {
		a := v.(map[string]any)
		if s.Get("contacts", a["_primarycontactid_value"].(string)) == nil || s.Get("systemusers", a["_ownerid_value"].(string)) == nil {
			t.Fatalf("account links %v", a)
		}
	}
	if s.Len("contacts") != 60 || s.Len("activitypointers") != 30 || s.Len("systemusers") != 1 {
		t.Fatalf("sizes %d %d %d", s.Len("contacts"), s.Len("activitypointers"), s.Len("systemusers"))
	}
}
