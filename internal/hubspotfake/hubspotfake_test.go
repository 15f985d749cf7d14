package hubspotfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const token = "pat-test"

// answer is a decoded answer of the Server.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, s *Server, method, path, body, tok string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, raw)
	}
	return a
}

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.PrivateToken == "" {
		opts.PrivateToken = token
	}
	s := New(opts)
	t.Cleanup(s.Close)
	return s
}

// wantError checks a HubSpot error body.
func wantError(t *testing.T, a answer, status int, category, message string) {
	t.Helper()
	if a.status != status || a.body["status"] != "error" || a.body["category"] != category || a.body["correlationId"] == "" {
		t.Errorf("answer %d %v, want %d %s", a.status, a.body, status, category)
	}
	if msg, _ := a.body["message"].(string); !strings.Contains(msg, message) {
		t.Errorf("message %q, want it to contain %q", msg, message)
	}
}

func TestServerValidatesRequests(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Burst: -1, SearchPerSecond: -1})
	s.Seed(3, 1, 1)
	search := SearchPath(Contacts)
	tests := []struct {
		name, method, path, body, tok string
		status                        int
		category, message             string
	}{
		{"no token", "GET", ObjectsPath(Contacts), "", "", 401, "INVALID_AUTHENTICATION", "Authentication credentials not found"},
		{"wrong token", "GET", ObjectsPath(Contacts), "", "nope", 401, "INVALID_AUTHENTICATION", "credentials"},
		{"list limit", "GET", ObjectsPath(Contacts) + "?limit=101", "", token, 400, "VALIDATION_ERROR", "limit"},
		{"list cursor", "GET", ObjectsPath(Contacts) + "?after=abc", "", token, 400, "VALIDATION_ERROR", "after"},
		{"unknown object", "GET", "/crm/v3/objects/widgets", "", token, 404, "OBJECT_NOT_FOUND", ""},
		{"search limit", "POST", search, `{"limit":201}`, token, 400, "VALIDATION_ERROR", "limit"},
		{"search beyond 10000", "POST", search, `{"limit":100,"after":"10000"}`, token, 400, "VALIDATION_ERROR", BeyondLimitMessage},
		{"filter without property", "POST", search, `{"filterGroups":[{"filters":[{"operator":"GTE","value":"1"}]}]}`, token, 400, "VALIDATION_ERROR", "[propertyName]"},
		{"unknown field", "POST", search, `{"limits":10}`, token, 400, "VALIDATION_ERROR", "Invalid input JSON"},
		{"bad date", "POST", search, `{"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":"yesterday"}]}]}`, token, 400, "VALIDATION_ERROR", "lastmodifieddate"},
		{"two sorts", "POST", search, `{"sorts":["email","firstname"]}`, token, 400, "VALIDATION_ERROR", "one sort"},
		{"empty batch", "POST", AssociationsPath(Contacts), `{"inputs":[]}`, token, 400, "VALIDATION_ERROR", "inputs"},
		{"search by GET", "GET", search, "", token, 405, "VALIDATION_ERROR", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantError(t, call(t, s, tt.method, tt.path, tt.body, tt.tok), tt.status, tt.category, tt.message)
		})
	}
}

func TestServerListsWithCursors(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Burst: -1})
	s.Seed(5, 1, 0)
	var ids []string
	after := ""
	for pages := 0; ; pages++ {
		q := url.Values{"limit": {"2"}, "properties": {"name,nope"}}
		if after != "" {
			q.Set("after", after)
		}
		a := call(t, s, "GET", ObjectsPath(Companies)+"?"+q.Encode(), "", token)
		for _, r := range a.body["results"].([]any) {
			rec := r.(map[string]any)
			props := rec["properties"].(map[string]any)
			if _, ok := props["nope"]; !ok || props["nope"] != nil || props["hs_object_id"] != rec["id"] || props["domain"] != nil && props["domain"] != "" {
				t.Errorf("properties %v: want the requested ones (null when unset) and the defaults", props)
			}
			ids = append(ids, rec["id"].(string))
		}
		p, ok := a.body["paging"].(map[string]any)
		if !ok {
			break
		}
		after = p["next"].(map[string]any)["after"].(string)
	}
	if strings.Join(ids, ",") != strings.Join(s.IDs(Companies), ",") {
		t.Errorf("listed %v, want %v", ids, s.IDs(Companies))
	}
	a := call(t, s, "GET", ObjectsPath(Contacts)+"?associations=companies&limit=1", "", token)
	assoc := a.body["results"].([]any)[0].(map[string]any)["associations"].(map[string]any)["companies"].(map[string]any)["results"].([]any)
	if len(assoc) != 2 || assoc[0].(map[string]any)["type"] != "contact_to_company" || assoc[1].(map[string]any)["type"] != "contact_to_company_unlabeled" {
		t.Errorf("associations = %v", assoc)
	}
}

