package sendgridfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// scopes asks s for the scopes of key: the status and the body.
func scopes(t *testing.T, s *Server, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/v3/scopes", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestScopesAndKeys(t *testing.T) {
	s := New(t, testKey)
	code, body := scopes(t, s, testKey)
	var got struct{ Scopes []string }
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Scopes) != 1 || got.Scopes[0] != MailSendScope {
		t.Fatalf("GET /v3/scopes = %d %s", code, body)
	}
	s.SetAPIKey("SG.rotated")
	if code, body := scopes(t, s, testKey); code != 401 || !strings.Contains(body, UnauthorizedMessage) {
		t.Fatalf("scopes with the old key = %d %s", code, body)
	}
	if code, _ := post(t, s, testKey, "application/json", validBody()); code != 401 {
		t.Fatalf("send with the old key = %d", code)
	}
	if code, _ := post(t, s, "SG.rotated", "application/json", validBody()); code != 202 {
		t.Fatalf("send with the new key = %d", code)
	}
	s.SetScopes("suppression.read")
	if code, body := post(t, s, "SG.rotated", "application/json", validBody()); code != 403 || !strings.Contains(body, "access forbidden") {
		t.Fatalf("send without mail.send = %d %s", code, body)
	}
	if s.Probes() != 2 {
		t.Errorf("probes = %d, want 2", s.Probes())
	}
}

func TestVerifiedSenders(t *testing.T) {
	s := New(t, testKey)
	s.VerifySenders("Team@Example.com")
	code, body := post(t, s, testKey, "application/json", validBody())
	if code != 403 || !strings.Contains(body, `"field":"from"`) || !strings.Contains(body, "verified Sender Identity") {
		t.Fatalf("send from an unverified sender = %d %s", code, body)
	}
	b := validBody()
	b["from"] = map[string]any{"email": "team@example.com"}
	if code, body := post(t, s, testKey, "application/json", b); code != 202 {
		t.Fatalf("send from a verified sender = %d %s", code, body)
	}
	s.VerifySenders()
	if code, _ := post(t, s, testKey, "application/json", validBody()); code != 202 {
		t.Fatal("VerifySenders() did not accept any sender again")
	}
}
