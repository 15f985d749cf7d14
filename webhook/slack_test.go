package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	nslack "github.com/crmsync/crmsync/notify/slack"
)

const testSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// slackRequest is a POST of body signed with secret at ts, as Slack sends it.
func slackRequest(t *testing.T, secret, body string, ts time.Time) *http.Request {
	t.Helper()
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":" + body))
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", stamp)
	r.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return r
}

// clickBody is the form body of a block_actions click on a button.
func clickBody(t *testing.T, actionID, value string) string {
	t.Helper()
	return interactionBody(t, "block_actions", actionID, value)
}

func interactionBody(t *testing.T, typ, actionID, value string) string {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"type":         typ,
		"user":         map[string]string{"id": "U1", "username": "ann", "name": "ann", "team_id": "T1"},
		"api_app_id":   "A1",
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": "C123"},
		"trigger_id":   "123.456.abc",
		"team":         map[string]string{"id": "T1", "domain": "acme"},
		"channel":      map[string]string{"id": "C123", "name": "deals"},
		"response_url": "https://hooks.slack.com/actions/T1/1/xyz",
		"actions": []map[string]any{{
			"action_id": actionID, "block_id": "nudge_actions", "type": "button", "value": value,
			"text": map[string]any{"type": "plain_text", "text": "Snooze 30 days"}, "action_ts": "1700000001.000200",
		}},
		"state": map[string]any{"values": map[string]any{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(payload)}}.Encode()
}

type slackFixture struct {
	h *Slack
	q *memQueue
	d *memDeduper
}

func newSlackFixture() slackFixture {
	f := slackFixture{q: &memQueue{}, d: newMemDeduper()}
	f.h = NewSlack(testSigningSecret, f.q, f.d, nil)
	return f
}

func (f slackFixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func TestSlackClicks(t *testing.T) {
	value := nslack.ButtonValue("acc-42", "inactive-90-days")
	tests := []struct {
		name string
		body string
		want []Action // At is the request timestamp
	}{
		{"snooze click", clickBody(t, ActionSnooze, value),
			[]Action{{Kind: KindSnooze, AccountID: "acc-42", Rule: "inactive-90-days", UserID: "U1", UserName: "ann"}}},
		{"mark-as-contacted click", clickBody(t, ActionContacted, value),
			[]Action{{Kind: KindContacted, AccountID: "acc-42", Rule: "inactive-90-days", UserID: "U1", UserName: "ann"}}},
		{"View in CRM link click", clickBody(t, "open_crm", "acc-42"), nil},
		{"unknown action", clickBody(t, "approve_deal", value), nil},
		{"snooze with an unreadable value", clickBody(t, ActionSnooze, "acc-42"), nil},
		{"snooze without a rule", clickBody(t, ActionSnooze, `{"account":"acc-42"}`), nil},
		{"other interaction type", interactionBody(t, "message_action", ActionSnooze, value), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSlackFixture()
			ts := time.Now().Add(-30 * time.Second)
			w := f.serve(slackRequest(t, testSigningSecret, tt.body, ts))
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("answer = %d %q; want 200 with an empty body", w.Code, w.Body)
			}
			for i := range tt.want {
				tt.want[i].At = time.Unix(ts.Unix(), 0).UTC()
			}
			if !reflect.DeepEqual(f.q.actions, tt.want) {
				t.Errorf("actions:\n got %+v\nwant %+v", f.q.actions, tt.want)
			}
		})
	}
}

