package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/sendgridfake"
	"github.com/crmsync/crmsync/notify"
)

// Test credentials and canned SendGrid answers.
const (
	fakeKey     = "SG.test-key.0123456789abcdefghijklmnopqrstuvwxyz"
	tooManyBody = `{"errors":[{"field":null,"message":"too many requests"}]}`
	nginx413    = "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n" +
		"<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

func testConfig(baseURL string) Config {
	return Config{
		APIKey:             fakeKey,
		BaseURL:            baseURL,
		FromEmail:          "success@example.com",
		FromName:           "Example Success",
		UnsubscribeGroupID: 1234,
		Sandbox:            true,
		Timeout:            2 * time.Second,
	}
}

func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func localMessage() *notify.Message {
	return &notify.Message{
		LedgerKey: "inactive-90-days|hubspot:42|jane@acme.example|2025-03",
		Channel:   notify.Email,
		Rule:      "inactive-90-days",
		AccountID: "hubspot:42",
		To:        "jane@acme.example",
		ToName:    "Jane Doe",
		ReplyTo:   "sam@example.com",
		Subject:   "Shall we catch up?",
		Text:      "Hello Jane,\nit has been a while.",
		HTML:      "<p>Hello Jane,</p><p>it has been a while.</p>",
	}
}

func templateMessage() *notify.Message {
	m := localMessage()
	m.Subject, m.Text, m.HTML, m.ReplyTo = "", "", "", ""
	m.TemplateID = "d-0123456789abcdef0123456789abcdef"
	m.TemplateData = map[string]any{"first_name": "Jane", "days": 97, "deal": map[string]any{"amount": 1200.5}}
	return m
}

// sameJSON fails unless got and want encode the same JSON value.
func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("request body:\n got %s\nwant %s", got, want)
	}
}

