package sendgrid

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeMail is the v3 mail body as the fake decodes it, independently of
// sendgrid-go's helpers, with the fields this package may send.
type fakeMail struct {
	From             *fakeEmail        `json:"from"`
	ReplyTo          *fakeEmail        `json:"reply_to"`
	Subject          string            `json:"subject"`
	Personalizations []fakePerson      `json:"personalizations"`
	Content          []fakeContent     `json:"content"`
	TemplateID       string            `json:"template_id"`
	Categories       []string          `json:"categories"`
	CustomArgs       map[string]string `json:"custom_args"`
	ASM              *struct {
		GroupID int `json:"group_id"`
	} `json:"asm"`
	MailSettings *struct {
		SandboxMode *struct {
			Enable *bool `json:"enable"`
		} `json:"sandbox_mode"`
	} `json:"mail_settings"`
}

type fakeEmail struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type fakePerson struct {
	To                  []fakeEmail    `json:"to"`
	Subject             string         `json:"subject"`
	DynamicTemplateData map[string]any `json:"dynamic_template_data"`
}

type fakeContent struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// fakeRequest is one request the fake accepted.
type fakeRequest struct {
	Header http.Header
	Raw    []byte
	Mail   fakeMail
}

// fakeReply is a scripted answer, served instead of validating.
type fakeReply struct {
	status int
	header map[string]string
	body   string
}

const (
	fakeKey         = "SG.test-key.0123456789abcdefghijklmnopqrstuvwxyz"
	unauthorizedMsg = "The provided authorization grant is invalid, expired, or revoked"
	tooManyBody     = `{"errors":[{"field":null,"message":"too many requests"}]}`
	nginx413        = "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n" +
		"<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

// fakeSendGrid is an httptest fake of POST /v3/mail/send that validates
// requests the way SendGrid documents and records the ones it accepts.
type fakeSendGrid struct {
	*httptest.Server
	delay time.Duration // answer late, to test deadlines

	mu       sync.Mutex
	accepted []fakeRequest
	calls    int
	script   []fakeReply
}

func newFake(t *testing.T) *fakeSendGrid {
	t.Helper()
	f := &fakeSendGrid{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// reply scripts the next answers, served in order after authentication.
func (f *fakeSendGrid) reply(r ...fakeReply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, r...)
}

// requests returns the accepted requests.
func (f *fakeSendGrid) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.accepted...)
}

// callCount is the number of requests received, accepted or not.
func (f *fakeSendGrid) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeSendGrid) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	raw, _ := io.ReadAll(r.Body) // then the server notices a client leaving
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case r.URL.Path != "/v3/mail/send":
		writeErrors(w, http.StatusNotFound, apiErr{"", "not found"})
		return
	case r.Method != http.MethodPost:
		writeErrors(w, http.StatusMethodNotAllowed, apiErr{"", "method not allowed"})
		return
	case r.Header.Get("Authorization") != "Bearer "+fakeKey:
		writeErrors(w, http.StatusUnauthorized, apiErr{"", unauthorizedMsg})
		return
	}
	if f.scripted(w) {
		return
	}
	m, errs := validateMail(r.Header, raw)
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	f.mu.Lock()
	f.accepted = append(f.accepted, fakeRequest{Header: r.Header.Clone(), Raw: raw, Mail: m})
	f.mu.Unlock()
	if sandboxed(m) {
		w.WriteHeader(http.StatusOK) // sandbox mode: validated, not queued
		return
	}
	w.Header().Set("X-Message-Id", fmt.Sprintf("fake-%d", len(f.requests())))
	w.WriteHeader(http.StatusAccepted)
}

// sandboxed reports whether m asks for sandbox mode.
func sandboxed(m fakeMail) bool {
	ms := m.MailSettings
	return ms != nil && ms.SandboxMode != nil && ms.SandboxMode.Enable != nil && *ms.SandboxMode.Enable
}

