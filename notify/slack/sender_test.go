package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/golden"
	"github.com/crmsync/crmsync/internal/slackfake"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
)

// fakeToken is the bot token the fake Slack accepts.
const fakeToken = "xoxb-1234-5678-s3cr3tT0k3n"

// newFakeSlack starts a fake Slack that knows the reps sam and ann (U0SAM,
// U0ANN), the deactivated gone (U0GONE), and the channels #sales-alerts,
// #key-accounts, C0KEY and C0OTHER.
func newFakeSlack(t testing.TB) *slackfake.Server {
	f := slackfake.New(t, fakeToken)
	f.AddUser("sam@example.com", "U0SAM", false)
	f.AddUser("ann@example.com", "U0ANN", false)
	f.AddUser("gone@example.com", "U0GONE", true)
	f.AddChannels("#sales-alerts", "#key-accounts", "C0KEY", "C0OTHER")
	return f
}

// snapshot returns the posts, lookups and opens of f so far.
func snapshot(f *slackfake.Server) (posts []slackfake.Post, lookups, opens int) {
	return f.Posts(), f.Lookups(), f.Opens()
}

// newTestSender returns a Sender talking to f, with a 1ms pace and the
// fallback channel #sales-alerts, as changed by mod.
func newTestSender(t *testing.T, f *slackfake.Server, mod func(*SenderConfig)) *Sender {
	t.Helper()
	cfg := SenderConfig{
		Token: fakeToken, BaseURL: f.URL(), FallbackChannel: "#sales-alerts",
		Timeout: 2 * time.Second, PerChannelEvery: time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewSender(cfg, f.Client())
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

// message is a Slack message to to with text.
func message(to, text string) *notify.Message {
	return &notify.Message{Channel: notify.Slack, To: to, Text: text}
}

// noSecret fails the test when err quotes a token.
func noSecret(t *testing.T, err error, tokens ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, tok := range append(tokens, fakeToken) {
		if s := fmt.Sprintf("%v %+v", err, err); tok != "" && strings.Contains(s, tok) {
			t.Errorf("error quotes the token: %s", s)
		}
	}
}

// channels lists the channels of posts.
func channels(posts []slackfake.Post) []string {
	var out []string
	for _, p := range posts {
		out = append(out, p.Channel)
	}
	return out
}

func TestNewSender(t *testing.T) {
	tests := []struct {
		name    string
		cfg     SenderConfig
		wantErr string
		wantURL string
	}{
		{name: "defaults", cfg: SenderConfig{Token: fakeToken}, wantURL: DefaultBaseURL},
		{name: "base url gets its final slash", cfg: SenderConfig{Token: fakeToken, BaseURL: "http://127.0.0.1:9/api"}, wantURL: "http://127.0.0.1:9/api/"},
		{name: "missing token", cfg: SenderConfig{}, wantErr: "token is required"},
		{name: "base url not http", cfg: SenderConfig{Token: fakeToken, BaseURL: "slack.com/api/"}, wantErr: "base url"},
		{name: "fallback is an email", cfg: SenderConfig{Token: fakeToken, FallbackChannel: "ops@example.com"}, wantErr: "fallback channel"},
		{name: "negative timeout", cfg: SenderConfig{Token: fakeToken, Timeout: -time.Second}, wantErr: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSender(tt.cfg, nil)
			noSecret(t, err)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := s.cfg
			if c.BaseURL != tt.wantURL || c.Timeout != DefaultTimeout || c.LookupTTL != DefaultLookupTTL || c.PerChannelEvery != DefaultPerChannelEvery {
				t.Errorf("config = %+v", c)
			}
		})
	}
}

func TestSendRoutes(t *testing.T) {
	tests := []struct {
		name         string
		noFallback   bool
		to           []string // one send each, in order
		wantChannels []string
		wantLookups  int
		wantOpens    int
		wantErr      error // of every send
	}{
		{name: "a rep gets a DM and the lookup is cached", to: []string{"sam@example.com", "sam@example.com"},
			wantChannels: []string{"D0SAM", "D0SAM"}, wantLookups: 1, wantOpens: 1},
		{name: "the cache ignores the email's case", to: []string{"Sam@Example.com", "sam@example.com"},
			wantChannels: []string{"D0SAM", "D0SAM"}, wantLookups: 1, wantOpens: 1},
		{name: "two reps get their own DMs", to: []string{"sam@example.com", "ann@example.com"},
			wantChannels: []string{"D0SAM", "D0ANN"}, wantLookups: 2, wantOpens: 2},
		{name: "a rep without slack account goes to the fallback channel and the miss is cached", to: []string{"nobody@example.com", "nobody@example.com"},
			wantChannels: []string{"#sales-alerts", "#sales-alerts"}, wantLookups: 1},
		{name: "a deactivated rep goes to the fallback channel", to: []string{"gone@example.com", "gone@example.com"},
			wantChannels: []string{"#sales-alerts", "#sales-alerts"}, wantLookups: 1},
		{name: "without fallback channel a rep without account is permanent", noFallback: true, to: []string{"nobody@example.com", "nobody@example.com"},
			wantLookups: 1, wantErr: notify.ErrPermanent},
		{name: "a channel name is posted to directly", to: []string{"#key-accounts"}, wantChannels: []string{"#key-accounts"}},
		{name: "a channel id is posted to directly", to: []string{"C0KEY"}, wantChannels: []string{"C0KEY"}},
		{name: "an unrecognised recipient is permanent", to: []string{"sales team"}, wantErr: notify.ErrPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			s := newTestSender(t, f, func(c *SenderConfig) {
				if tt.noFallback {
					c.FallbackChannel = ""
				}
			})
			for _, to := range tt.to {
				err := s.Send(t.Context(), message(to, "hello"))
				noSecret(t, err)
				if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
					t.Fatalf("Send to %s: err = %v, want %v", to, err, tt.wantErr)
				}
			}
			posts, lookups, opens := snapshot(f)
			if got := channels(posts); !reflect.DeepEqual(got, tt.wantChannels) {
				t.Errorf("posted to %q, want %q", got, tt.wantChannels)
			}
			if lookups != tt.wantLookups || opens != tt.wantOpens {
				t.Errorf("lookups, opens = %d, %d, want %d, %d", lookups, opens, tt.wantLookups, tt.wantOpens)
			}
		})
	}
}

