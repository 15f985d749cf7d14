package sellsyfake

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// call sends a request to the fake and decodes its JSON answer.
func call(t *testing.T, s *Server, method, path, token, contentType, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s answered %d %q: not JSON", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, resp.Header, out
}

// token gets an access token with client credentials.
func token(t *testing.T, s *Server) string {
	t.Helper()
	st, _, out := call(t, s, http.MethodPost, TokenPath, "", "application/json",
		`{"grant_type":"client_credentials","client_id":"`+DefaultClientID+`","client_secret":"`+DefaultClientSecret+`"}`)
	if st != http.StatusOK || out["token_type"] != "Bearer" || out["expires_in"] != 3600.0 || out["access_token"] == "" || out["refresh_token"] != nil {
		t.Fatalf("token answer %d %v", st, out)
	}
	return out["access_token"].(string)
}

func errorOf(out map[string]any) map[string]any {
	e, _ := out["error"].(map[string]any)
	return e
}

func TestTokenGrants(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	token(t, s)
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret},
		"refresh_token": {DefaultRefreshToken}}
	st, _, out := call(t, s, http.MethodPost, TokenPath, "", "application/x-www-form-urlencoded", form.Encode())
	if st != http.StatusOK || out["refresh_token"] == DefaultRefreshToken || out["refresh_token"] != s.RefreshToken() {
		t.Fatalf("refresh answer %d %v; want a new refresh token", st, out)
	}
	for _, tc := range []struct {
		body, code string
		status     int
	}{
		{form.Encode(), "invalid_grant", http.StatusBadRequest}, // the rotated-out refresh token
		{"grant_type=client_credentials&client_id=" + DefaultClientID + "&client_secret=nope", "invalid_client", http.StatusUnauthorized},
		{"grant_type=password&client_id=" + DefaultClientID + "&client_secret=" + DefaultClientSecret, "unsupported_grant_type", http.StatusBadRequest},
	} {
		st, _, out := call(t, s, http.MethodPost, TokenPath, "", "application/x-www-form-urlencoded", tc.body)
		if st != tc.status || out["error"] != tc.code {
			t.Errorf("token request %q = %d %v, want %d %s", tc.body, st, out, tc.status, tc.code)
		}
	}
}

func TestAuthAndQuotas(t *testing.T) {
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	s := New(Options{SecondQuota: 3, MinuteQuota: 5, Now: func() time.Time { return now }})
	defer s.Close()
	tok := token(t, s)
	st, h, out := call(t, s, http.MethodGet, "/v2/staffs", "", "", "")
	if st != http.StatusUnauthorized || errorOf(out)["code"] != 401.0 || h.Get("X-Quota-Remaining-By-Second") != "2" {
		t.Errorf("no token = %d %v, headers %v; want 401 in the envelope, counted", st, out, h)
	}
	call(t, s, http.MethodGet, "/v2/staffs", tok, "", "")
	st, h, _ = call(t, s, http.MethodGet, "/v2/staffs", tok, "", "")
	if st != http.StatusOK || h.Get("X-Quota-Remaining-By-Second") != "0" || h.Get("X-Quota-Remaining-By-Minute") != "2" ||
		h.Get("X-Quota-Remaining-By-Day") == "" || h.Get("X-Quota-Remaining-By-Month") == "" {
		t.Errorf("third request = %d, headers %v", st, h)
	}
	st, _, out = call(t, s, http.MethodGet, "/v2/staffs", tok, "", "")
	if e := errorOf(out); st != http.StatusTooManyRequests || e["context"] != "quota_exceeded" || s.Throttled() != 1 {
		t.Errorf("over the second's quota = %d %v", st, out)
	}
	now = now.Add(time.Second)
	if st, _, _ := call(t, s, http.MethodGet, "/v2/staffs", tok, "", ""); st != http.StatusOK {
		t.Errorf("next second = %d, want 200", st)
	}
	if st, _, _ := call(t, s, http.MethodGet, "/v2/staffs", tok, "", ""); st != http.StatusTooManyRequests {
		t.Errorf("sixth request of the minute = %d, want 429", st)
	}
	now = now.Add(time.Hour)
	if st, _, out := call(t, s, http.MethodGet, "/v2/staffs", tok, "", ""); st != http.StatusUnauthorized {
		t.Errorf("an hour later = %d %v, want the token expired", st, out)
	}
}

func TestSearchValidation(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	tok := token(t, s)
	for _, tc := range []struct{ path, body, detail string }{
		{"/v2/contacts/search", `{"filters":{"updated_at":{"start":"2024-01-01T00:00:00+00:00"}}}`, "filters.updated_at"},
		{"/v2/opportunities/search", `{"filters":{"updated":{"start":"2024-01-01T00:00:00+00:00"}}}`, "filters.updated"},
		{"/v2/companies/search", `{}`, "filters"},
		{"/v2/companies/search?limit=101", `{"filters":{}}`, "limit"},
		{"/v2/contacts/search?order=updated", `{"filters":{}}`, "order"},
		{"/v2/companies/search", `{"filters":{"updated_at":{"start":"yesterday"}}}`, "filters.updated_at"},
	} {
		st, _, out := call(t, s, http.MethodPost, tc.path, tok, "application/json", tc.body)
		e := errorOf(out)
		details, _ := e["details"].(map[string]any)
		if st != http.StatusBadRequest || e["context"] != "validation_error" || details[tc.detail] == nil {
			t.Errorf("%s %s = %d %v; want 400 naming %s", tc.path, tc.body, st, out, tc.detail)
		}
	}
}