func TestServerSearchesByModifiedTime(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Burst: -1, SearchPerSecond: -1})
	s.Seed(10, 0, 0)
	ids := s.IDs(Companies)
	at := Base.Add(5 * time.Second).UnixMilli()
	body := `{"filterGroups":[{"filters":[{"propertyName":"hs_lastmodifieddate","operator":"GTE","value":"` + formatInt(at) + `"}]}],"sorts":[{"propertyName":"hs_lastmodifieddate","direction":"ASCENDING"}],"properties":["name"],"limit":2}`
	a := call(t, s, "POST", SearchPath(Companies), body, token)
	if a.body["total"] != float64(5) {
		t.Errorf("total = %v, want 5", a.body["total"])
	}
	res := a.body["results"].([]any)
	if len(res) != 2 || res[0].(map[string]any)["id"] != ids[5] || res[1].(map[string]any)["id"] != ids[6] {
		t.Errorf("results = %v", res)
	}
	if _, ok := res[0].(map[string]any)["associations"]; ok {
		t.Error("search results carry associations")
	}
	if after := a.body["paging"].(map[string]any)["next"].(map[string]any)["after"]; after != "2" {
		t.Errorf("after = %v, want the offset 2", after)
	}
	if len(a.header.Values("X-HubSpot-RateLimit-Max")) != 0 {
		t.Error("search answers carry rate-limit headers")
	}
}

func formatInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestServerEnforcesRateLimits(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Burst: 3, SearchPerSecond: 2, Daily: 1000})
	for i := range 3 {
		a := call(t, s, "GET", OwnersPath, "", token)
		if a.status != 200 || a.header.Get("X-HubSpot-RateLimit-Remaining") != formatInt(int64(2-i)) || a.header.Get("X-HubSpot-RateLimit-Daily-Remaining") != formatInt(int64(999-i)) {
			t.Errorf("request %d: %d, headers %v", i, a.status, a.header)
		}
	}
	a := call(t, s, "GET", OwnersPath, "", token)
	if a.status != 429 || a.body["policyName"] != "TEN_SECONDLY_ROLLING" || a.body["errorType"] != "RATE_LIMIT" {
		t.Errorf("4th request in 10 s: %d %v", a.status, a.body)
	}
	for i := range 3 { // search is exempt from the burst window, not from its own
		a := call(t, s, "POST", SearchPath(Deals), `{}`, token)
		if want := map[bool]int{true: 200, false: 429}[i < 2]; a.status != want {
			t.Errorf("search %d: %d, want %d", i, a.status, want)
		}
	}
	if s.TooMany() != 2 {
		t.Errorf("TooMany = %d, want 2", s.TooMany())
	}
	s.SetDailyUsed(1000)
	if a := call(t, s, "POST", SearchPath(Deals), `{}`, token); a.status != 429 || a.body["policyName"] != "DAILY" {
		t.Errorf("past the daily limit: %d %v", a.status, a.body)
	}
}