func TestLookupCacheExpires(t *testing.T) {
	tests := []struct {
		name string
		to   string
	}{
		{name: "a hit", to: "sam@example.com"},
		{name: "a miss", to: "nobody@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			s := newTestSender(t, f, func(c *SenderConfig) { c.LookupTTL = time.Hour })
			now := time.Now()
			s.cache.now = func() time.Time { return now }
			for i, step := range []time.Duration{0, 59 * time.Minute, 2 * time.Minute} {
				now = now.Add(step)
				if err := s.Send(t.Context(), message(tt.to, "hello")); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			if _, lookups, _ := snapshot(f); lookups != 2 {
				t.Errorf("lookups = %d, want 2 (one, then one after the ttl)", lookups)
			}
		})
	}
}

func TestSendSlackErrors(t *testing.T) {
	tests := []struct {
		name          string
		token         string
		script        func(f *slackfake.Server)
		msg           *notify.Message
		wantPermanent bool
		wantCreds     bool // a *notify.CredentialsError: the channel pauses
		wantInErr     string
	}{
		{name: "unknown channel", msg: message("#nowhere", "hi"), wantPermanent: true, wantInErr: "channel_not_found"},
		{name: "bot not in channel", script: code("C0KEY", "not_in_channel"), msg: message("C0KEY", "hi"), wantPermanent: true, wantInErr: "not_in_channel"},
		{name: "archived channel", script: code("C0KEY", "is_archived"), msg: message("C0KEY", "hi"), wantPermanent: true, wantInErr: "is_archived"},
		{name: "inactive account", script: code("C0KEY", "account_inactive"), msg: message("C0KEY", "hi"), wantCreds: true, wantInErr: "account_inactive"},
		{name: "revoked token", script: code("C0KEY", "token_revoked"), msg: message("C0KEY", "hi"), wantCreds: true, wantInErr: "token_revoked"},
		{name: "missing scope", script: code("C0KEY", "missing_scope"), msg: message("C0KEY", "hi"), wantCreds: true, wantInErr: "missing_scope"},
		{name: "wrong token on post", token: "xoxb-wrong-0000", msg: message("C0KEY", "hi"), wantCreds: true, wantInErr: "invalid_auth"},
		{name: "wrong token on lookup", token: "xoxb-wrong-0000", msg: message("sam@example.com", "hi"), wantCreds: true, wantInErr: "invalid_auth"},
		{name: "expired token", script: code("C0KEY", "token_expired"), msg: message("C0KEY", "hi"), wantCreds: true, wantInErr: "token_expired"},
		{name: "user token", script: code("C0KEY", "not_allowed_token_type"), msg: message("C0KEY", "hi"), wantCreds: true, wantInErr: "not_allowed_token_type"},
		{name: "app not granted", script: code("C0KEY", "team_access_not_granted"), msg: message("C0KEY", "hi"), wantCreds: true, wantInErr: "team_access_not_granted"},
		{name: "ekm access denied", script: code("C0KEY", "ekm_access_denied"), msg: message("C0KEY", "hi"), wantCreds: true, wantInErr: "ekm_access_denied"},
		{name: "lookup without users:read.email", script: scopes("chat:write", "im:write"), msg: message("sam@example.com", "hi"), wantCreds: true, wantInErr: "needed: users:read.email"},
		{name: "401 status", script: status("/chat.postMessage", 401), msg: message("C0KEY", "hi"), wantCreds: true, wantInErr: "401"},
		{name: "no permission in one channel", script: code("C0KEY", "no_permission"), msg: message("C0KEY", "hi"), wantPermanent: true, wantInErr: "no_permission"},
		{name: "section text too long", msg: withBlocks(message("C0KEY", "hi"), sectionJSON(strings.Repeat("a", 3001))), wantPermanent: true, wantInErr: "invalid_blocks"},
		{name: "header text too long", msg: withBlocks(message("C0KEY", "hi"), `{"type":"header","text":{"type":"plain_text","text":"`+strings.Repeat("h", 151)+`"}}`), wantPermanent: true, wantInErr: "invalid_blocks"},
		{name: "too many blocks", msg: withBlocks(message("C0KEY", "hi"), repeat(sectionJSON("a"), 51)...), wantPermanent: true, wantInErr: "invalid_blocks"},
		{name: "text too long", msg: message("C0KEY", strings.Repeat("a", 40001)), wantPermanent: true, wantInErr: "msg_too_long"},
		{name: "no text", msg: message("C0KEY", ""), wantPermanent: true, wantInErr: "no_text"},
		{name: "blocks that are not a json array", msg: &notify.Message{To: "C0KEY", Text: "hi", Blocks: json.RawMessage(`{"type":`)}, wantPermanent: true, wantInErr: "decode blocks"},
		{name: "nil message", wantPermanent: true, wantInErr: "nil message"},
		{name: "404 status (wrong base url)", script: status("/chat.postMessage", 404), msg: message("C0KEY", "hi"), wantPermanent: true, wantInErr: "404"},
		{name: "500 on post is retryable", script: status("/chat.postMessage", 500), msg: message("C0KEY", "hi"), wantInErr: "500"},
		{name: "503 on lookup is retryable", script: status("/users.lookupByEmail", 503), msg: message("sam@example.com", "hi"), wantInErr: "503"},
		{name: "502 on conversations.open is retryable", script: status("/conversations.open", 502), msg: message("sam@example.com", "hi"), wantInErr: "502"},
		{name: "slack internal_error is retryable", script: code("C0KEY", "internal_error"), msg: message("C0KEY", "hi"), wantInErr: "internal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			if tt.script != nil {
				tt.script(f)
			}
			s := newTestSender(t, f, func(c *SenderConfig) { c.Token = cmpString(tt.token, fakeToken) })
			err := s.Send(t.Context(), tt.msg)
			noSecret(t, err, tt.token)
			if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("err = %v, want one with %q", err, tt.wantInErr)
			}
			if got := errors.Is(err, notify.ErrPermanent); got != tt.wantPermanent {
				t.Errorf("permanent = %v, want %v (%v)", got, tt.wantPermanent, err)
			}
			cred, creds := errors.AsType[*notify.CredentialsError](err)
			if creds != tt.wantCreds || creds && (cred.Fix == "" || !errors.Is(err, notify.ErrCredentials)) {
				t.Errorf("credentials error = %v (%+v), want %v with a fix", creds, cred, tt.wantCreds)
			}
			if errors.Is(err, notify.ErrOutcomeUnknown) {
				t.Errorf("err is of unknown outcome: %v", err)
			}
			if limited := new(notify.RateLimitError); errors.As(err, &limited) {
				t.Errorf("err is a rate limit: %v", err)
			}
			if posts, _, _ := snapshot(f); len(posts) != 0 {
				t.Errorf("posted %d messages", len(posts))
			}
		})
	}
}