func TestSeekAndNumericPaging(t *testing.T) {
	s := New(Options{NumericCap: 10})
	defer s.Close()
	if err := s.Seed(12, 0, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	tok := token(t, s)
	var ids []float64
	offset := ""
	for page := 0; page < 5; page++ {
		path := "/v2/companies/search?limit=5&order=updated_at&direction=asc&embed[]=owner&field[]=name"
		if offset != "" {
			path += "&offset=" + url.QueryEscape(offset)
		}
		st, _, out := call(t, s, http.MethodPost, path, tok, "application/json", `{"filters":{}}`)
		if st != http.StatusOK {
			t.Fatalf("page %d = %d %v", page, st, out)
		}
		data := out["data"].([]any)
		pg := out["pagination"].(map[string]any)
		for _, d := range data {
			obj := d.(map[string]any)
			if obj["name"] == nil || obj["email"] != nil {
				t.Errorf("field[]=name kept %v", obj)
			}
			ids = append(ids, obj["id"].(float64))
		}
		if pg["total"] != 12.0 || pg["count"] != float64(len(data)) || pg["limit"] != 5.0 {
			t.Errorf("pagination %v", pg)
		}
		offset = pg["offset"].(string)
		if len(data) < 5 {
			break
		}
	}
	if len(ids) != 12 || ids[0] != 1 || ids[11] != 12 {
		t.Errorf("seek paging read %v, want 1..12 in updated_at order", ids)
	}
	raw, _ := base64.StdEncoding.DecodeString(offset)
	if string(raw) != `["2024-09-01 08:12:00","12"]` {
		t.Errorf("last offset decodes to %s, want the last object's sort value and id", raw)
	}
	s.ExpireOffsets()
	st, _, out := call(t, s, http.MethodPost, "/v2/companies/search?limit=5&order=updated_at&offset="+url.QueryEscape(offset), tok, "application/json", `{"filters":{}}`)
	if st != http.StatusBadRequest || errorOf(out)["context"] != "pagination_offset_invalid" {
		t.Errorf("expired offset = %d %v", st, out)
	}
	st, _, out = call(t, s, http.MethodPost, "/v2/companies/search?limit=5&offset=0", tok, "application/json", `{"filters":{}}`)
	if st != http.StatusOK || out["pagination"].(map[string]any)["offset"] != 5.0 {
		t.Errorf("numeric first page = %d %v", st, out["pagination"])
	}
	st, _, out = call(t, s, http.MethodPost, "/v2/companies/search?limit=5&offset=10", tok, "application/json", `{"filters":{}}`)
	if st != http.StatusBadRequest || errorOf(out)["context"] != "pagination_limit_exceeded" {
		t.Errorf("numeric offset past the cap = %d %v", st, out)
	}
}

func TestDocumentedSearch(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if err := s.SeedDocumented(); err != nil {
		t.Fatal(err)
	}
	tok := token(t, s)
	st, _, out := call(t, s, http.MethodPost, "/v2/companies/search?limit=2&order=updated_at&direction=asc&embed[]=owner&embed[]=main_contact",
		tok, "application/json", `{"filters":{"updated_at":{"start":"2024-09-11T00:00:00+00:00","end":"2024-09-12T12:00:00+00:00"}}}`)
	if st != http.StatusOK {
		t.Fatalf("search = %d %v", st, out)
	}
	data := out["data"].([]any)
	acme := data[0].(map[string]any)
	emb := acme["_embed"].(map[string]any)
	if len(data) != 2 || acme["id"] != 51234.0 || emb["owner"].(map[string]any)["email"] != "claire.martin@example-agency.fr" ||
		emb["main_contact"].(map[string]any)["last_name"] != "Moreau" || data[1].(map[string]any)["_embed"].(map[string]any)["main_contact"] != nil {
		t.Errorf("documented search = %v", data)
	}
	if off := out["pagination"].(map[string]any)["offset"]; off != "WyIyMDI0LTA5LTEyIDA3OjEyOjQ1IiwiNTEyOTkiXQ==" {
		t.Errorf("offset %v, want the documented form (in UTC)", off)
	}
	st, _, out = call(t, s, http.MethodGet, "/v2/contacts/770501/companies?field[]=id", tok, "", "")
	if st != http.StatusOK || len(out["data"].([]any)) != 1 {
		t.Errorf("companies of Julien = %d %v", st, out)
	}
	st, _, out = call(t, s, http.MethodGet, "/v2/companies/1", tok, "", "")
	if st != http.StatusNotFound || errorOf(out)["context"] != "not_found" {
		t.Errorf("unknown company = %d %v", st, out)
	}
	s.Deny(KindOpportunities)
	st, _, out = call(t, s, http.MethodPost, "/v2/opportunities/search", tok, "application/json", `{"filters":{}}`)
	if st != http.StatusForbidden || !strings.Contains(errorOf(out)["message"].(string), "opportunities.read") {
		t.Errorf("denied = %d %v", st, out)
	}
}
