package salesforcefake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func newServer(t *testing.T, o Options) *Server {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return now }
	}
	s := New(o)
	t.Cleanup(s.Close)
	return s
}

// token signs in with the client credentials grant.
func token(t *testing.T, s *Server) string {
	t.Helper()
	status, body := postForm(t, s, url.Values{"grant_type": {"client_credentials"},
		"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}})
	if status != 200 {
		t.Fatalf("token: %d %s", status, body)
	}
	var tok map[string]any
	json.Unmarshal(body, &tok)
	return tok["access_token"].(string)
}

func postForm(t *testing.T, s *Server, form url.Values) (int, []byte) {
	t.Helper()
	resp, err := s.Client().PostForm(s.URL()+"/services/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func get(t *testing.T, s *Server, tok, path string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func ask(t *testing.T, s *Server, tok, q string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	return get(t, s, tok, "/services/data/v66.0/query?"+url.Values{"q": {q}}.Encode(), header)
}

// errorCode returns the errorCode of a REST error array.
func errorCode(t *testing.T, body []byte) (string, string) {
	t.Helper()
	var errs []apiError
	if err := json.Unmarshal(body, &errs); err != nil || len(errs) != 1 {
		t.Fatalf("not an error array: %s", body)
	}
	return errs[0].ErrorCode, errs[0].Message
}

func TestID(t *testing.T) {
	t.Parallel()
	if got := withSuffix("001D000000IqhSL"); got != "001D000000IqhSLIAZ" {
		t.Errorf("withSuffix = %s, want Salesforce's 001D000000IqhSLIAZ", got)
	}
	if a, b := ID("001", 61), ID("001", 62); len(a) != 18 || a >= b {
		t.Errorf("ids %s, %s: want 18 characters, in order", a, b)
	}
}

func TestQueryRefusesWhatSalesforceRefuses(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	tok := token(t, s)
	const order = " ORDER BY SystemModstamp ASC, Id ASC"
	tests := []struct {
		name, soql string
		header     http.Header
		status     int
		code, msg  string
	}{
		{"unknown field", "SELECT Id, Foo__c FROM Contact" + order, nil, 400, "INVALID_FIELD", "No such column 'Foo__c' on entity 'Contact'"},
		{"duplicate field", "SELECT Id, id FROM Contact" + order, nil, 400, "INVALID_FIELD", "duplicate field selected: id"},
		{"unknown object", "SELECT Id FROM Lead" + order, nil, 400, "INVALID_TYPE", "sObject type 'Lead' is not supported"},
		{"quoted datetime", "SELECT Id FROM Account WHERE SystemModstamp > '2026-11-22T09:00:00Z'" + order, nil,
			400, "INVALID_QUERY_FILTER_OPERATOR", "should not be enclosed in quotes"},
		{"salesforce's datetime output is no literal", "SELECT Id FROM Account WHERE SystemModstamp > 2026-11-22T09:00:00.000+0000" + order, nil,
			400, "MALFORMED_QUERY", "no viable alternative"},
		{"unquoted id", "SELECT Id FROM Account WHERE SystemModstamp > 2026-11-22T09:00:00Z OR (SystemModstamp = 2026-11-22T09:00:00Z AND Id > 001000000000001)" + order, nil,
			400, "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field"},
		{"other filter", "SELECT Id FROM Account WHERE Name = 'x'" + order, nil, 400, "MALFORMED_QUERY", "keyset"},
		{"no order", "SELECT Id FROM Account", nil, 400, "MALFORMED_QUERY", "ORDER BY"},
		{"relationship", "SELECT Id, Owner.Email FROM Account" + order, nil, 400, "MALFORMED_QUERY", "relationship"},
		{"not a query", "DELETE FROM Account", nil, 400, "MALFORMED_QUERY", "unexpected token: 'DELETE'"},
		{"batch too small", "SELECT Id FROM Account" + order, http.Header{"Sforce-Query-Options": {"batchSize=100"}}, 400, "INVALID_QUERY_OPTIONS", "200"},
		{"batch too large", "SELECT Id FROM Account" + order, http.Header{"Sforce-Query-Options": {"batchSize=5000"}}, 400, "INVALID_QUERY_OPTIONS", "2000"},
		{"fine", "select id, Name from account WHERE SystemModstamp > 2026-11-22T09:00:00+01:00 order by SystemModstamp, Id", nil, 200, "", ""},
		{"ids", "SELECT Id FROM Contact WHERE Id IN ('003000000000001AAA','003000000000002')", nil, 200, "", ""},
		{"ids in order", "SELECT Id FROM Account WHERE Id IN ('001000000000001AAA')" + order, nil, 200, "", ""},
		{"activities", "SELECT Id, AccountId, WhoId FROM Event WHERE SystemModstamp > 2026-11-22T09:00:00Z" + order, nil, 200, "", ""},
		{"no ids", "SELECT Id FROM Account WHERE Id IN ()", nil, 400, "MALFORMED_QUERY", "unexpected token: ')'"},
		{"empty id", "SELECT Id FROM Account WHERE Id IN ('001000000000001AAA',,'001000000000002AAA')", nil, 400, "MALFORMED_QUERY", "unexpected token: ','"},
		{"unquoted id in list", "SELECT Id FROM Account WHERE Id IN (001000000000001AAA)", nil, 400, "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field"},
		{"injection in list", "SELECT Id FROM Account WHERE Id IN ('001000000000001AAA', '') OR Name != ('')", nil, 400, "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field"},
		{"more than ids", "SELECT Id FROM Account WHERE Id IN ('001000000000001AAA') OR Name != ''", nil, 400, "MALFORMED_QUERY", "Id IN"},
		{"other order by id", "SELECT Id FROM Account WHERE Id IN ('001000000000001AAA') ORDER BY Name", nil, 400, "MALFORMED_QUERY", "ORDER BY"},
		{"uri too long", "SELECT Id FROM Account WHERE Id IN (" + strings.Repeat("'001000000000001AAA',", 700) + "'001000000000001AAA')", nil, 414, "", ""},
	}
	for _, tt := range tests {
		resp, body := ask(t, s, tok, tt.soql, tt.header)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, resp.StatusCode, tt.status, body)
			continue
		}
		if tt.code == "" {
			continue
		}
		if code, msg := errorCode(t, body); code != tt.code || !strings.Contains(msg, tt.msg) {
			t.Errorf("%s: %s %q, want %s %q", tt.name, code, msg, tt.code, tt.msg)
		}
	}
}

func TestAPIChecksSessionsAndAllocation(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{DailyLimit: 3, SessionTimeout: time.Hour})
	const soql = "SELECT Id FROM Account ORDER BY SystemModstamp ASC, Id ASC"
	resp, body := ask(t, s, "", soql, nil)
	if code, _ := errorCode(t, body); resp.StatusCode != 401 || code != "INVALID_SESSION_ID" {
		t.Errorf("no token: %d %s", resp.StatusCode, body)
	}
	tok := token(t, s)
	for i := 1; i <= 3; i++ {
		resp, _ := ask(t, s, tok, soql, nil)
		if want := "api-usage=" + string(rune('0'+i)) + "/3"; resp.StatusCode != 200 || resp.Header.Get("Sforce-Limit-Info") != want {
			t.Errorf("request %d: %d, %q", i, resp.StatusCode, resp.Header.Get("Sforce-Limit-Info"))
		}
	}
	resp, body = ask(t, s, tok, soql, nil)
	if code, msg := errorCode(t, body); resp.StatusCode != 403 || code != "REQUEST_LIMIT_EXCEEDED" || msg != "TotalRequests Limit exceeded." {
		t.Errorf("spent: %d %s", resp.StatusCode, body)
	}
	s.SetUsage(0, 0)
	s.FailNext(1, 503)
	if resp, _ := ask(t, s, tok, soql, nil); resp.StatusCode != 503 {
		t.Errorf("FailNext: %d", resp.StatusCode)
	}
	s.InvalidateSessions()
	if resp, _ := ask(t, s, tok, soql, nil); resp.StatusCode != 401 {
		t.Errorf("after InvalidateSessions: %d", resp.StatusCode)
	}
	if resp, _ := get(t, s, token(t, s), "/services/data/v67.0/query?q=x", nil); resp.StatusCode != 404 {
		t.Errorf("future version: %d", resp.StatusCode)
	}
}