// code scripts the fake to answer chat.postMessage to channel with an error.
func code(channel, code string) func(*slackfake.Server) {
	return func(f *slackfake.Server) { f.SetCode(channel, code) }
}

// scopes scripts the fake's token to have only the scopes given.
func scopes(scopes ...string) func(*slackfake.Server) {
	return func(f *slackfake.Server) { f.SetScopes(scopes...) }
}

// status scripts the fake to answer path with an HTTP status.
func status(path string, code int) func(*slackfake.Server) {
	return func(f *slackfake.Server) { f.SetStatus(path, code) }
}

// cmpString returns s, or def when s is empty.
func cmpString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sectionJSON is a section block with mrkdwn text, as JSON.
func sectionJSON(text string) string {
	b, _ := json.Marshal(map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}})
	return string(b)
}

// repeat returns n copies of s.
func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// withBlocks sets the blocks of m.
func withBlocks(m *notify.Message, blocks ...string) *notify.Message {
	m.Blocks = json.RawMessage("[" + strings.Join(blocks, ",") + "]")
	return m
}

func TestSendTransportErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, f *slackfake.Server) context.Context
		to        string // default C0KEY
		wantIs    error
		wantInErr string
	}{
		{name: "a slow post times out: it may have gone through", setup: func(t *testing.T, f *slackfake.Server) context.Context {
			f.SetDelay(300 * time.Millisecond)
			return t.Context()
		}, wantIs: notify.ErrOutcomeUnknown, wantInErr: "timed out after 50ms"},
		{name: "a slow lookup times out: nothing was posted", setup: func(t *testing.T, f *slackfake.Server) context.Context {
			f.SetDelay(300 * time.Millisecond)
			return t.Context()
		}, to: "sam@example.com", wantIs: context.DeadlineExceeded, wantInErr: "users.lookupByEmail"},
		{name: "a closed server", setup: func(t *testing.T, f *slackfake.Server) context.Context {
			f.Close()
			return t.Context()
		}, wantInErr: "chat.postMessage C0KEY"},
		{name: "a cancelled context", setup: func(t *testing.T, f *slackfake.Server) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, wantIs: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			s := newTestSender(t, f, func(c *SenderConfig) { c.Timeout = 50 * time.Millisecond })
			err := s.Send(tt.setup(t, f), message(cmpString(tt.to, "C0KEY"), "hi"))
			if unknown := errors.Is(err, notify.ErrOutcomeUnknown); unknown != (tt.wantIs == notify.ErrOutcomeUnknown) {
				t.Errorf("outcome unknown = %v for %v", unknown, err)
			}
			noSecret(t, err)
			if err == nil || !strings.Contains(err.Error(), tt.wantInErr) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
				t.Fatalf("err = %v, want one with %q that is %v", err, tt.wantInErr, tt.wantIs)
			}
			if errors.Is(err, notify.ErrPermanent) {
				t.Errorf("err is permanent: %v", err)
			}
		})
	}
}

