package sendgridfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const testKey = "SG.test-key.0123456789abcdefghijklmnopqrstuvwxyz"

// post sends body to s's mail send endpoint with key and content type.
func post(t *testing.T, s *Server, key, contentType string, body map[string]any) (int, string) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"/v3/mail/send", strings.NewReader(string(raw)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", contentType)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func validBody() map[string]any {
	return map[string]any{
		"from":             map[string]any{"email": "us@example.com"},
		"subject":          "Hi",
		"personalizations": []any{map[string]any{"to": []any{map[string]any{"email": "ann@example.com"}}}},
		"content":          []any{map[string]any{"type": "text/plain", "value": "Hello"}},
	}
}

func TestRejects(t *testing.T) {
	tests := []struct {
		name, contentType, wantField string
		edit                         func(map[string]any)
	}{
		{"a valid body", "application/json", "", func(map[string]any) {}},
		{"without from", "application/json", "from.email", func(b map[string]any) { delete(b, "from") }},
		{"without personalizations", "application/json", "personalizations", func(b map[string]any) { delete(b, "personalizations") }},
		{"html before text", "application/json", "content", func(b map[string]any) {
			b["content"] = []any{map[string]any{"type": "text/html", "value": "<p>x</p>"}, map[string]any{"type": "text/plain", "value": "x"}}
		}},
		{"without content", "application/json", "content", func(b map[string]any) { delete(b, "content") }},
		{"with a legacy template", "application/json", "template_id", func(b map[string]any) { b["template_id"] = "1234" }},
		{"with 11 categories", "application/json", "categories", func(b map[string]any) { b["categories"] = make([]string, 11) }},
		{"with an unknown field", "application/json", "", func(b map[string]any) { b["sned_at"] = 1 }},
		{"as a form", "application/x-www-form-urlencoded", "", func(map[string]any) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, testKey)
			b := validBody()
			tt.edit(b)
			status, body := post(t, s, testKey, tt.contentType, b)
			wantOK := tt.name == "a valid body"
			if (status == http.StatusAccepted) != wantOK {
				t.Fatalf("status %d, body %s", status, body)
			}
			if tt.wantField != "" && !strings.Contains(body, `"field":"`+tt.wantField) {
				t.Errorf("body %s does not name field %q", body, tt.wantField)
			}
			if got := s.Accepted(); got != map[bool]int{true: 1}[wantOK] {
				t.Errorf("accepted %d emails", got)
			}
		})
	}
}

func TestWrongKey(t *testing.T) {
	s := New(t, testKey)
	status, body := post(t, s, "SG.other", "application/json", validBody())
	if status != http.StatusUnauthorized || !strings.Contains(body, UnauthorizedMessage) {
		t.Errorf("status %d, body %s", status, body)
	}
	if s.Calls() != 1 || s.Accepted() != 0 {
		t.Errorf("calls, accepted = %d, %d, want 1, 0", s.Calls(), s.Accepted())
	}
}

func TestCountsLedgerKeysConcurrently(t *testing.T) {
	tests := []struct {
		name   string
		record bool
	}{
		{name: "recording requests", record: true},
		{name: "counting only", record: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, testKey)
			s.SetRecording(tt.record)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 10 {
						b := validBody()
						b["custom_args"] = map[string]any{LedgerKeyArg: string(rune('a'+g)) + string(rune('0'+i%5))}
						if status, body := post(t, s, testKey, "application/json", b); status != http.StatusAccepted {
							t.Errorf("status %d, body %s", status, body)
						}
					}
				})
			}
			wg.Wait()
			keys := s.LedgerKeys()
			if len(keys) != 40 || keys["a0"] != 2 || s.Accepted() != 80 {
				t.Errorf("ledger keys = %v, accepted %d, want 40 keys sent twice", keys, s.Accepted())
			}
			if n := len(s.Requests()); n != map[bool]int{true: 80}[tt.record] {
				t.Errorf("recorded %d requests", n)
			}
		})
	}
}

func TestReplyScript(t *testing.T) {
	s := New(t, testKey)
	s.Reply(Reply{Status: http.StatusTooManyRequests, Header: map[string]string{"X-RateLimit-Reset": "1"}, Body: "{}"})
	if status, _ := post(t, s, testKey, "application/json", validBody()); status != http.StatusTooManyRequests {
		t.Errorf("first status %d, want the scripted 429", status)
	}
	if status, _ := post(t, s, testKey, "application/json", validBody()); status != http.StatusAccepted {
		t.Errorf("second status %d, want 202 once the script is spent", status)
	}
}
