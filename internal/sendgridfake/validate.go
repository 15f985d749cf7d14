package sendgridfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// Mail is the v3 mail body as the Server decodes it, independently of
// sendgrid-go's helpers, with the fields crmsync may send. Any other field
// is refused, as a typo would be.
type Mail struct {
	From             *Email            `json:"from"`
	ReplyTo          *Email            `json:"reply_to"`
	Subject          string            `json:"subject"`
	Personalizations []Personalization `json:"personalizations"`
	Content          []Content         `json:"content"`
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

// Email is an address with an optional display name.
type Email struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Personalization is one entry of Mail.Personalizations.
type Personalization struct {
	To                  []Email        `json:"to"`
	Subject             string         `json:"subject"`
	DynamicTemplateData map[string]any `json:"dynamic_template_data"`
}

// Content is one entry of Mail.Content.
type Content struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// sandboxed reports whether m asks for sandbox mode.
func sandboxed(m Mail) bool {
	ms := m.MailSettings
	return ms != nil && ms.SandboxMode != nil && ms.SandboxMode.Enable != nil && *ms.SandboxMode.Enable
}

// apiErr is one error of SendGrid's error body; an empty field is null.
type apiErr struct{ field, message string }

// writeErrors answers status with SendGrid's error body listing errs.
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
func validateMail(h http.Header, raw []byte) (Mail, []apiErr) {
	var m Mail
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

func validatePersonalizations(m Mail) []apiErr {
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

func validateBody(m Mail) []apiErr {
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