func TestSendRateLimited(t *testing.T) {
	tests := []struct {
		name      string
		limit     string // path or channel answered with 429
		after     time.Duration
		to        string
		wantScope string
		wantAfter time.Duration
	}{
		{name: "a post with retry-after", limit: "C0KEY", after: 7 * time.Second, to: "C0KEY", wantScope: "C0KEY", wantAfter: 7 * time.Second},
		{name: "a post without retry-after", limit: "C0KEY", to: "C0KEY", wantScope: "C0KEY", wantAfter: defaultRetryAfter},
		{name: "a lookup", limit: "/users.lookupByEmail", after: 30 * time.Second, to: "sam@example.com", wantScope: "users.lookupByEmail", wantAfter: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			f.SetRateLimit(tt.limit, tt.after)
			s := newTestSender(t, f, nil)
			err := s.Send(t.Context(), message(tt.to, "hi"))
			noSecret(t, err)
			var limited *notify.RateLimitError
			if !errors.As(err, &limited) {
				t.Fatalf("err = %v, want a RateLimitError", err)
			}
			want := notify.RateLimitError{Provider: "slack", Scope: tt.wantScope, After: tt.wantAfter}
			if *limited != want {
				t.Errorf("err = %+v, want %+v", *limited, want)
			}
			start := time.Now()
			if err := s.Send(t.Context(), message("C0OTHER", "hi")); err != nil || time.Since(start) > 500*time.Millisecond {
				t.Errorf("other channel: err = %v after %s", err, time.Since(start))
			}
		})
	}
}