// TestServerAnnouncesItsLimit follows a window of 2 requests per 40 ms:
// every answer, the 429 and the daily 429 included, announces the limit
// in HubSpot's headers, and the window frees its slots once they age out.
func TestServerAnnouncesItsLimit(t *testing.T) {
	t.Parallel()
	const interval = 40 * time.Millisecond
	s := newServer(t, Options{Burst: 2, Interval: interval, Daily: 3})
	steps := []struct {
		name              string
		wait              time.Duration // before the request
		status            int
		remaining, policy string
		dailyLeft         string
	}{
		{name: "first", status: 200, remaining: "1", dailyLeft: "2"},
		{name: "second", status: 200, remaining: "0", dailyLeft: "1"},
		{name: "window full", status: 429, remaining: "0", policy: "TEN_SECONDLY_ROLLING", dailyLeft: "1"},
		{name: "window cleared", wait: interval + 10*time.Millisecond, status: 200, remaining: "1", dailyLeft: "0"},
		{name: "day spent", status: 429, remaining: "1", policy: "DAILY", dailyLeft: "0"},
	}
	for _, st := range steps {
		time.Sleep(st.wait)
		a := call(t, s, "GET", OwnersPath, "", token)
		h := a.header
		if a.status != st.status || h.Get("X-HubSpot-RateLimit-Max") != "2" || h.Get("X-HubSpot-RateLimit-Interval-Milliseconds") != "40" ||
			h.Get("X-HubSpot-RateLimit-Remaining") != st.remaining || h.Get("X-HubSpot-RateLimit-Daily") != "3" || h.Get("X-HubSpot-RateLimit-Daily-Remaining") != st.dailyLeft {
			t.Errorf("%s: %d, headers %v; want %d, remaining %s, daily remaining %s", st.name, a.status, h, st.status, st.remaining, st.dailyLeft)
		}
		if st.policy != "" && (a.body["policyName"] != st.policy || a.body["errorType"] != "RATE_LIMIT" || a.body["status"] != "error" || a.body["requestId"] == nil) {
			t.Errorf("%s: body %v, want HubSpot's %s 429", st.name, a.body, st.policy)
		}
	}
}

func TestServerIssuesAndExpiresTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{ClientID: "id", ClientSecret: "secret", RefreshToken: "rt", RotateRefreshTokens: true, Burst: -1})
	form := func(secret, rt string) string {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {"id"}, "client_secret": {secret}, "refresh_token": {rt}}.Encode()
	}
	post := func(body string) answer {
		resp, err := s.Client().Post(s.URL()+TokenPath, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		a := answer{status: resp.StatusCode}
		json.NewDecoder(resp.Body).Decode(&a.body)
		return a
	}
	if a := post(form("wrong", "rt")); a.status != 400 || a.body["status"] != "BAD_CLIENT_SECRET" {
		t.Errorf("wrong secret: %d %v", a.status, a.body)
	}
	a := post(form("secret", "rt"))
	access, _ := a.body["access_token"].(string)
	if a.status != 200 || access == "" || a.body["expires_in"] != float64(1800) || a.body["refresh_token"] == "rt" {
		t.Fatalf("refresh: %d %v", a.status, a.body)
	}
	if a := post(form("secret", "rt")); a.body["status"] != "BAD_REFRESH_TOKEN" {
		t.Errorf("rotated refresh token still accepted: %v", a.body)
	}
	if a := call(t, s, "GET", OwnersPath, "", access); a.status != 200 || a.header.Get("X-HubSpot-RateLimit-Daily") != "" {
		t.Errorf("OAuth request: %d, daily headers %q (not sent to OAuth apps)", a.status, a.header.Get("X-HubSpot-RateLimit-Daily"))
	}
	s.ExpireTokens()
	a = call(t, s, "GET", OwnersPath, "", access)
	wantError(t, a, 401, "EXPIRED_AUTHENTICATION", "expired")
	if _, ok := a.body["context"].(map[string]any)["expire time"]; !ok {
		t.Errorf("expired body lacks its context: %v", a.body)
	}
}

func TestServerReadsAssociationsInBatches(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Burst: -1})
	s.Seed(1, 1, 0)
	contact := s.IDs(Contacts)[0]
	lonely := s.Put(Contacts, Object{Properties: map[string]string{"email": "x@example.com"}})
	s.Associate(Contacts, contact, Association{CompanyID: s.IDs(Companies)[0], Primary: true, Labels: []string{"Decision maker"}})
	a := call(t, s, "POST", AssociationsPath(Contacts), `{"inputs":[{"id":"`+contact+`"},{"id":"`+lonely+`"}]}`, token)
	if a.status != http.StatusMultiStatus || a.body["numErrors"] != float64(1) || a.body["status"] != "COMPLETE" {
		t.Fatalf("batch read: %d %v", a.status, a.body)
	}
	to := a.body["results"].([]any)[0].(map[string]any)["to"].([]any)[0].(map[string]any)
	types, _ := json.Marshal(to["associationTypes"])
	want := `[{"category":"HUBSPOT_DEFINED","label":"Primary","typeId":1},{"category":"HUBSPOT_DEFINED","label":null,"typeId":279},{"category":"USER_DEFINED","label":"Decision maker","typeId":100}]`
	if string(types) != want {
		t.Errorf("association types %s\nwant %s", types, want)
	}
}