func TestQueryPagesASnapshot(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	s.Seed(450, 0, 0)
	tok := token(t, s)
	resp, body := ask(t, s, tok, "SELECT Id, Name, Type FROM Account ORDER BY SystemModstamp ASC, Id ASC",
		http.Header{"Sforce-Query-Options": {"batchSize=200"}})
	var ids []string
	for page := 1; ; page++ {
		var res struct {
			TotalSize      int                          `json:"totalSize"`
			Done           bool                         `json:"done"`
			NextRecordsURL string                       `json:"nextRecordsUrl"`
			Records        []map[string]json.RawMessage `json:"records"`
		}
		if err := json.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("page %d: %d %s", page, resp.StatusCode, body)
		}
		if res.TotalSize != 450 || (page < 3) == res.Done {
			t.Fatalf("page %d: totalSize %d done %v", page, res.TotalSize, res.Done)
		}
		for _, r := range res.Records {
			var id string
			json.Unmarshal(r["Id"], &id)
			ids = append(ids, id)
		}
		if res.Done {
			break
		}
		if page == 1 {
			s.Modify("Account", ids[0], map[string]any{"Name": "changed"}) // not seen by this cursor
		}
		if !strings.HasPrefix(res.NextRecordsURL, "/services/data/v66.0/query/01g") {
			t.Fatalf("nextRecordsUrl %q", res.NextRecordsURL)
		}
		resp, body = get(t, s, tok, res.NextRecordsURL, nil)
	}
	if len(ids) != 450 {
		t.Errorf("read %d records, want 450", len(ids))
	}
	s.ExpireLocators()
	resp, body = ask(t, s, tok, "SELECT Id FROM Account ORDER BY SystemModstamp ASC, Id ASC", http.Header{"Sforce-Query-Options": {"batchSize=200"}})
	var res struct{ NextRecordsURL string }
	json.Unmarshal(body, &res)
	s.ExpireLocators()
	resp, body = get(t, s, tok, res.NextRecordsURL, nil)
	if code, _ := errorCode(t, body); resp.StatusCode != 400 || code != "INVALID_QUERY_LOCATOR" {
		t.Errorf("expired locator: %d %s", resp.StatusCode, body)
	}
}