func TestSendRateLimitHoldsChannel(t *testing.T) {
	f := newFakeSlack(t)
	f.SetRateLimit("C0KEY", 7*time.Second)
	s := newTestSender(t, f, nil)
	_ = s.Send(t.Context(), message("C0KEY", "first"))
	err := s.Send(t.Context(), message("C0KEY", "second"))
	var limited *notify.RateLimitError
	if !errors.As(err, &limited) || limited.After <= 6*time.Second || limited.After > 7*time.Second {
		t.Fatalf("second send: err = %v, want a RateLimitError of about 7s", err)
	}
	if n := f.Attempts("C0KEY"); n != 1 {
		t.Errorf("chat.postMessage calls to C0KEY = %d, want 1: the held channel is not called", n)
	}
}

func TestSendPacing(t *testing.T) {
	tests := []struct {
		name      string
		every     time.Duration
		ctxWait   time.Duration // deadline of the second send, 0 for none
		wantWait  bool          // the second send waits its turn
		wantLimit bool          // the second send returns a RateLimitError at once
		wantIs    error
	}{
		{name: "1s apart: the second send waits", every: time.Second, wantWait: true},
		{name: "5s apart: the second send is rate limited at once", every: 5 * time.Second, wantLimit: true},
		{name: "the wait honours the context", every: time.Second, ctxWait: 100 * time.Millisecond, wantIs: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSlack(t)
			s := newTestSender(t, f, func(c *SenderConfig) { c.PerChannelEvery = tt.every })
			if err := s.Send(t.Context(), message("C0KEY", "first")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := s.Send(t.Context(), message("C0OTHER", "other")); err != nil || time.Since(start) > 300*time.Millisecond {
				t.Errorf("other channel: err = %v after %s, want no wait", err, time.Since(start))
			}
			ctx := t.Context()
			if tt.ctxWait > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxWait)
				defer cancel()
			}
			start = time.Now()
			err := s.Send(ctx, message("C0KEY", "second"))
			checkPaced(t, err, time.Since(start), tt.every, tt.wantWait, tt.wantLimit, tt.wantIs)
		})
	}
}

// checkPaced checks the second send to a paced channel, loosely timed.
func checkPaced(t *testing.T, err error, took, every time.Duration, wantWait, wantLimit bool, wantIs error) {
	t.Helper()
	var limited *notify.RateLimitError
	switch {
	case wantWait:
		if err != nil || took < every*7/10 || took > every*2 {
			t.Errorf("err = %v after %s, want a wait of about %s", err, took, every)
		}
	case wantLimit:
		if !errors.As(err, &limited) || limited.Scope != "C0KEY" || limited.After <= every-time.Second || limited.After > every || took > 300*time.Millisecond {
			t.Errorf("err = %v after %s, want a RateLimitError of about %s at once", err, took, every)
		}
	default:
		if !errors.Is(err, wantIs) || took > every/2 {
			t.Errorf("err = %v after %s, want %v", err, took, wantIs)
		}
	}
}

func TestSendTextAsGiven(t *testing.T) {
	tests := []struct {
		name string
		text string
	}{
		{name: "an escaped mention", text: "&lt;!channel&gt; is quiet"},
		{name: "an escaped ampersand entity", text: "R&amp;amp;D &amp;lt;b&amp;gt;"},
		{name: "escaped hostile crm values", text: hostileText},
		{name: "the author's own mrkdwn", text: "*Acme* is quiet, <https://crm.example/42|open it> <@U0SAM>"},
		{name: "control characters are not escaped again", text: "a & b <c>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			s := newTestSender(t, f, nil)
			m := withBlocks(message("C0KEY", tt.text), sectionJSON(tt.text))
			if err := s.Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			posts, _, _ := snapshot(f)
			if len(posts) != 1 || posts[0].Text != tt.text {
				t.Fatalf("posted %+v, want text %q", posts, tt.text)
			}
			if got := block(t, json.RawMessage(posts[0].RawBlocks), "section")["text"].(map[string]any)["text"]; got != tt.text {
				t.Errorf("section text = %q, want %q", got, tt.text)
			}
		})
	}
}

