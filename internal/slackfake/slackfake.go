// Package slackfake is an httptest fake of the Slack Web API methods
// crmsync's Slack sender calls (users.lookupByEmail, conversations.open,
// chat.postMessage, and to check and resolve: auth.test,
// conversations.history, conversations.list), for tests and benchmarks.
// It answers with Slack's envelopes and error codes, validates posts the
// way Slack does, keeps each channel's history (with message metadata) and
// checks the token's scopes, and it counts accepted posts per (channel,
// text), the identity of a nudge on the wire, so that tests can check that
// every message arrived exactly once.
//
// A Server is safe for concurrent use and never sleeps unless told to
// (SetDelay). For throughput benchmarks, SetRecording(false) keeps only the
// counts. SetPostRate makes it enforce Slack's pace of chat.postMessage
// (one message per second per channel, or a faster scale of it).
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// AllScopes are the bot scopes crmsync's Slack app asks for; a Server's
// token has them all unless SetScopes says otherwise.
var AllScopes = []string{
	"chat:write", "users:read", "users:read.email", "im:write",
	"im:history", "channels:history", "groups:history", "channels:read", "groups:read",
}

// methodScopes are the scopes each method needs; history and list need
// one per kind of conversation (see scopeFor).
var methodScopes = map[string]string{
	"/chat.postMessage":      "chat:write",
	"/users.lookupByEmail":   "users:read.email",
	"/conversations.open":    "im:write",
	"/conversations.list":    "", // per type
	"/conversations.history": "", // per channel
	"/auth.test":             "",
}

// Post is one message the Server accepted.
type Post struct {
	Channel     string
	Text        string
	Blocks      []any  // decoded, nil when none
	RawBlocks   string // as received
	UnfurlLinks string
	UnfurlMedia string
	Metadata    *Metadata // nil when none
	TS          string    // the message's timestamp in its channel
	User        string    // who posted it: BotUser for the bot
}

// BotUser is the user id of the bot, as auth.test and the history show it.
const BotUser = "U0BOT"

// Metadata is a message's metadata (chat.postMessage's metadata argument).
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// Key identifies a post: the channel it went to and its text.
type Key struct {
	Channel string
	Text    string
}

// user is a Slack account the Server knows.
type user struct {
	id      string
	deleted bool
}

// conversation is a channel the bot is in, with its history, oldest first.
type conversation struct {
	id, name string
	private  bool
	messages []Post
}

// Server is a running fake of the Slack Web API.
type Server struct {
	srv   *httptest.Server
	delay atomic.Int64 // time.Duration added to every answer

	mu       sync.Mutex
	token    string
	scopes   []string
	users    map[string]user          // lower-case email → account
	channels map[string]*conversation // id and "#name" → channel the bot may post in
	ids      int                      // channel ids given out
	lastTS   int64                    // µs of the latest ts given out
	codes    map[string]string        // channel → error code chat.postMessage answers
	limits   map[string]time.Duration // method path or channel → Retry-After of a 429
	every    time.Duration            // accepted posts per channel at most one per every; 0: no limit
	lastPost map[string]time.Time     // channel → when its latest post was accepted
	limited  map[string]int           // chat.postMessage calls per channel answered 429
	status   map[string]int           // method path → HTTP status answered instead
	record   bool
	posts    []Post
	keys     map[Key]int    // accepted posts per (channel, text)
	attempts map[string]int // chat.postMessage calls per channel
	calls    map[string]int // calls per method path
	lookups  int
	opens    int
}

