package sendgrid

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
)

// Limits SendGrid puts on the fields this package fills.
const (
	maxCategory  = 255 // characters of one category (ASCII)
	baseCategory = "crmsync"
)

// Keys of the custom_args echoed back in every event webhook call.
const (
	ArgRule      = "crmsync_rule"
	ArgAccount   = "crmsync_account"
	ArgLedgerKey = "crmsync_ledger_key"
)

// buildBody returns the JSON body of the Mail Send request for m. Its
// errors are the message's fault: retrying cannot fix them.
func (s *Sender) buildBody(m *notify.Message) ([]byte, error) {
	if m == nil {
		return nil, errors.New("nil message")
	}
	v3, err := s.buildMail(m)
	if err != nil {
		return nil, err
	}
	// json.Marshal rather than mail.GetRequestBody, which logs and drops
	// marshal errors (template data that is not JSON).
	body, err := json.Marshal(v3)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return body, nil
}

// buildMail maps m onto SendGrid's v3 mail object: one personalization,
// either a dynamic template or a subject with text and HTML content.
func (s *Sender) buildMail(m *notify.Message) (*sgmail.SGMailV3, error) {
	from, err := s.from(m)
	if err != nil {
		return nil, err
	}
	if err := checkAddress(m.To); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	v3 := sgmail.NewV3Mail()
	v3.SetFrom(from)
	if m.ReplyTo != "" {
		if err := checkAddress(m.ReplyTo); err != nil {
			return nil, fmt.Errorf("reply-to: %w", err)
		}
		v3.SetReplyTo(&sgmail.Email{Address: m.ReplyTo})
	}
	p := sgmail.NewPersonalization()
	p.AddTos(&sgmail.Email{Name: oneLine(m.ToName), Address: m.To})
	v3.AddPersonalizations(p)
	if err := setBody(v3, p, m); err != nil {
		return nil, err
	}
	v3.AddCategories(categories(m.Rule)...)
	setCustomArgs(v3, m)
	s.setSettings(v3)
	return v3, nil
}

// from is the sender: m.From when set, else the configured address.
func (s *Sender) from(m *notify.Message) (*sgmail.Email, error) {
	if m.From == "" {
		return &sgmail.Email{Name: oneLine(s.cfg.FromName), Address: s.cfg.FromEmail}, nil
	}
	if err := checkAddress(m.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	return &sgmail.Email{Name: oneLine(s.cfg.FromName), Address: m.From}, nil
}

// setBody sets the dynamic template of m, or else its subject and content
// with text/plain first, as SendGrid requires.
func setBody(v3 *sgmail.SGMailV3, p *sgmail.Personalization, m *notify.Message) error {
	if m.TemplateID != "" {
		if !strings.HasPrefix(m.TemplateID, "d-") {
			return fmt.Errorf("template id %q is not a dynamic template id (d-...)", m.TemplateID)
		}
		v3.SetTemplateID(m.TemplateID)
		p.DynamicTemplateData = m.TemplateData
		return nil
	}
	v3.Subject = oneLine(m.Subject)
	if v3.Subject == "" {
		return errors.New("empty subject")
	}
	if m.Text == "" && m.HTML == "" {
		return errors.New("empty body: no text, html or template")
	}
	if m.Text != "" {
		v3.AddContent(sgmail.NewContent("text/plain", m.Text))
	}
	if m.HTML != "" {
		v3.AddContent(sgmail.NewContent("text/html", m.HTML))
	}
	return nil
}

// setCustomArgs tags the email with its rule, account and ledger key, so
// that webhook events can be joined back to the ledger. Empty values are
// left out.
func setCustomArgs(v3 *sgmail.SGMailV3, m *notify.Message) {
	for _, a := range [...]struct{ key, value string }{
		{ArgRule, m.Rule}, {ArgAccount, m.AccountID}, {ArgLedgerKey, m.LedgerKey},
	} {
		if a.value != "" {
			v3.SetCustomArg(a.key, a.value)
		}
	}
}

// setSettings adds the unsubscribe group and sandbox mode when configured.
func (s *Sender) setSettings(v3 *sgmail.SGMailV3) {
	if s.cfg.UnsubscribeGroupID != 0 {
		v3.SetASM(sgmail.NewASM().SetGroupID(s.cfg.UnsubscribeGroupID))
	}
	if s.cfg.Sandbox {
		v3.SetMailSettings(sgmail.NewMailSettings().SetSandboxMode(sgmail.NewSetting(true)))
	}
}

// categories returns "crmsync" and the rule name as a category SendGrid
// accepts: printable ASCII (others become '_'), at most 255 characters.
func categories(rule string) []string {
	c := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, rule)
	if len(c) > maxCategory {
		c = c[:maxCategory]
	}
	if c == "" || c == baseCategory {
		return []string{baseCategory}
	}
	return []string{baseCategory, c}
}

// checkAddress accepts a bare address SendGrid takes ("ann@example.com"):
// no display name, no angle brackets, nothing around it, and a domain with
// a dot and a real top-level domain (model.ValidEmail), so that an address
// such as name@mail fails here rather than as a 400 from SendGrid.
func checkAddress(addr string) error {
	if addr == "" {
		return errors.New("empty email address")
	}
	if !model.ValidEmail(addr) {
		return fmt.Errorf("invalid email address %q", addr)
	}
	return nil
}

// oneLine turns every run of whitespace and control characters of s into
// one space, so a CRM value cannot carry line breaks into a header.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, isSpaceOrControl), " ")
}

// isSpaceOrControl reports whether r is whitespace or a control character.
func isSpaceOrControl(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r)
}
