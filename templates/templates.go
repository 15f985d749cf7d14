// Package templates ships crmsync's built-in message templates and the small
// set of functions every template can call. The templates are embedded in
// the binary; users replace or add their own through a templates folder (see
// README.md).
package templates

import (
	"embed"
	htmltemplate "html/template"
	"math"
	"strconv"
	"strings"
	"text/template"

	"github.com/crmsync/crmsync/model"
)

// FS holds the built-in templates under "email/": <name>.txt.tmpl defines
// "subject" and "text", <name>.html.tmpl defines "html".
//
//go:embed email/*.tmpl
var FS embed.FS

// Funcs returns the functions available to every message template: money,
// firstName and percent. Both text/template and html/template accept the
// returned map.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"money":           Money,
		"firstName":       FirstName,
		"percent":         Percent,
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

// Money formats an amount rounded to the unit with comma thousands
// separators: 12345.6 gives "12,346", -1500 gives "-1,500".
func Money(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	n := int64(math.Round(v))
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	digits := strconv.FormatInt(n, 10)
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
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

// Percent formats a revenue trend (a ratio to the previous period) as a
// signed change: 0.4 gives "-60%", 1.25 gives "+25%", 1 gives "+0%".
func Percent(trend float64) string {
	if math.IsNaN(trend) || math.IsInf(trend, 0) {
		return "n/a"
	}
	p := int64(math.Round((trend - 1) * 100))
	if p >= 0 {
		return "+" + strconv.FormatInt(p, 10) + "%"
	}
	return strconv.FormatInt(p, 10) + "%"
}
