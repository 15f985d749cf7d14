package slackfake

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuthTestAndScopes(t *testing.T) {
	s := New(t, testToken)
	if got := call(t, s, "auth.test", testToken, nil); got["ok"] != true || got["user_id"] != BotUser {
		t.Fatalf("auth.test = %v", got)
	}
	s.SetToken("xoxb-rotated")
	if got := call(t, s, "auth.test", testToken, nil); got["error"] != "invalid_auth" {
		t.Fatalf("auth.test with the old token = %v, want invalid_auth", got)
	}
	if got := call(t, s, "auth.test", "", nil); got["error"] != "not_authed" {
		t.Fatalf("auth.test without a token = %v, want not_authed", got)
	}
	s.SetToken(testToken)
	s.SetScopes("users:read")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"auth.test", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-OAuth-Scopes"); got != "users:read" {
		t.Errorf("X-OAuth-Scopes = %q", got)
	}
	s.AddChannels("C0A")
	got := call(t, s, "chat.postMessage", testToken, url.Values{"channel": {"C0A"}, "text": {"hi"}})
	if got["error"] != "missing_scope" || got["needed"] != "chat:write" || got["provided"] != "users:read" {
		t.Fatalf("post without chat:write = %v", got)
	}
}

func TestHistoryWithMetadata(t *testing.T) {
	s := New(t, testToken)
	s.AddChannels("C0A")
	meta := `{"event_type":"crmsync_message","event_payload":{"ledger_key":"k1"}}`
	for i := range 5 {
		form := url.Values{"channel": {"C0A"}, "text": {fmt.Sprint("m", i)}}
		if i == 1 {
			form.Set("metadata", meta)
		}
		if got := call(t, s, "chat.postMessage", testToken, form); got["ok"] != true {
			t.Fatal(got)
		}
	}
	if got := call(t, s, "chat.postMessage", testToken, url.Values{"channel": {"C0A"}, "text": {"x"}, "metadata": {"{"}}); got["error"] != "invalid_metadata_format" {
		t.Fatalf("bad metadata: %v", got)
	}
	// Pages of two, newest first, metadata only when asked for.
	var texts []string
	var withMeta int
	cursor := ""
	for page := 0; ; page++ {
		got := call(t, s, "conversations.history", testToken, url.Values{
			"channel": {"C0A"}, "limit": {"2"}, "cursor": {cursor}, "include_all_metadata": {"true"},
		})
		if got["ok"] != true {
			t.Fatal(got)
		}
		for _, m := range got["messages"].([]any) {
			msg := m.(map[string]any)
			texts = append(texts, msg["text"].(string))
			if md, ok := msg["metadata"].(map[string]any); ok && md["event_payload"].(map[string]any)["ledger_key"] == "k1" {
				withMeta++
			}
		}
		cursor = got["response_metadata"].(map[string]any)["next_cursor"].(string)
		if got["has_more"] != (cursor != "") {
			t.Fatalf("has_more %v with cursor %q", got["has_more"], cursor)
		}
		if cursor == "" {
			break
		}
	}
	if strings.Join(texts, ",") != "m4,m3,m2,m1,m0" || withMeta != 1 {
		t.Fatalf("history %v, %d with metadata", texts, withMeta)
	}
	plain := call(t, s, "conversations.history", testToken, url.Values{"channel": {"C0A"}})
	for _, m := range plain["messages"].([]any) {
		if _, ok := m.(map[string]any)["metadata"]; ok {
			t.Fatal("metadata without include_all_metadata")
		}
	}
	// oldest: strictly after.
	ts := s.History("C0A")[3].TS
	after := call(t, s, "conversations.history", testToken, url.Values{"channel": {"C0A"}, "oldest": {ts}})
	if n := len(after["messages"].([]any)); n != 1 {
		t.Errorf("%d messages after the fourth, want 1", n)
	}
	for _, tt := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"channel": {"C0NOPE"}}, "channel_not_found"},
		{url.Values{"channel": {"C0A"}, "cursor": {"garbage"}}, "invalid_cursor"},
		{url.Values{"channel": {"C0A"}, "oldest": {"yesterday"}}, "invalid_ts_oldest"},
	} {
		if got := call(t, s, "conversations.history", testToken, tt.form); got["error"] != tt.want {
			t.Errorf("%v: %v, want %s", tt.form, got, tt.want)
		}
	}
	s.SetScopes("chat:write")
	if got := call(t, s, "conversations.history", testToken, url.Values{"channel": {"C0A"}}); got["needed"] != "channels:history" {
		t.Errorf("history without channels:history: %v", got)
	}
}

func TestConversationsList(t *testing.T) {
	s := New(t, testToken)
	for i := range 5 {
		s.AddChannels(fmt.Sprintf("#c%d", i))
	}
	s.AddChannels("C0IDONLY")
	s.AddPrivateChannel("G0P", "private")
	names := func(types string) []string {
		var out []string
		cursor := ""
		for {
			got := call(t, s, "conversations.list", testToken, url.Values{"types": {types}, "limit": {"2"}, "cursor": {cursor}})
			if got["ok"] != true {
				t.Fatal(got)
			}
			for _, c := range got["channels"].([]any) {
				ch := c.(map[string]any)
				if s.ChannelID(ch["name"].(string)) != ch["id"] {
					t.Errorf("channel %v: id is not ChannelID's", ch)
				}
				out = append(out, ch["name"].(string))
			}
			if cursor = got["response_metadata"].(map[string]any)["next_cursor"].(string); cursor == "" {
				return out
			}
		}
	}
	if got := strings.Join(names("public_channel"), ","); got != "c0,c1,c2,c3,c4" {
		t.Errorf("public channels %s", got)
	}
	if got := strings.Join(names("public_channel,private_channel"), ","); got != "c0,c1,c2,c3,c4,private" {
		t.Errorf("all channels %s", got)
	}
	// A post to "#name" lands in the channel's history under its id.
	if got := call(t, s, "chat.postMessage", testToken, url.Values{"channel": {"#c2"}, "text": {"hi"}}); got["channel"] != s.ChannelID("c2") {
		t.Errorf("post to #c2 answered channel %v", got["channel"])
	}
	if h := s.History(s.ChannelID("c2")); len(h) != 1 || h[0].Text != "hi" {
		t.Errorf("history of #c2: %+v", h)
	}
	s.SetScopes("chat:write", "channels:read")
	if got := call(t, s, "conversations.list", testToken, url.Values{"types": {"private_channel"}}); got["needed"] != "groups:read" {
		t.Errorf("private channels without groups:read: %v", got)
	}
}