func TestQueryKeysetSkipsTies(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	s.Seed(20, 0, 0)
	ids := s.IDs("Account")
	rec, _ := s.Get("Account", ids[6]) // the second of the 5 sharing its second
	ts, _ := time.Parse(DatetimeLayout, rec["SystemModstamp"].(string))
	lit := ts.UTC().Format("2006-01-02T15:04:05Z")
	soql := "SELECT Id FROM Account WHERE SystemModstamp > " + lit + " OR (SystemModstamp = " + lit + " AND Id > '" + ids[6] + "') ORDER BY SystemModstamp ASC, Id ASC"
	_, body := ask(t, s, token(t, s), soql, nil)
	var res struct{ TotalSize int }
	json.Unmarshal(body, &res)
	if res.TotalSize != 13 {
		t.Errorf("after record 7 of 20: %d records, want 13", res.TotalSize)
	}
}

func TestTokenGrants(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Rotate: true})
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"client credentials", url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID},
			"client_secret": {DefaultClientSecret}}, 200, `"token_format":"opaque"`},
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID},
			"client_secret": {"x"}}, 400, `"error":"invalid_client"`},
		{"refresh", url.Values{"grant_type": {"refresh_token"}, "client_id": {DefaultClientID},
			"refresh_token": {DefaultRefreshToken}}, 200, `"refresh_token":"5Aep861rotated`},
		{"rotated away", url.Values{"grant_type": {"refresh_token"}, "client_id": {DefaultClientID},
			"refresh_token": {DefaultRefreshToken}}, 400, `"error_description":"expired access/refresh token"`},
		{"password", url.Values{"grant_type": {"password"}}, 400, `"error":"unsupported_grant_type"`},
		{"jwt", url.Values{"grant_type": {JWTBearerGrant}, "assertion": {assertion(t, TrustedKey(), "RS256", claims(2*time.Minute, ""))}}, 200, `"scope":"api"`},
		{"jwt for an hour", url.Values{"grant_type": {JWTBearerGrant}, "assertion": {assertion(t, TrustedKey(), "RS256", claims(time.Hour, ""))}}, 400, "3 minutes"},
		{"jwt with scope", url.Values{"grant_type": {JWTBearerGrant}, "assertion": {assertion(t, TrustedKey(), "RS256", claims(time.Minute, "api"))}}, 400, "scope"},
		{"jwt alg none", url.Values{"grant_type": {JWTBearerGrant}, "assertion": {assertion(t, TrustedKey(), "none", claims(time.Minute, ""))}}, 400, "RS256"},
	}
	for _, tt := range tests {
		status, body := postForm(t, s, tt.form)
		if status != tt.status || !strings.Contains(string(body), tt.want) {
			t.Errorf("%s: %d %s, want %d with %s", tt.name, status, body, tt.status, tt.want)
		}
		if status == 200 && (strings.Contains(string(body), "expires_in") || !strings.Contains(string(body), `"instance_url":"`+s.URL()+`"`)) {
			t.Errorf("%s: %s, want instance_url and no expires_in", tt.name, body)
		}
	}
}