// New starts a Server that accepts the bot token token, with every scope
// of AllScopes, and knows no users and no channels yet; it records every
// accepted post and stops when the test ends.
func New(tb testing.TB, token string) *Server {
	tb.Helper()
	s := &Server{
		token:    token,
		scopes:   AllScopes,
		users:    map[string]user{},
		channels: map[string]*conversation{},
		codes:    map[string]string{},
		limits:   map[string]time.Duration{},
		lastPost: map[string]time.Time{},
		limited:  map[string]int{},
		status:   map[string]int{},
		record:   true,
		keys:     map[Key]int{},
		attempts: map[string]int{},
		calls:    map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// SetToken makes the Server accept token instead, from now on: the token
// crmsync has becomes wrong (revoked), or right again.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetScopes sets the scopes of the token (see AllScopes); a method that
// needs another answers missing_scope.
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = scopes
}

// URL is the API root to configure a sender with, ending with "/".
func (s *Server) URL() string { return s.srv.URL + "/" }

// Client returns an HTTP client configured for the Server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close stops the Server; later calls fail to connect.
func (s *Server) Close() { s.srv.Close() }

// DM is the id of the DM channel the Server opens with the user userID.
func DM(userID string) string { return "D" + strings.TrimPrefix(userID, "U") }

// AddUser adds the account userID with email; a deleted one is found by
// users.lookupByEmail but cannot be DM'd.
func (s *Server) AddUser(email, userID string, deleted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(email)] = user{id: userID, deleted: deleted}
}

// AddChannels lets the bot post in each of channels: an id (C…, G…, D…)
// or a "#name", which gets an id of its own (see ChannelID) and is listed
// by conversations.list.
func (s *Server) AddChannels(channels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range channels {
		name, named := strings.CutPrefix(c, "#")
		if !named {
			s.conversation(c, "", false)
			continue
		}
		s.ids++
		s.conversation(fmt.Sprintf("C0N%05d", s.ids), name, false)
	}
}

// AddPrivateChannel lets the bot post in the private channel id named
// name ("#name" also works, as for a public one).
func (s *Server) AddPrivateChannel(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conversation(id, name, true)
}

// conversation registers the channel id (and its name). The caller holds
// s.mu.
func (s *Server) conversation(id, name string, private bool) *conversation {
	if c := s.channels[id]; c != nil {
		return c
	}
	c := &conversation{id: id, name: name, private: private}
	s.channels[id] = c
	if name != "" {
		s.channels["#"+name] = c
	}
	return c
}

// ChannelID is the id of the channel "#name" (or name), "" when unknown.
func (s *Server) ChannelID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.channels["#"+strings.TrimPrefix(name, "#")]; c != nil {
		return c.id
	}
	return ""
}

// History returns the messages of the channel (id or "#name"), oldest
// first.
func (s *Server) History(channel string) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.channels[channel]; c != nil {
		return slices.Clone(c.messages)
	}
	return nil
}

// Inject adds to the channel's history a message the Server did not
// count as a post (sent by someone else, or before the test), with
// metadata when eventType is not empty.
func (s *Server) Inject(channel, text, eventType string, payload map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channel]
	if c == nil {
		return
	}
	p := Post{Channel: c.id, Text: text, TS: s.nextTS(), User: "U0HUMAN"}
	if eventType != "" {
		p.Metadata = &Metadata{EventType: eventType, EventPayload: payload}
	}
	c.messages = append(c.messages, p)
}

// SetCode makes chat.postMessage to channel answer the Slack error code
// (not_in_channel, is_archived, internal_error, …); "" removes it.
func (s *Server) SetCode(channel, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	setOrDelete(s.codes, channel, code, "")
}

// SetStatus makes every call of the method path ("/chat.postMessage")
// answer the HTTP status code; 0 removes it.
func (s *Server) SetStatus(path string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	setOrDelete(s.status, path, code, 0)
}

// SetRateLimit makes calls of the method path ("/users.lookupByEmail"), or
// chat.postMessage to the channel, answer HTTP 429 with Retry-After in
// whole seconds of after (no header when after is 0).
func (s *Server) SetRateLimit(pathOrChannel string, after time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[pathOrChannel] = after
}

// SlackPostEvery is the pace Slack documents for chat.postMessage: one
// message per second per channel.
const SlackPostEvery = time.Second

// SetPostRate makes chat.postMessage accept at most one post per channel
// every every (SlackPostEvery, as Slack; a shorter one scales time down
// for tests). A post that comes sooner after the channel's latest accepted
// one is answered as Slack does: HTTP 429, a Retry-After header of the
// seconds until the channel's next turn rounded up (at least 1), and
// {"ok":false,"error":"ratelimited"}. 0, the default, turns it off.
func (s *Server) SetPostRate(every time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.every = every
}

// ClearRateLimit removes what SetRateLimit set for pathOrChannel.
func (s *Server) ClearRateLimit(pathOrChannel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.limits, pathOrChannel)
}