func TestSlackRefusesRequests(t *testing.T) {
	body := clickBody(t, ActionSnooze, nslack.ButtonValue("acc-42", "inactive-90-days"))
	now := time.Now()
	tests := []struct {
		name  string
		setup func(*slackFixture)
		req   func() *http.Request
		want  int
	}{
		{"with a GET", nil, func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/slack/interactions", nil)
		}, http.StatusMethodNotAllowed},
		{"signed with another secret", nil, func() *http.Request {
			return slackRequest(t, "another-secret", body, now)
		}, http.StatusUnauthorized},
		{"with a tampered body", nil, func() *http.Request {
			r := slackRequest(t, testSigningSecret, body, now)
			r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Replace(body, "acc-42", "acc-43", 1))).Body
			return r
		}, http.StatusUnauthorized},
		{"without a signature", nil, func() *http.Request {
			r := slackRequest(t, testSigningSecret, body, now)
			r.Header.Del("X-Slack-Signature")
			return r
		}, http.StatusUnauthorized},
		{"with a malformed signature", nil, func() *http.Request {
			r := slackRequest(t, testSigningSecret, body, now)
			r.Header.Set("X-Slack-Signature", "v0=zz")
			return r
		}, http.StatusUnauthorized},
		{"with the right signature garbled", nil, func() *http.Request {
			return resign(slackRequest(t, testSigningSecret, body, now), func(sig string) string { return sig[:10] + "g" + sig[11:] })
		}, http.StatusUnauthorized},
		{"with the right signature without its version", nil, func() *http.Request {
			return resign(slackRequest(t, testSigningSecret, body, now), func(sig string) string { return sig[3:] })
		}, http.StatusUnauthorized},
		{"with the right signature under another version", nil, func() *http.Request {
			return resign(slackRequest(t, testSigningSecret, body, now), func(sig string) string { return "v1=" + sig[3:] })
		}, http.StatusUnauthorized},
		{"with the right signature under an upper-case version", nil, func() *http.Request {
			return resign(slackRequest(t, testSigningSecret, body, now), func(sig string) string { return "V0=" + sig[3:] })
		}, http.StatusUnauthorized},
		{"with the right signature cut short", nil, func() *http.Request {
			return resign(slackRequest(t, testSigningSecret, body, now), func(sig string) string { return sig[:len(sig)-2] })
		}, http.StatusUnauthorized},
		{"with the right signature and more", nil, func() *http.Request {
			return resign(slackRequest(t, testSigningSecret, body, now), func(sig string) string { return sig + "00" })
		}, http.StatusUnauthorized},
		{"with the right signature and a space", nil, func() *http.Request {
			return resign(slackRequest(t, testSigningSecret, body, now), func(sig string) string { return sig + " " })
		}, http.StatusUnauthorized},
		{"with the right signature twice", nil, func() *http.Request {
			return resign(slackRequest(t, testSigningSecret, body, now), func(sig string) string { return sig + "," + sig })
		}, http.StatusUnauthorized},
		{"with an empty signature", nil, func() *http.Request {
			return resign(slackRequest(t, testSigningSecret, body, now), func(string) string { return "v0=" })
		}, http.StatusUnauthorized},
		{"without a timestamp", nil, func() *http.Request {
			r := slackRequest(t, testSigningSecret, body, now)
			r.Header.Del("X-Slack-Request-Timestamp")
			return r
		}, http.StatusUnauthorized},
		{"with a timestamp 6 minutes old", nil, func() *http.Request {
			return slackRequest(t, testSigningSecret, body, now.Add(-6*time.Minute))
		}, http.StatusUnauthorized},
		{"with a timestamp 6 minutes ahead of the clock", func(f *slackFixture) {
			f.h.Now = func() time.Time { return now.Add(-6 * time.Minute) }
		}, func() *http.Request {
			return slackRequest(t, testSigningSecret, body, now)
		}, http.StatusUnauthorized},
		{"without a payload", nil, func() *http.Request {
			return slackRequest(t, testSigningSecret, "token=x", now)
		}, http.StatusBadRequest},
		{"with a payload that is not JSON", nil, func() *http.Request {
			return slackRequest(t, testSigningSecret, "payload=%7Bnot+json", now)
		}, http.StatusBadRequest},
		{"with the payload smuggled in the query string", nil, func() *http.Request {
			r := slackRequest(t, testSigningSecret, "token=x", now)
			r.URL.RawQuery = body
			return r
		}, http.StatusBadRequest},
		{"with a body over 1 MB", nil, func() *http.Request {
			return slackRequest(t, testSigningSecret, body+"&pad="+strings.Repeat("x", SlackMaxBody), now)
		}, http.StatusRequestEntityTooLarge},
		{"when the replay store fails", func(f *slackFixture) { f.d.failing = true }, func() *http.Request {
			return slackRequest(t, testSigningSecret, body, now)
		}, http.StatusInternalServerError},
		{"when the queue fails", func(f *slackFixture) { f.q.failing = true }, func() *http.Request {
			return slackRequest(t, testSigningSecret, body, now)
		}, http.StatusInternalServerError},
		{"without a signing secret", func(f *slackFixture) {
			f.h = NewSlack("", f.q, f.d, nil)
		}, func() *http.Request {
			return slackRequest(t, "", body, now)
		}, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSlackFixture()
			if tt.setup != nil {
				tt.setup(&f)
			}
			if w := f.serve(tt.req()); w.Code != tt.want {
				t.Errorf("status = %d (%s); want %d", w.Code, strings.TrimSpace(w.Body.String()), tt.want)
			}
			if len(f.q.actions) != 0 {
				t.Errorf("refused request queued %+v", f.q.actions)
			}
		})
	}
}