// scripted serves the next scripted reply, if any.
func (f *fakeSendGrid) scripted(w http.ResponseWriter) bool {
	f.mu.Lock()
	if len(f.script) == 0 {
		f.mu.Unlock()
		return false
	}
	r := f.script[0]
	f.script = f.script[1:]
	f.mu.Unlock()
	for k, v := range r.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(r.status)
	_, _ = io.WriteString(w, r.body)
	return true
}

// apiErr is one error of SendGrid's error body; an empty field is null.
type apiErr struct{ field, message string }

func writeErrors(w http.ResponseWriter, status int, errs ...apiErr) {
	type entry struct {
		Message string  `json:"message"`
		Field   *string `json:"field"`
		Help    *string `json:"help"`
	}
	var body struct {
		Errors []entry `json:"errors"`
	}
	for _, e := range errs {
		en := entry{Message: e.message}
		if e.field != "" {
			en.Field = &e.field
		}
		body.Errors = append(body.Errors, en)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// validateMail checks a request body as SendGrid's Mail Send does.
func validateMail(h http.Header, raw []byte) (fakeMail, []apiErr) {
	var m fakeMail
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt != "application/json" {
		return m, []apiErr{{"", "Content-Type should be application/json."}}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, []apiErr{{"", "Bad Request: " + err.Error()}}
	}
	var errs []apiErr
	if m.From == nil || m.From.Email == "" {
		errs = append(errs, apiErr{"from.email", "The from object must be provided for every email send. " +
			"It is an object that requires the email parameter, but may also contain a name parameter."})
	}
	errs = append(errs, validatePersonalizations(m)...)
	errs = append(errs, validateBody(m)...)
	return m, append(errs, validateCategories(m.Categories)...)
}

func validatePersonalizations(m fakeMail) []apiErr {
	if len(m.Personalizations) == 0 {
		return []apiErr{{"personalizations", "You must have at least one personalization."}}
	}
	var errs []apiErr
	for i, p := range m.Personalizations {
		if len(p.To) == 0 || p.To[0].Email == "" {
			errs = append(errs, apiErr{fmt.Sprintf("personalizations.%d.to", i),
				"The to parameter is required for all personalization objects."})
		}
	}
	return errs
}

func validateBody(m fakeMail) []apiErr {
	if m.TemplateID != "" {
		if !strings.HasPrefix(m.TemplateID, "d-") {
			return []apiErr{{"template_id", "The template_id must be a valid dynamic template id."}}
		}
		return nil
	}
	var errs []apiErr
	if m.Subject == "" && m.Personalizations != nil && m.Personalizations[0].Subject == "" {
		errs = append(errs, apiErr{"subject", "The subject is required. You can get around this requirement " +
			"if you use a template with a subject defined or if every personalization has a subject defined."})
	}
	if len(m.Content) == 0 {
		return append(errs, apiErr{"content", "Unless a valid template_id is provided, the content parameter is required."})
	}
	for i, c := range m.Content {
		if c.Value == "" {
			errs = append(errs, apiErr{fmt.Sprintf("content.%d.value", i),
				"The content value must be a string at least one character in length."})
		}
		if c.Type == "text/plain" && i > 0 {
			errs = append(errs, apiErr{"content", "If present, text/plain content must be first, " +
				"followed by text/html, followed by any other content."})
		}
	}
	return errs
}

func validateCategories(cats []string) []apiErr {
	if len(cats) > 10 {
		return []apiErr{{"categories", "Too many categories. The limit is 10."}}
	}
	for i, c := range cats {
		for _, r := range c {
			if r > 0x7e || r < 0x20 {
				return []apiErr{{fmt.Sprintf("categories.%d", i), "Categories must be ascii."}}
			}
		}
		if len(c) > 255 {
			return []apiErr{{fmt.Sprintf("categories.%d", i), "A category cannot be longer than 255 characters."}}
		}
	}
	return nil
}