// SetDelay makes every later answer wait d; 0 answers at once.
func (s *Server) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// SetRecording sets whether accepted posts are kept for Posts and in their
// channel's history (the default). Counts (Keys, Lookups, Opens, Attempts)
// are kept either way.
func (s *Server) SetRecording(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record = on
}

// Posts returns the accepted posts, when recording.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// Keys returns how many posts were accepted per (channel, text).
func (s *Server) Keys() map[Key]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.keys)
}

// Accepted is the number of posts accepted.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.keys {
		n += c
	}
	return n
}

// Lookups is the number of users.lookupByEmail calls answered.
func (s *Server) Lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

// Opens is the number of conversations.open calls answered.
func (s *Server) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// Attempts is the number of chat.postMessage calls to channel, accepted
// or not.
func (s *Server) Attempts(channel string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[channel]
}

// RateLimited is the number of chat.postMessage calls to channel answered
// HTTP 429, by SetPostRate or SetRateLimit.
func (s *Server) RateLimited(channel string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited[channel]
}

// Calls is the number of calls of the method path ("/auth.test")
// answered, with or without an error.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// Reset forgets the posts and counts, not the users, channels (nor their
// history), script or the time of each channel's latest post.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts, s.keys, s.attempts, s.calls = nil, map[Key]int{}, map[string]int{}, map[string]int{}
	s.limited = map[string]int{}
	s.lookups, s.opens = 0, 0
}

func setOrDelete[V comparable](m map[string]V, k string, v, zero V) {
	if v == zero {
		delete(m, k)
		return
	}
	m[k] = v
}

// serve routes one call.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if d := time.Duration(s.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	s.mu.Lock()
	s.calls[r.URL.Path]++
	status := s.status[r.URL.Path]
	after, limited := s.limits[r.URL.Path]
	token, scopes := s.token, s.scopes
	s.mu.Unlock()
	if limited {
		tooMany(w, after)
		return
	}
	if status != 0 {
		http.Error(w, "<html>Server Error</html>", status)
		return
	}
	params, got, err := readParams(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch {
	case got == "":
		answer(w, map[string]any{"ok": false, "error": "not_authed"})
		return
	case got != token:
		answer(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	w.Header().Set("X-OAuth-Scopes", strings.Join(scopes, ","))
	if need, known := methodScopes[r.URL.Path]; known && need != "" && !slices.Contains(scopes, need) {
		answer(w, missingScope(need, scopes))
		return
	}
	s.route(w, r.URL.Path, params, scopes)
}

// route answers one authenticated call of method path.
func (s *Server) route(w http.ResponseWriter, path string, params url.Values, scopes []string) {
	switch path {
	case "/auth.test":
		answer(w, map[string]any{"ok": true, "url": "https://crmsync-test.slack.com/", "team": "crmsync test",
			"user": "crmsync", "team_id": "T0TEST", "user_id": BotUser, "bot_id": "B0BOT"})
	case "/users.lookupByEmail":
		answer(w, s.lookup(params.Get("email")))
	case "/conversations.open":
		answer(w, s.open(params.Get("users")))
	case "/chat.postMessage":
		s.postMessage(w, params)
	case "/conversations.history":
		answer(w, s.history(params, scopes))
	case "/conversations.list":
		answer(w, s.list(params, scopes))
	default:
		answer(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// missingScope is Slack's answer to a call the token lacks a scope for.
func missingScope(need string, scopes []string) map[string]any {
	return map[string]any{"ok": false, "error": "missing_scope", "needed": need, "provided": strings.Join(scopes, ",")}
}

// readParams returns the call's arguments and token, like Slack: from the
// query string (GET), a form or a JSON body; the token from "Authorization:
// Bearer" or, in a POST form, the token field (never the query string).
func readParams(r *http.Request) (url.Values, string, error) {
	token := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer"))
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

// tooMany answers HTTP 429 ratelimited, with Retry-After in whole seconds
// when after is positive.
func tooMany(w http.ResponseWriter, after time.Duration) {
	if after > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(after/time.Second)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "ratelimited"})
}

// answer writes a 200 JSON answer.
func answer(w http.ResponseWriter, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}