func TestSendRenderedBlocks(t *testing.T) {
	tests := []struct {
		name string
		data func() notify.Data
		text string
	}{
		{name: "a normal nudge", data: normalData},
		{name: "a critical nudge", data: criticalData},
		{name: "hostile crm data", data: hostileData, text: hostileText},
		{name: "bare data", data: bareData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			s := newTestSender(t, f, nil)
			text, blocks := render(t, tt.data(), tt.text)
			if err := s.Send(t.Context(), &notify.Message{To: "sam@example.com", Text: text, Blocks: blocks}); err != nil {
				t.Fatal(err)
			}
			posts, _, _ := snapshot(f)
			if len(posts) != 1 {
				t.Fatalf("posted %d messages", len(posts))
			}
			var want []any
			if err := json.Unmarshal(blocks, &want); err != nil {
				t.Fatal(err)
			}
			p := posts[0]
			if p.Text != text || !reflect.DeepEqual(p.Blocks, want) {
				t.Errorf("posted text %q blocks %s\nwant text %q blocks %s", p.Text, p.RawBlocks, text, blocks)
			}
			if p.UnfurlLinks != "false" || p.UnfurlMedia != "false" {
				t.Errorf("unfurl_links, unfurl_media = %q, %q, want false", p.UnfurlLinks, p.UnfurlMedia)
			}
		})
	}
}

func TestSendConcurrent(t *testing.T) {
	const senders, reps = 50, 10
	f := newFakeSlack(t)
	for r := range reps {
		f.AddUser(fmt.Sprintf("rep%d@example.com", r), fmt.Sprintf("U1%d", r), false)
	}
	s := newTestSender(t, f, nil)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for r := range reps {
				if err := sendUntilDone(t.Context(), s, message(fmt.Sprintf("rep%d@example.com", r), fmt.Sprintf("g%d r%d", g, r))); err != nil {
					t.Errorf("sender %d rep %d: %v", g, r, err)
				}
			}
		})
	}
	wg.Wait()
	posts, lookups, _ := snapshot(f)
	seen := map[string]bool{}
	for _, p := range posts {
		var g, r int
		if _, err := fmt.Sscanf(p.Text, "g%d r%d", &g, &r); err != nil || seen[p.Text] || p.Channel != slackfake.DM(fmt.Sprintf("U1%d", r)) {
			t.Errorf("post %+v: duplicate or in the wrong channel", p)
		}
		seen[p.Text] = true
	}
	if len(posts) != senders*reps || lookups < reps {
		t.Errorf("posts, lookups = %d, %d, want %d, at least %d", len(posts), lookups, senders*reps, reps)
	}
	if err := s.Send(t.Context(), message("rep0@example.com", "again")); err != nil {
		t.Fatal(err)
	}
	if _, again, _ := snapshot(f); again != lookups {
		t.Errorf("lookups after the run = %d, want %d (cached)", again, lookups)
	}
}