func TestSendBody(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		msg    func() *notify.Message
		want   string
	}{
		{
			name: "a local-template email with every option",
			msg:  localMessage,
			want: `{
				"from": {"email": "success@example.com", "name": "Example Success"},
				"reply_to": {"email": "sam@example.com"},
				"subject": "Shall we catch up?",
				"personalizations": [{"to": [{"email": "jane@acme.example", "name": "Jane Doe"}]}],
				"content": [
					{"type": "text/plain", "value": "Hello Jane,\nit has been a while."},
					{"type": "text/html", "value": "<p>Hello Jane,</p><p>it has been a while.</p>"}
				],
				"categories": ["crmsync", "inactive-90-days"],
				"custom_args": {
					"crmsync_rule": "inactive-90-days",
					"crmsync_account": "hubspot:42",
					"crmsync_ledger_key": "inactive-90-days|hubspot:42|jane@acme.example|2025-03"
				},
				"asm": {"group_id": 1234},
				"mail_settings": {"sandbox_mode": {"enable": true}}
			}`,
		},
		{
			name: "a dynamic-template email",
			msg:  templateMessage,
			want: `{
				"from": {"email": "success@example.com", "name": "Example Success"},
				"personalizations": [{
					"to": [{"email": "jane@acme.example", "name": "Jane Doe"}],
					"dynamic_template_data": {"first_name": "Jane", "days": 97, "deal": {"amount": 1200.5}}
				}],
				"template_id": "d-0123456789abcdef0123456789abcdef",
				"categories": ["crmsync", "inactive-90-days"],
				"custom_args": {
					"crmsync_rule": "inactive-90-days",
					"crmsync_account": "hubspot:42",
					"crmsync_ledger_key": "inactive-90-days|hubspot:42|jane@acme.example|2025-03"
				},
				"asm": {"group_id": 1234},
				"mail_settings": {"sandbox_mode": {"enable": true}}
			}`,
		},
		{
			name: "text only, no unsubscribe group, no sandbox, sender overridden",
			config: func(c *Config) {
				c.UnsubscribeGroupID, c.Sandbox, c.FromName = 0, false, ""
			},
			msg: func() *notify.Message {
				return &notify.Message{
					To: "ann@example.com", From: "rep@example.com", Subject: "Hi", Text: "Hello", Rule: "r1",
				}
			},
			want: `{
				"from": {"email": "rep@example.com"},
				"subject": "Hi",
				"personalizations": [{"to": [{"email": "ann@example.com"}]}],
				"content": [{"type": "text/plain", "value": "Hello"}],
				"categories": ["crmsync", "r1"],
				"custom_args": {"crmsync_rule": "r1"}
			}`,
		},
		{
			name:   "html only",
			config: func(c *Config) { c.UnsubscribeGroupID, c.Sandbox = 0, false },
			msg: func() *notify.Message {
				return &notify.Message{To: "ann@example.com", Subject: "Hi", HTML: "<b>Hello</b>"}
			},
			want: `{
				"from": {"email": "success@example.com", "name": "Example Success"},
				"subject": "Hi",
				"personalizations": [{"to": [{"email": "ann@example.com"}]}],
				"content": [{"type": "text/html", "value": "<b>Hello</b>"}],
				"categories": ["crmsync"]
			}`,
		},
		{
			name:   "hostile content stays data",
			config: func(c *Config) { c.UnsubscribeGroupID, c.Sandbox = 0, false },
			msg: func() *notify.Message {
				return &notify.Message{
					To:      "ann@example.com",
					ToName:  "Ann\r\nBcc: victim@example.com",
					Subject: "Hello\r\nBcc: victim@example.com\r\n\r\n<script>alert(1)</script>",
					Text:    "line one\r\n.\r\nQUIT\r\n",
					HTML:    `<a href="javascript:alert(1)">"quoted" & 'single'</a>`,
					Rule:    "règle\n10%",
				}
			},
			want: `{
				"from": {"email": "success@example.com", "name": "Example Success"},
				"subject": "Hello Bcc: victim@example.com <script>alert(1)</script>",
				"personalizations": [{"to": [{"email": "ann@example.com", "name": "Ann Bcc: victim@example.com"}]}],
				"content": [
					{"type": "text/plain", "value": "line one\r\n.\r\nQUIT\r\n"},
					{"type": "text/html", "value": "<a href=\"javascript:alert(1)\">\"quoted\" & 'single'</a>"}
				],
				"categories": ["crmsync", "r_gle_10%"],
				"custom_args": {"crmsync_rule": "règle\n10%"}
			}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sendgridfake.New(t, fakeKey)
			cfg := testConfig(f.URL())
			if tt.config != nil {
				tt.config(&cfg)
			}
			if err := newSender(t, cfg).Send(t.Context(), tt.msg()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			reqs := f.Requests()
			if len(reqs) != 1 {
				t.Fatalf("fake accepted %d requests, want 1", len(reqs))
			}
			sameJSON(t, reqs[0].Raw, tt.want)
		})
	}
}

func TestSendHeaders(t *testing.T) {
	f := sendgridfake.New(t, fakeKey)
	if err := newSender(t, testConfig(f.URL())).Send(t.Context(), localMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	h := f.Requests()[0].Header
	for key, want := range map[string]string{
		"Authorization": "Bearer " + fakeKey,
		"Content-Type":  "application/json",
		"Accept":        "application/json",
	} {
		if got := h.Get(key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}
}

func TestSendStatus(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name          string
		reply         *sendgridfake.Reply // nil: the fake validates and answers
		key           string              // API key; default fakeKey
		path          string              // appended to the base URL
		sandbox       bool                // the fake then answers 200
		wantErr       bool
		wantPermanent bool
		wantCreds     bool          // a *notify.CredentialsError: the channel pauses
		wantAfter     time.Duration // > 0: a *notify.RateLimitError
		wantInErr     []string
	}{
		{name: "with 202 accepted"},
		{name: "with 200 in sandbox mode", sandbox: true},
		{
			name: "with 429 and a reset in 30 seconds",
			reply: &sendgridfake.Reply{Status: 429, Body: tooManyBody, Header: map[string]string{
				"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
				"X-RateLimit-Reset": strconv.FormatInt(now.Unix()+30, 10),
			}},
			wantErr: true, wantAfter: 30 * time.Second,
		},
		{
			name:    "with 429 and no reset header",
			reply:   &sendgridfake.Reply{Status: 429, Body: tooManyBody},
			wantErr: true, wantAfter: time.Second,
		},
		{
			name: "with 429 and a reset in the past",
			reply: &sendgridfake.Reply{Status: 429, Body: tooManyBody, Header: map[string]string{
				"X-RateLimit-Reset": strconv.FormatInt(now.Unix()-5, 10),
			}},
			wantErr: true, wantAfter: time.Second,
		},
		{
			name:    "with 500",
			reply:   &sendgridfake.Reply{Status: 500, Body: `{"errors":[{"field":null,"message":"internal error"}]}`},
			wantErr: true, wantInErr: []string{"500", "internal error"},
		},
		{
			name:    "with 503 and an HTML body",
			reply:   &sendgridfake.Reply{Status: 503, Body: "<html>unavailable</html>"},
			wantErr: true, wantInErr: []string{"503 Service Unavailable"},
		},
		{
			name:    "with 408",
			reply:   &sendgridfake.Reply{Status: 408},
			wantErr: true, wantInErr: []string{"408 Request Timeout"},
		},
		{
			name:    "with 400 and two errors",
			reply:   &sendgridfake.Reply{Status: 400, Body: `{"errors":[{"message":"The from email does not contain a valid address.","field":"from.email","help":"http://sendgrid.com/docs"},{"message":"Sender not verified","field":null,"help":null}]}`},
			wantErr: true, wantPermanent: true,
			wantInErr: []string{"400", "from.email: The from email does not contain a valid address.; Sender not verified"},
		},
		{
			name:    "with 401 from a wrong key",
			key:     "SG.wrong-key.abcdefghijklmnopqrstuvwxyz0123456789",
			wantErr: true, wantCreds: true, wantInErr: []string{"401", sendgridfake.UnauthorizedMessage},
		},
		{
			name:    "with 403",
			reply:   &sendgridfake.Reply{Status: 403, Body: `{"errors":[{"field":null,"message":"access forbidden"}]}`},
			wantErr: true, wantCreds: true, wantInErr: []string{"403", "access forbidden"},
		},
		{
			name:    "with 403 from an unverified sender",
			reply:   &sendgridfake.Reply{Status: 403, Body: `{"errors":[{"message":"` + sendgridfake.ForbiddenSenderMessage + `","field":"from","help":null}]}`},
			wantErr: true, wantCreds: true, wantInErr: []string{"403", "from: The from address does not match a verified Sender Identity"},
		},
		{
			name:    "with 404 from a wrong base path",
			path:    "/proxy",
			wantErr: true, wantPermanent: true, wantInErr: []string{"404", "not found"},
		},
		{
			name:    "with 413 and nginx's HTML body",
			reply:   &sendgridfake.Reply{Status: 413, Body: nginx413, Header: map[string]string{"Content-Type": "text/html"}},
			wantErr: true, wantPermanent: true, wantInErr: []string{"413", "payload too large"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sendgridfake.New(t, fakeKey)
			if tt.reply != nil {
				f.Reply(*tt.reply)
			}
			cfg := testConfig(f.URL() + tt.path)
			cfg.Sandbox = tt.sandbox
			if tt.key != "" {
				cfg.APIKey = tt.key
			}
			s := newSender(t, cfg)
			s.now = func() time.Time { return now }
			err := s.Send(t.Context(), localMessage())
			checkErr(t, err, tt.wantErr, tt.wantPermanent, tt.wantAfter)
			if cred, ok := errors.AsType[*notify.CredentialsError](err); ok != tt.wantCreds || ok && cred.Fix == "" {
				t.Errorf("credentials error = %v (%+v), want %v with a fix", ok, cred, tt.wantCreds)
			}
			for _, sub := range tt.wantInErr {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not contain %q", err, sub)
				}
			}
			if err != nil && strings.Contains(err.Error(), cfg.APIKey) {
				t.Errorf("error %q leaks the API key", err)
			}
		})
	}
}

// checkErr checks the class of err: nil, rate limited after wantAfter,
// permanent, or retryable.
func checkErr(t *testing.T, err error, wantErr, wantPermanent bool, wantAfter time.Duration) {
	t.Helper()
	if (err != nil) != wantErr {
		t.Fatalf("Send error = %v, want error: %v", err, wantErr)
	}
	if err == nil {
		return
	}
	if got := errors.Is(err, notify.ErrPermanent); got != wantPermanent {
		t.Errorf("errors.Is(%q, ErrPermanent) = %v, want %v", err, got, wantPermanent)
	}
	var rl *notify.RateLimitError
	if got := errors.As(err, &rl); got != (wantAfter > 0) {
		t.Fatalf("errors.As(%q, *RateLimitError) = %v, want %v", err, got, wantAfter > 0)
	}
	if rl != nil && (rl.After != wantAfter || rl.Provider != "sendgrid" || rl.Scope != "mail send") {
		t.Errorf("RateLimitError = %+v, want After %s", rl, wantAfter)
	}
}

func TestSendRejectsBadMessages(t *testing.T) {
	tests := []struct {
		name string
		edit func(*notify.Message)
	}{
		{"with an empty recipient", func(m *notify.Message) { m.To = "" }},
		{"with a recipient that is not an address", func(m *notify.Message) { m.To = "not an email" }},
		{"with a display name in the recipient", func(m *notify.Message) { m.To = "Jane <jane@acme.example>" }},
		{"with a recipient carrying a header", func(m *notify.Message) { m.To = "jane@acme.example\r\nBcc: x@evil.example" }},
		{"with a recipient carrying Slack markup", func(m *notify.Message) { m.To = "x@evil.example>|<!here>" }},
		{"with a recipient domain without a dot", func(m *notify.Message) { m.To = "name@mail" }},
		{"with a recipient domain without a TLD", func(m *notify.Message) { m.To = "name@company-name" }},
		{"with a recipient TLD of one letter", func(m *notify.Message) { m.To = "a@b.c" }},
		{"with a bad reply-to", func(m *notify.Message) { m.ReplyTo = "sam at example" }},
		{"with a reply-to SendGrid refuses", func(m *notify.Message) { m.ReplyTo = "rep@localhost" }},
		{"with a bad sender override", func(m *notify.Message) { m.From = "Sam <sam@example.com>" }},
		{"with no subject", func(m *notify.Message) { m.Subject = " \r\n" }},
		{"with no body", func(m *notify.Message) { m.Text, m.HTML = "", "" }},
		{"with a legacy template id", func(m *notify.Message) { m.TemplateID = "0123-4567" }},
		{"with template data that is not JSON", func(m *notify.Message) {
			m.TemplateID, m.TemplateData = "d-1", map[string]any{"ch": make(chan int)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sendgridfake.New(t, fakeKey)
			m := localMessage()
			tt.edit(m)
			err := newSender(t, testConfig(f.URL())).Send(t.Context(), m)
			checkErr(t, err, true, true, 0)
			if n := f.Calls(); n != 0 {
				t.Errorf("fake received %d requests, want none", n)
			}
		})
	}
	t.Run("with a nil message", func(t *testing.T) {
		err := newSender(t, testConfig("http://127.0.0.1:1")).Send(t.Context(), nil)
		checkErr(t, err, true, true, 0)
	})
}

func TestSendDeadline(t *testing.T) {
	f := sendgridfake.New(t, fakeKey)
	f.SetDelay(5 * time.Second)
	cfg := testConfig(f.URL())
	cfg.Timeout = 50 * time.Millisecond
	start := time.Now()
	err := newSender(t, cfg).Send(t.Context(), localMessage())
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Send took %s, the deadline is %s", elapsed, cfg.Timeout)
	}
	checkErr(t, err, true, false, 0)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "sendgrid timeout reached") {
		t.Errorf("error %q does not report the deadline", err)
	}
	if !errors.Is(err, notify.ErrOutcomeUnknown) {
		t.Errorf("error %q after a request went out is not of unknown outcome", err)
	}
	if strings.Contains(err.Error(), fakeKey) {
		t.Errorf("error %q leaks the API key", err)
	}
}

func TestSendCanceled(t *testing.T) {
	f := sendgridfake.New(t, fakeKey)
	f.SetDelay(5 * time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := newSender(t, testConfig(f.URL())).Send(ctx, localMessage())
	checkErr(t, err, true, false, 0)
	if !errors.Is(err, context.Canceled) || errors.Is(err, notify.ErrOutcomeUnknown) {
		t.Errorf("error %q does not wrap context.Canceled, or says a request that never left may have been sent", err)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	f := sendgridfake.New(t, fakeKey)
	f.Close()
	err := newSender(t, testConfig(f.URL())).Send(t.Context(), localMessage())
	checkErr(t, err, true, false, 0)
	if errors.Is(err, notify.ErrOutcomeUnknown) {
		t.Errorf("error %q: nothing reached SendGrid, yet the outcome is unknown", err)
	}
}

// roundTripFunc lets a test answer requests without a network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestSendBaseURL(t *testing.T) {
	tests := []struct {
		name, baseURL, want string
	}{
		{"by default", "", "https://api.sendgrid.com/v3/mail/send"},
		{"in the EU", "https://api.eu.sendgrid.com", "https://api.eu.sendgrid.com/v3/mail/send"},
		{"with a trailing slash", "https://api.eu.sendgrid.com/", "https://api.eu.sendgrid.com/v3/mail/send"},
		{"behind a proxy path", "http://proxy.internal:8080/sendgrid", "http://proxy.internal:8080/sendgrid/v3/mail/send"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				got = r.Method + " " + r.URL.String()
				return &http.Response{StatusCode: http.StatusAccepted, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}}, nil
			})}
			cfg := testConfig(tt.baseURL)
			s, err := New(cfg, client)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := s.Send(t.Context(), localMessage()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if want := "POST " + tt.want; got != want {
				t.Errorf("request = %q, want %q", got, want)
			}
		})
	}
}

func TestSendRedactsEchoedKey(t *testing.T) {
	f := sendgridfake.New(t, fakeKey)
	f.Reply(sendgridfake.Reply{Status: 400, Body: `{"errors":[{"field":"api_key","message":"bad key ` + fakeKey + `"}]}`})
	err := newSender(t, testConfig(f.URL())).Send(t.Context(), localMessage())
	checkErr(t, err, true, true, 0)
	if strings.Contains(err.Error(), fakeKey) || !strings.Contains(err.Error(), "<redacted>") {
		t.Errorf("error %q is not redacted", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"with a valid config", func(*Config) {}, ""},
		{"with a key read from a file", func(c *Config) { c.APIKey = fakeKey + "\n" }, ""},
		{"without an API key", func(c *Config) { c.APIKey = " " }, "missing api_key"},
		{"with a key holding a line break", func(c *Config) { c.APIKey = "SG.a\r\nX-Evil: 1" }, "api_key contains whitespace"},
		{"without a sender", func(c *Config) { c.FromEmail = "" }, "missing from email"},
		{"with a sender display name", func(c *Config) { c.FromEmail = "Us <us@example.com>" }, "from email: invalid email address"},
		{"with a sender SendGrid refuses", func(c *Config) { c.FromEmail = "crmsync@localhost" }, `from email: invalid email address "crmsync@localhost"`},
		{"with a relative base URL", func(c *Config) { c.BaseURL = "api.sendgrid.com" }, "base_url must be an absolute http or https URL"},
		{"with an ftp base URL", func(c *Config) { c.BaseURL = "ftp://api.sendgrid.com" }, "base_url must be an absolute http or https URL"},
		{"with credentials in the base URL", func(c *Config) { c.BaseURL = "https://user:pw@proxy.example" }, "base_url must not carry credentials"},
		{"with a negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout must not be negative"},
		{"with a negative group", func(c *Config) { c.UnsubscribeGroupID = -1 }, "unsubscribe_group_id must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("https://api.sendgrid.com")
			tt.edit(&cfg)
			s, err := New(cfg, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if s.client == nil || s.cfg.APIKey != fakeKey {
					t.Errorf("New did not set a client or trim the key")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "SG.") || strings.Contains(err.Error(), "pw@") {
				t.Errorf("error %q leaks a secret", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	s := newSender(t, Config{APIKey: fakeKey, FromEmail: "us@example.com"})
	if s.endpoint != "https://api.sendgrid.com/v3/mail/send" || s.cfg.Timeout != DefaultTimeout {
		t.Errorf("defaults: endpoint %q, timeout %s", s.endpoint, s.cfg.Timeout)
	}
}

func TestCategories(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		rule string
		want []string
	}{
		{"", []string{"crmsync"}},
		{"crmsync", []string{"crmsync"}},
		{"inactive-90-days", []string{"crmsync", "inactive-90-days"}},
		{"été", []string{"crmsync", "_t_"}},
		{long, []string{"crmsync", long[:255]}},
	}
	for _, tt := range tests {
		if got := categories(tt.rule); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("categories(%q) = %q, want %q", tt.rule, got, tt.want)
		}
	}
}

func TestCheckAddress(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr string
	}{
		{"ann@example.com", ""},
		{"a@b.co", ""},
		{`"quoted"@example.org`, ""},
		{"ann@xn--mller-kva.de", ""},
		{"", "empty email address"},
		{"name@mail", `invalid email address "name@mail"`},
		{"name@company-name", `invalid email address "name@company-name"`},
		{"Ann <ann@example.com>", `invalid email address "Ann <ann@example.com>"`},
		{"ann@example.com.", `invalid email address "ann@example.com."`},
	}
	for _, tt := range tests {
		err := checkAddress(tt.addr)
		if got := fmt.Sprint(err); tt.wantErr == "" && err != nil || tt.wantErr != "" && got != tt.wantErr {
			t.Errorf("checkAddress(%q) = %v, want %q", tt.addr, err, tt.wantErr)
		}
	}
}