func TestServerPagesOwnersWithOpaqueCursors(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Burst: -1})
	s.Seed(0, 0, 0)
	a := call(t, s, "GET", OwnersPath+"?limit=2", "", token)
	after := a.body["paging"].(map[string]any)["next"].(map[string]any)["after"].(string)
	if after != "Mg%3D%3D" {
		t.Errorf("cursor %q, want HubSpot's escaped base64", after)
	}
	a = call(t, s, "GET", OwnersPath+"?limit=2&after="+url.QueryEscape(after), "", token)
	if n := len(a.body["results"].([]any)); n != 2 {
		t.Errorf("second page holds %d owners", n)
	}
	if a := call(t, s, "GET", OwnersPath+"?archived=true", "", token); len(a.body["results"].([]any)) != 1 {
		t.Errorf("archived owners = %v", a.body["results"])
	}
}

func TestServerInjectsFaultsAndCallsTheHook(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Burst: -1})
	var seen []int
	s.SetHook(func(r Request) {
		if r.Path == OwnersPath {
			seen = append(seen, r.N)
		}
	})
	s.Inject(Fault{Path: OwnersPath, Status: 502, Times: 2})
	for i, want := range []int{502, 502, 200} {
		if a := call(t, s, "GET", OwnersPath, "", token); a.status != want {
			t.Errorf("request %d: %d, want %d", i, a.status, want)
		}
	}
	if len(seen) != 3 || seen[2] != 3 || s.Count(OwnersPath) != 3 {
		t.Errorf("hook saw %v, count %d", seen, s.Count(OwnersPath))
	}
}

func TestServerMergesAndArchives(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Burst: -1})
	s.Seed(2, 1, 0)
	cs := s.IDs(Companies)
	s.Merge(Companies, cs[0], cs[1])
	if _, ok := s.Get(Companies, cs[1]); ok {
		t.Error("merged company still there")
	}
	keep, _ := s.Get(Companies, cs[0])
	if keep.Properties["hs_merged_object_ids"] != cs[1] {
		t.Errorf("hs_merged_object_ids = %q", keep.Properties["hs_merged_object_ids"])
	}
	for _, id := range s.IDs(Contacts) {
		if o, _ := s.Get(Contacts, id); o.Companies[0].CompanyID != cs[0] {
			t.Errorf("contact %s still with the merged company", id)
		}
	}
	s.Archive(Contacts, s.IDs(Contacts)[0])
	a := call(t, s, "GET", ObjectsPath(Contacts)+"?archived=true", "", token)
	res := a.body["results"].([]any)
	if len(res) != 1 || res[0].(map[string]any)["archivedAt"] == nil || res[0].(map[string]any)["archived"] != true {
		t.Errorf("archived list = %v", res)
	}
}

func TestServerTruncatesEveryNthAnswer(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Burst: -1})
	s.TruncateEvery(2)
	get := func(tok string) (int, []byte, error) {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+OwnersPath, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	// 401s are not counted: only the 200s are, and every 2nd is cut.
	for i, want := range []string{"whole", "401", "short", "whole", "mid-stream"} {
		tok := token
		if want == "401" {
			tok = "nope"
		}
		status, body, err := get(tok)
		got := "whole"
		switch {
		case status == http.StatusUnauthorized:
			got = "401"
		case err != nil:
			got = "mid-stream"
		case !json.Valid(body):
			got = "short"
		}
		if got != want {
			t.Errorf("answer %d: %s (status %d, %d bytes, %v), want %s", i+1, got, status, len(body), err, want)
		}
	}
	if n := s.Truncated(); n != 2 {
		t.Errorf("Truncated() = %d, want 2", n)
	}
	s.TruncateEvery(0)
	if _, body, err := get(token); err != nil || !json.Valid(body) {
		t.Errorf("after TruncateEvery(0): %v, %q", err, body)
	}
}

func TestServerReturnsPreferredLanguage(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Burst: -1})
	s.Seed(1, 5, 0)
	q := url.Values{"limit": {"10"}, "properties": {"email,hs_language"}}
	a := call(t, s, "GET", ObjectsPath(Contacts)+"?"+q.Encode(), "", token)
	var got []any
	for _, r := range a.body["results"].([]any) {
		got = append(got, r.(map[string]any)["properties"].(map[string]any)["hs_language"])
	}
	want := []any{"fr", "en-us", nil, "de", "en"}
	if len(got) != len(want) {
		t.Fatalf("hs_language of %d contacts, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("contact %d: hs_language = %v, want %v", i, got[i], want[i])
		}
	}
}
