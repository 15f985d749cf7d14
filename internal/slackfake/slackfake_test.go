package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "xoxb-test"

// call posts form to method with token and decodes Slack's envelope.
func call(t *testing.T, s *Server, method, token string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+method, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: status %d: %v", method, resp.StatusCode, err)
	}
	return out
}

func TestPostMessage(t *testing.T) {
	tests := []struct {
		name, token, channel, text, blocks, wantErr string
	}{
		{name: "an accepted post", channel: "C0KEY", text: "hi"},
		{name: "a wrong token", token: "xoxb-other", channel: "C0KEY", text: "hi", wantErr: "invalid_auth"},
		{name: "an unknown channel", channel: "C0NOPE", text: "hi", wantErr: "channel_not_found"},
		{name: "no text", channel: "C0KEY", wantErr: "no_text"},
		{name: "blocks with a non-string type", channel: "C0KEY", text: "hi", blocks: `[{"type":{}}]`, wantErr: "invalid_blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, testToken)
			s.AddChannels("C0KEY")
			form := url.Values{"channel": {tt.channel}, "text": {tt.text}}
			if tt.blocks != "" {
				form.Set("blocks", tt.blocks)
			}
			got := call(t, s, "chat.postMessage", cmpOr(tt.token, testToken), form)
			if got["ok"] != (tt.wantErr == "") || (tt.wantErr != "" && got["error"] != tt.wantErr) {
				t.Fatalf("answer %v, want error %q", got, tt.wantErr)
			}
			if n := s.Accepted(); n != map[bool]int{true: 1}[tt.wantErr == ""] {
				t.Errorf("accepted %d posts", n)
			}
		})
	}
}

func TestDirectMessage(t *testing.T) {
	s := New(t, testToken)
	s.AddUser("Sam@Example.com", "U0SAM", false)
	user := call(t, s, "users.lookupByEmail", testToken, url.Values{"email": {"sam@example.com"}})
	id := user["user"].(map[string]any)["id"].(string)
	open := call(t, s, "conversations.open", testToken, url.Values{"users": {id}})
	ch := open["channel"].(map[string]any)["id"].(string)
	if ch != DM("U0SAM") {
		t.Fatalf("opened %q, want %q", ch, DM("U0SAM"))
	}
	if got := call(t, s, "chat.postMessage", testToken, url.Values{"channel": {ch}, "text": {"hi"}}); got["ok"] != true {
		t.Fatalf("post to the DM: %v", got)
	}
	if s.Lookups() != 1 || s.Opens() != 1 || s.Keys()[Key{ch, "hi"}] != 1 {
		t.Errorf("lookups %d, opens %d, keys %v", s.Lookups(), s.Opens(), s.Keys())
	}
}

func TestCountsConcurrently(t *testing.T) {
	tests := []struct {
		name   string
		record bool
	}{
		{name: "recording posts", record: true},
		{name: "counting only", record: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, testToken)
			s.AddChannels("C0A", "C0B")
			s.SetRecording(tt.record)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 10 {
						form := url.Values{"channel": {[]string{"C0A", "C0B"}[i%5%2]}, "text": {fmt.Sprint(g, i%5)}}
						if got := call(t, s, "chat.postMessage", testToken, form); got["ok"] != true {
							t.Errorf("answer %v", got)
						}
					}
				})
			}
			wg.Wait()
			keys := s.Keys()
			if len(keys) != 40 || keys[Key{"C0A", "0 0"}] != 2 || s.Accepted() != 80 || s.Attempts("C0A")+s.Attempts("C0B") != 80 {
				t.Errorf("keys %v, accepted %d, attempts %d", keys, s.Accepted(), s.Attempts("C0A"))
			}
			if n := len(s.Posts()); n != map[bool]int{true: 80}[tt.record] {
				t.Errorf("recorded %d posts", n)
			}
		})
	}
}

// post calls chat.postMessage to channel and returns the HTTP status, the
// Retry-After header and Slack's error code ("" when ok).
func post(t *testing.T, s *Server, channel, text string) (status int, retryAfter, code string) {
	t.Helper()
	form := url.Values{"channel": {channel}, "text": {text}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"chat.postMessage", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), out.Error
}

func TestPostRate(t *testing.T) {
	type want struct {
		status           int
		retryAfter, code string
	}
	accepted := want{status: http.StatusOK}
	tests := []struct {
		name  string
		every time.Duration
		want  []want // of posts to C0A, C0A, C0B
	}{
		{name: "no limit by default", want: []want{accepted, accepted, accepted}},
		{name: "slack's pace: the second post to a channel is answered 429", every: time.Hour,
			want: []want{accepted, {http.StatusTooManyRequests, "3600", "ratelimited"}, accepted}},
		{name: "retry-after is rounded up to whole seconds", every: 1500 * time.Millisecond,
			want: []want{accepted, {http.StatusTooManyRequests, "2", "ratelimited"}, accepted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, testToken)
			s.AddChannels("C0A", "C0B")
			s.SetPostRate(tt.every)
			for i, ch := range []string{"C0A", "C0A", "C0B"} {
				status, after, code := post(t, s, ch, fmt.Sprint("post ", i))
				if got := (want{status, after, code}); got != tt.want[i] {
					t.Errorf("post %d to %s: %+v, want %+v", i, ch, got, tt.want[i])
				}
			}
			limited := map[bool]int{true: 1}[tt.every > 0]
			if s.RateLimited("C0A") != limited || s.Accepted() != 3-limited || s.Attempts("C0A") != 2 {
				t.Errorf("429s %d, accepted %d, attempts %d", s.RateLimited("C0A"), s.Accepted(), s.Attempts("C0A"))
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