func claims(exp time.Duration, scope string) map[string]any {
	c := map[string]any{"iss": DefaultClientID, "sub": DefaultUsername, "aud": DefaultAudience, "exp": time.Now().Add(exp).Unix()}
	if scope != "" {
		c["scope"] = scope
	}
	return c
}

func assertion(t *testing.T, key *rsa.PrivateKey, alg string, claims map[string]any) string {
	t.Helper()
	seg := func(v any) string {
		data, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(data)
	}
	signed := seg(map[string]string{"alg": alg, "typ": "JWT"}) + "." + seg(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestDeletedWindows(t *testing.T) {
	t.Parallel()
	clock := now
	s := newServer(t, Options{Now: func() time.Time { return clock }})
	s.Seed(3, 0, 0)
	gone := s.IDs("Account")[1]
	s.Delete("Account", gone)
	clock = clock.Add(10 * time.Minute)
	tok := token(t, s)
	deleted := func(start, end time.Time) (*http.Response, []byte) {
		q := url.Values{"start": {start.Format("2006-01-02T15:04:05-07:00")}, "end": {end.Format("2006-01-02T15:04:05-07:00")}}
		return get(t, s, tok, "/services/data/v66.0/sobjects/Account/deleted/?"+q.Encode(), nil)
	}
	resp, body := deleted(now, clock)
	var res deletedResult
	json.Unmarshal(body, &res)
	if resp.StatusCode != 200 || len(res.DeletedRecords) != 1 || res.DeletedRecords[0].ID != gone ||
		res.LatestDateCovered != "2026-11-22T09:10:00.000+0000" {
		t.Errorf("deleted: %d %s", resp.StatusCode, body)
	}
	for name, w := range map[string][2]time.Time{
		"a minute":     {clock.Add(-time.Minute), clock},
		"31 days back": {clock.Add(-31 * 24 * time.Hour), clock},
		"reversed":     {clock, now},
	} {
		resp, body := deleted(w[0], w[1])
		if code, _ := errorCode(t, body); resp.StatusCode != 400 || code != "INVALID_REPLICATION_DATE" {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	resp, body = get(t, s, tok, "/services/data/v66.0/sobjects/Account/deleted/?start=2026-11-22T09:00:00+00:00&end=2026-11-22T09:10:00+00:00", nil)
	if code, _ := errorCode(t, body); resp.StatusCode != 400 || code != "INVALID_DATE_FORMAT" {
		t.Errorf("unencoded +: %d %s", resp.StatusCode, body)
	}
}

func TestLogActivityRollsUpWithoutStamping(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	past := now.Add(-time.Hour)
	acct := s.Put("Account", map[string]any{"Name": "Acme", "LastActivityDate": "2026-01-05", "SystemModstamp": past})
	contact := s.Put("Contact", map[string]any{"AccountId": acct, "LastName": "Doe", "SystemModstamp": past})
	other := s.Put("Account", map[string]any{"Name": "Other", "LastActivityDate": "2026-12-01", "SystemModstamp": past})
	const lead = "00Q5g00000AbCdEAAV"
	fieldsOf := func(id string) map[string]any {
		sobject := "Account"
		if strings.HasPrefix(id, "003") {
			sobject = "Contact"
		}
		f, _ := s.Get(sobject, id)
		return f
	}
	stamped := func(id string) any { return fieldsOf(id)["SystemModstamp"] }
	before := map[string]any{acct: stamped(acct), contact: stamped(contact), other: stamped(other)}
	at := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name, sobject, account, who string
		wantAccount, wantWho        string // the activity's AccountId and WhoId
		rolled                      map[string]string
	}{
		{"task on account and contact", "Task", acct, contact, acct, contact,
			map[string]string{acct: "2026-11-20", contact: "2026-11-20"}},
		{"event with a contact only", "Event", "", contact, acct, contact, nil},
		{"lead", "Task", other, lead, other, lead, map[string]string{other: "2026-12-01"}}, // never backwards
	}
	for _, tt := range tests {
		id := s.LogActivity(tt.sobject, tt.account, tt.who, at)
		f, ok := s.Get(tt.sobject, id)
		if !ok || f["AccountId"] != tt.wantAccount || f["WhoId"] != tt.wantWho || f["ActivityDate"] != "2026-11-20" {
			t.Errorf("%s: %s %s = %v", tt.name, tt.sobject, id, f)
		}
		if f["SystemModstamp"] != now.Format(DatetimeLayout) {
			t.Errorf("%s: activity stamped %v, want now", tt.name, f["SystemModstamp"])
		}
		for rec, want := range tt.rolled {
			if got := fieldsOf(rec)["LastActivityDate"]; got != want {
				t.Errorf("%s: %s LastActivityDate = %v, want %s", tt.name, rec, got, want)
			}
		}
	}
	for id, stamp := range before {
		if got := stamped(id); got != stamp {
			t.Errorf("%s: SystemModstamp %v, was %v: a roll-up must not stamp the record", id, got, stamp)
		}
	}
	tok := token(t, s)
	after := past.Format(time.RFC3339)
	for _, tt := range []struct {
		soql string
		want int
	}{
		{"SELECT Id FROM Account WHERE SystemModstamp > " + after + " ORDER BY SystemModstamp ASC, Id ASC", 0},
		{"SELECT Id FROM Task WHERE SystemModstamp > " + after + " ORDER BY SystemModstamp ASC, Id ASC", 2},
		{"SELECT Id FROM Event WHERE SystemModstamp > " + after + " ORDER BY SystemModstamp ASC, Id ASC", 1},
		{"SELECT Id, LastActivityDate FROM Account WHERE Id IN ('" + acct + "','" + acct[:15] + "','001000000000009AAA')", 1},
	} {
		resp, body := ask(t, s, tok, tt.soql, nil)
		var res struct{ TotalSize int }
		if json.Unmarshal(body, &res); resp.StatusCode != 200 || res.TotalSize != tt.want {
			t.Errorf("%s: %d %s; want %d records", tt.soql, resp.StatusCode, body, tt.want)
		}
	}
}

func TestTruncateEveryCutsSuccessfulAnswers(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	s.Seed(3, 1, 1)
	tok := token(t, s)
	s.TruncateEvery(2)
	read := func(tok string) (int, []byte, error) {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/services/data/v66.0/query?"+url.Values{"q": {"SELECT Id FROM Account ORDER BY SystemModstamp ASC, Id ASC"}}.Encode(), nil)
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
		use := tok
		if want == "401" {
			use = "nope"
		}
		status, body, err := read(use)
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
	if st := s.Statuses(); st[200] != 5 || st[401] != 1 {
		t.Errorf("statuses %v, want the cut answers counted as 200s", st)
	}
	s.TruncateEvery(0)
	if _, body, err := read(tok); err != nil || !json.Valid(body) {
		t.Errorf("after TruncateEvery(0): %v, %q", err, body)
	}
}

func TestSeedGivesContactsALanguagesField(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	s.Seed(1, len(ContactLanguages), 0)
	tok := token(t, s)
	resp, body := ask(t, s, tok, "SELECT Id, Languages__c FROM Contact ORDER BY SystemModstamp ASC, Id ASC", nil)
	var res struct {
		Records []struct {
			Languages *string `json:"Languages__c"`
		} `json:"records"`
	}
	if err := json.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 {
		t.Fatalf("query: %d %s", resp.StatusCode, body)
	}
	if len(res.Records) != len(ContactLanguages) {
		t.Fatalf("%d contacts, want %d", len(res.Records), len(ContactLanguages))
	}
	for i, r := range res.Records {
		var got any
		if r.Languages != nil {
			got = *r.Languages
		}
		if got != ContactLanguages[i] {
			t.Errorf("contact %d: Languages__c = %v, want %v", i, got, ContactLanguages[i])
		}
	}
	resp, body = ask(t, s, tok, "SELECT Id, Languages__c FROM Account ORDER BY SystemModstamp ASC, Id ASC", nil)
	if code, _ := errorCode(t, body); resp.StatusCode != 400 || code != "INVALID_FIELD" {
		t.Errorf("Account.Languages__c: %d %s, want 400 INVALID_FIELD", resp.StatusCode, body)
	}
}