func TestSlackReplayActsOnce(t *testing.T) {
	f := newSlackFixture()
	body := clickBody(t, ActionContacted, nslack.ButtonValue("acc-42", "high-value-churning"))
	ts := time.Now()
	for i := range 3 {
		if w := f.serve(slackRequest(t, testSigningSecret, body, ts)); w.Code != http.StatusOK {
			t.Fatalf("request %d: status = %d; want 200", i+1, w.Code)
		}
	}
	if len(f.q.actions) != 1 {
		t.Errorf("replayed request queued %d actions; want 1", len(f.q.actions))
	}
	if len(f.d.seen) != 1 {
		t.Fatalf("replay keys = %v; want one", f.d.seen)
	}
	for key, ttl := range f.d.seen {
		if !strings.HasPrefix(key, "slack:"+strconv.FormatInt(ts.Unix(), 10)+":v0=") || ttl != 10*time.Minute {
			t.Errorf("replay key %q for %v; want slack:<ts>:<signature> for 10m", key, ttl)
		}
	}
}

// resign replaces the signature of r by edit(signature).
func resign(r *http.Request, edit func(string) string) *http.Request {
	r.Header.Set("X-Slack-Signature", edit(r.Header.Get("X-Slack-Signature")))
	return r
}

func TestSlackAcceptsSignatureInAnyCase(t *testing.T) {
	body := clickBody(t, ActionSnooze, nslack.ButtonValue("acc-42", "inactive-90-days"))
	tests := []struct {
		name string
		edit func(string) string
	}{
		{"lower-case hex, as Slack sends it", func(sig string) string { return sig }},
		{"upper-case hex", func(sig string) string { return "v0=" + strings.ToUpper(sig[3:]) }},
		{"mixed-case hex", func(sig string) string { return "v0=" + strings.ToUpper(sig[3:20]) + sig[20:] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSlackFixture()
			if w := f.serve(resign(slackRequest(t, testSigningSecret, body, time.Now()), tt.edit)); w.Code != http.StatusOK || len(f.q.actions) != 1 {
				t.Fatalf("status = %d, %d actions; want 200 and the click queued", w.Code, len(f.q.actions))
			}
		})
	}
}

// TestSlackReplayInAnotherCase checks that a request replayed with its
// signature's hex digits in another case is still a replay.
func TestSlackReplayInAnotherCase(t *testing.T) {
	f := newSlackFixture()
	body := clickBody(t, ActionSnooze, nslack.ButtonValue("acc-42", "inactive-90-days"))
	ts := time.Now()
	first := slackRequest(t, testSigningSecret, body, ts)
	sig := first.Header.Get("X-Slack-Signature")
	replays := []func(string) string{
		func(sig string) string { return sig },
		func(sig string) string { return "v0=" + strings.ToUpper(sig[3:]) },
		func(sig string) string { return "v0=" + strings.ToUpper(sig[3:35]) + sig[35:] },
	}
	if w := f.serve(first); w.Code != http.StatusOK {
		t.Fatalf("first request: status = %d; want 200", w.Code)
	}
	for i, edit := range replays {
		r := resign(slackRequest(t, testSigningSecret, body, ts), edit)
		if w := f.serve(r); w.Code != http.StatusOK {
			t.Fatalf("replay %d (%s): status = %d; want 200, acknowledged", i+1, r.Header.Get("X-Slack-Signature"), w.Code)
		}
	}
	if len(f.q.actions) != 1 {
		t.Errorf("replays in another case queued %d actions; want 1", len(f.q.actions))
	}
	want := "slack:" + strconv.FormatInt(ts.Unix(), 10) + ":" + sig
	if _, ok := f.d.seen[want]; !ok || len(f.d.seen) != 1 {
		t.Errorf("replay keys = %v; want only %s", f.d.seen, want)
	}
}