// sendUntilDone sends m, waiting out rate limits as the queue would.
func sendUntilDone(ctx context.Context, s *Sender, m *notify.Message) error {
	for {
		err := s.Send(ctx, m)
		var limited *notify.RateLimitError
		if !errors.As(err, &limited) {
			return err
		}
		select {
		case <-time.After(limited.After):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func TestSendResolvesMentions(t *testing.T) {
	tests := []struct {
		name  string
		email string
		owner string
		want  string
	}{
		{"owner in Slack", "sam@example.com", "Sam Rep", "<@U0SAM>"},
		{"owner in Slack, email in another case", "Sam@Example.com", "Sam Rep", "<@U0SAM>"},
		{"owner not in Slack", "nobody@example.com", "Bob *bold* & co", "Bob \u200b*\u200bbold\u200b*\u200b &amp; co"},
		{"deactivated owner", "gone@example.com", "Gone Rep", "Gone Rep"},
		{"owner without email", "", "<!channel> Rep", "&lt;!channel&gt; Rep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			s := newTestSender(t, f, nil)
			d := localized(normalData(), "en")
			d.Owner = &model.Owner{Name: tt.owner, Email: tt.email}
			text, blocks := renderFor(t, d, "", ToChannel)
			m := &notify.Message{To: "#key-accounts", Text: text, Blocks: blocks}
			if err := s.Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			posts := f.Posts()
			if len(posts) != 1 {
				t.Fatalf("posted %d messages", len(posts))
			}
			got := strings.Join(texts(t, json.RawMessage(posts[0].RawBlocks)), "\n")
			if !strings.Contains(got, "*Owner*\n"+tt.want+"\n") || strings.Contains(got, "@crmsync:") {
				t.Errorf("posted texts %s\nwant the owner field %q and no placeholder", got, tt.want)
			}
			if string(m.Blocks) != string(blocks) {
				t.Error("Send changed the message it was given")
			}
		})
	}
}

func TestSendMentionGolden(t *testing.T) {
	f := newFakeSlack(t)
	s := newTestSender(t, f, nil)
	for i, lang := range []string{"en", "fr"} {
		d := localized(hostileData(), lang)
		d.Owner = &model.Owner{Name: "Sam <b>Rep</b>", Email: "sam@example.com"}
		text, blocks := renderFor(t, d, hostileText, ToChannel)
		// Queued messages are JSON that may write < as \u003c.
		queued, err := json.Marshal(notify.Message{To: "#key-accounts", Text: text, Blocks: blocks})
		if err != nil {
			t.Fatal(err)
		}
		var m notify.Message
		if err := json.Unmarshal(queued, &m); err != nil {
			t.Fatal(err)
		}
		if err := s.Send(t.Context(), &m); err != nil {
			t.Fatal(err)
		}
		posts := f.Posts()
		if len(posts) != i+1 {
			t.Fatalf("posted %d messages", len(posts))
		}
		p := posts[i]
		var b bytes.Buffer
		if err := json.Indent(&b, []byte(p.RawBlocks), "", "  "); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, "channel-copy-sent."+lang, "text: "+p.Text+"\n\n"+b.String()+"\n")
		if !strings.Contains(strings.Join(texts(t, json.RawMessage(p.RawBlocks)), "\n"), "*\n<@U0SAM>") {
			t.Errorf("%s: the owner is not mentioned", lang)
		}
	}
	if f.Lookups() != 1 {
		t.Errorf("%d users.lookupByEmail calls for one owner in two messages, want 1 (cached)", f.Lookups())
	}
}

func TestSendDigestMentions(t *testing.T) {
	f := newFakeSlack(t)
	s := newTestSender(t, f, nil)
	parts, err := RenderDigest(Digest{To: "#key-accounts", Channel: true, Locale: "fr", Entries: digestEntries(40)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if err := s.Send(t.Context(), &notify.Message{To: "#key-accounts", Text: p.Fallback, Blocks: p.Blocks}); err != nil {
			t.Fatal(err)
		}
	}
	posts := f.Posts()
	if len(posts) != 3 {
		t.Fatalf("posted %d messages, want 3", len(posts))
	}
	for i, p := range posts {
		got := strings.Join(texts(t, json.RawMessage(p.RawBlocks)), "\n")
		for _, want := range []string{"responsable\u00a0: <@U0SAM>", "responsable\u00a0: <@U0ANN>", "responsable\u00a0: Bob \u200b*\u200bbold\u200b*\u200b &amp; co"} {
			if !strings.Contains(got, want) {
				t.Errorf("message %d lacks %q", i, want)
			}
		}
		if strings.Contains(got, "@crmsync:") {
			t.Errorf("message %d still has a placeholder", i)
		}
	}
	if f.Lookups() != 2 {
		t.Errorf("%d lookups for two owners with an email, want 2", f.Lookups())
	}
}

func TestPlaceholderCannotBeForged(t *testing.T) {
	d := localized(normalData(), "en")
	forged := "<@crmsync:boss%40example.com|Boss>"
	d.Account.Name, d.Title, d.Owner = forged, forged, &model.Owner{Name: forged, Email: "x>|<@crmsync:y@example.com"}
	text, blocks := renderFor(t, d, Escape(forged), ToChannel)
	owners, err := Mentions(&notify.Message{Text: text, Blocks: blocks})
	if err != nil {
		t.Fatal(err)
	}
	want := MentionOwner{Email: "x>|<@crmsync:y@example.com", Name: forged}
	if len(owners) != 1 || owners[0] != want {
		t.Errorf("mentions = %+v, want only the owner's own %+v", owners, want)
	}
}
