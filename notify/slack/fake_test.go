package slack

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeToken is the bot token the fake Slack accepts.
const fakeToken = "xoxb-1234-5678-s3cr3tT0k3n"

// fakeUser is a Slack account the fake knows.
type fakeUser struct {
	id      string
	deleted bool
}

// posted is one message the fake accepted.
type posted struct {
	Channel     string
	Text        string
	Blocks      []any  // decoded, nil when none
	RawBlocks   string // as received
	UnfurlLinks string
	UnfurlMedia string
}

// fakeSlack is an httptest fake of the Slack Web API methods the Sender
// calls, answering with Slack's envelopes and validating like Slack.
type fakeSlack struct {
	srv *httptest.Server

	mu       sync.Mutex
	users    map[string]fakeUser      // lower-case email → account
	channels map[string]bool          // channels the bot may post in
	codes    map[string]string        // channel → error code chat.postMessage answers
	limits   map[string]time.Duration // method path or channel → Retry-After of a 429
	status   map[string]int           // method path → HTTP status answered instead
	delay    time.Duration            // added to every answer
	posts    []posted
	attempts map[string]int // chat.postMessage calls per channel
	lookups  int
	opens    int
}

// newFakeSlack starts a fake Slack with a few reps and channels; it stops
// with the test.
func newFakeSlack(t testing.TB) *fakeSlack {
	f := &fakeSlack{
		users: map[string]fakeUser{
			"sam@example.com":  {id: "U0SAM"},
			"ann@example.com":  {id: "U0ANN"},
			"gone@example.com": {id: "U0GONE", deleted: true},
		},
		channels: map[string]bool{"#sales-alerts": true, "#key-accounts": true, "C0KEY": true, "C0OTHER": true},
		codes:    map[string]string{},
		limits:   map[string]time.Duration{},
		status:   map[string]int{},
		attempts: map[string]int{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// url is the API root to configure, ending with "/".
func (f *fakeSlack) url() string { return f.srv.URL + "/" }

// dm is the DM channel the fake opens with user.
func dm(user string) string { return "D" + strings.TrimPrefix(user, "U") }

// serve routes one call.
func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	delay, status := f.delay, f.status[r.URL.Path]
	after, limited := f.limits[r.URL.Path]
	f.mu.Unlock()
	time.Sleep(delay)
	if limited {
		tooMany(w, after)
		return
	}
	if status != 0 {
		http.Error(w, "<html>Server Error</html>", status)
		return
	}
	params, token, err := readParams(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if token != fakeToken {
		answer(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch r.URL.Path {
	case "/users.lookupByEmail":
		answer(w, f.lookup(params.Get("email")))
	case "/conversations.open":
		answer(w, f.open(params.Get("users")))
	case "/chat.postMessage":
		f.postMessage(w, params)
	default:
		answer(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// readParams returns the call's arguments and token, like Slack: from the
// query string (GET), a form or a JSON body; the token from "Authorization:
// Bearer" or, in a POST form, the token field (never the query string).
func readParams(r *http.Request) (url.Values, string, error) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if r.Method == http.MethodGet {
		return r.URL.Query(), token, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		v, err := readJSON(r.Body)
		return v, token, err
	}
	if err := r.ParseForm(); err != nil {
		return nil, "", err
	}
	if token == "" {
		token = r.PostForm.Get("token")
	}
	return r.PostForm, token, nil
}

// readJSON flattens a JSON body into values; blocks stay JSON.
func readJSON(body io.Reader) (url.Values, error) {
	var in map[string]any
	if err := json.NewDecoder(body).Decode(&in); err != nil {
		return nil, err
	}
	v := url.Values{}
	for k, x := range in {
		if s, ok := x.(string); ok {
			v.Set(k, s)
			continue
		}
		b, _ := json.Marshal(x)
		v.Set(k, string(b))
	}
	return v, nil
}

// tooMany answers HTTP 429, with Retry-After when after is positive.
func tooMany(w http.ResponseWriter, after time.Duration) {
	if after > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(after/time.Second)))
	}
	w.WriteHeader(http.StatusTooManyRequests)
}

// answer writes a 200 JSON answer.
func answer(w http.ResponseWriter, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// lookup answers users.lookupByEmail.
func (f *fakeSlack) lookup(email string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	u, ok := f.users[strings.ToLower(email)]
	if !ok {
		return map[string]any{"ok": false, "error": "users_not_found"}
	}
	return map[string]any{"ok": true, "user": map[string]any{
		"id": u.id, "deleted": u.deleted, "profile": map[string]any{"email": email},
	}}
}

// open answers conversations.open with the DM channel of one user.
func (f *fakeSlack) open(users string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	for _, u := range f.users {
		if u.id == users && !u.deleted {
			f.channels[dm(u.id)] = true
			return map[string]any{"ok": true, "channel": map[string]any{"id": dm(u.id)}}
		}
	}
	return map[string]any{"ok": false, "error": "user_not_found"}
}

// postMessage answers chat.postMessage.
func (f *fakeSlack) postMessage(w http.ResponseWriter, p url.Values) {
	ch := p.Get("channel")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts[ch]++
	if after, ok := f.limits[ch]; ok {
		tooMany(w, after)
		return
	}
	msg, code := f.validate(p)
	if code != "" {
		answer(w, map[string]any{"ok": false, "error": code})
		return
	}
	f.posts = append(f.posts, msg)
	answer(w, map[string]any{"ok": true, "channel": ch, "ts": "1700000000.000100"})
}

// validate checks a post like Slack and returns it, or an error code. The
// caller holds f.mu.
func (f *fakeSlack) validate(p url.Values) (posted, string) {
	msg := posted{
		Channel: p.Get("channel"), Text: p.Get("text"), RawBlocks: p.Get("blocks"),
		UnfurlLinks: p.Get("unfurl_links"), UnfurlMedia: p.Get("unfurl_media"),
	}
	switch {
	case f.codes[msg.Channel] != "":
		return msg, f.codes[msg.Channel]
	case !f.channels[msg.Channel]:
		return msg, "channel_not_found"
	case msg.Text == "" && msg.RawBlocks == "":
		return msg, "no_text"
	case utf8.RuneCountInString(msg.Text) > 40000:
		return msg, "msg_too_long"
	}
	if msg.RawBlocks == "" {
		return msg, ""
	}
	if err := json.Unmarshal([]byte(msg.RawBlocks), &msg.Blocks); err != nil || checkBlocks(msg.Blocks) != nil {
		return msg, "invalid_blocks"
	}
	return msg, ""
}

// checkBlocks applies Slack's Block Kit limits that crmsync's blocks meet.
func checkBlocks(blocks []any) error {
	if len(blocks) > 50 {
		return fmt.Errorf("%d blocks", len(blocks))
	}
	for i, b := range blocks {
		m, ok := b.(map[string]any)
		if !ok || m["type"] == nil {
			return fmt.Errorf("block %d: not an object with a type", i)
		}
		limit := map[any]int{"section": 3000, "header": 150}[m["type"]]
		if text, _ := m["text"].(map[string]any); limit > 0 && text != nil {
			s, _ := text["text"].(string)
			if utf8.RuneCountInString(s) > limit {
				return fmt.Errorf("block %d: text over %d", i, limit)
			}
		}
	}
	return nil
}

// set runs fn with the fake locked, to script it.
func (f *fakeSlack) set(fn func(f *fakeSlack)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// snapshot returns the posts, lookups and opens so far.
func (f *fakeSlack) snapshot() (posts []posted, lookups, opens int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]posted(nil), f.posts...), f.lookups, f.opens
}

// attemptsTo returns how many chat.postMessage calls named channel.
func (f *fakeSlack) attemptsTo(channel string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[channel]
}
