// Package templates ships crmsync's built-in message templates and the small
// set of functions every template can call. The templates are embedded in
// the binary; users replace or add their own through a templates folder (see
// README.md).
package templates

import (
	"embed"
	"errors"
	htmltemplate "html/template"
	"strings"
	"text/template"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify/locale"
)

// FS holds the built-in templates under "email/": <name>.txt.tmpl defines
// "subject" and "text", <name>.html.tmpl defines "html".
//
//go:embed email/*.tmpl
var FS embed.FS

// Funcs returns the functions available to every message template, in
// English and without a currency: money, percent, date, days, firstName,
// unsubscribeURL and unsubscribeLink. Both text/template and html/template
// accept the returned map. Renderers bind them to a message's language and
// currency with FuncsFor.
func Funcs() template.FuncMap {
	return FuncsFor(locale.Default, "")
}

// FuncsFor returns Funcs formatting for the language lang ("en", "fr"; an
// unknown one formats as English) and amounts in currency (ISO 4217, ""
// for none):
//
//	{{money .Revenue12m}}          "€12,346" (en, EUR), "12 346 €" (fr, EUR)
//	{{money .Revenue12m "USD"}}    the amount in another currency
//	{{percent .RevenueTrend}}      "-60%" (en), "-60 %" (fr)
//	{{date .Now}}                  "Nov 3, 2026" (en), "3 nov. 2026" (fr)
//	{{days .DaysInactive}}         "97 days" (en), "97 jours" (fr)
func FuncsFor(lang, currency string) template.FuncMap {
	l := locale.For(lang)
	return template.FuncMap{
		"money": func(v float64, code ...string) (string, error) {
			switch len(code) {
			case 0:
				return l.Money(v, currency), nil
			case 1:
				return l.Money(v, code[0]), nil
			}
			return "", errors.New("money: want an amount and at most one currency code")
		},
		"percent":         l.Percent,
		"date":            l.Date,
		"days":            l.Days,
		"firstName":       FirstName,
		"unsubscribeURL":  UnsubscribeURL,
		"unsubscribeLink": UnsubscribeLink,
	}
}

// UnsubscribeTag is SendGrid's substitution tag for the recipient's
// unsubscribe link of the email's unsubscribe group.
const UnsubscribeTag = "<%asm_group_unsubscribe_raw_url%>"

// UnsubscribeURL returns UnsubscribeTag, for text templates.
func UnsubscribeURL() string { return UnsubscribeTag }

// UnsubscribeLink returns a link to UnsubscribeTag showing text, for HTML
// templates: html/template would percent-encode the tag inside an href
// (even as a template.URL) and SendGrid would not find it, so the anchor
// is built here, with text escaped.
func UnsubscribeLink(text string) htmltemplate.HTML {
	return htmltemplate.HTML(`<a href="` + UnsubscribeTag + `" style="color: #888888;">` + htmltemplate.HTMLEscapeString(text) + `</a>`)
}

// FirstName returns the contact's trimmed first name, or "" when the
// contact is nil or has none, so templates can write
// {{with firstName .Contact}}Hi {{.}}{{else}}Hello{{end}}.
func FirstName(c *model.Contact) string {
	if c == nil {
		return ""
	}
	return strings.TrimSpace(c.FirstName)
}
