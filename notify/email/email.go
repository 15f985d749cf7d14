// Package email renders the emails crmsync sends to clients from the
// built-in templates (package templates) and the user's own, in the
// reader's language. Rendering is kept apart from delivery: Render fills
// the Subject, Text and HTML of a notify.Message, which any sender (the
// outbox, SendGrid) then delivers.
package email

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"maps"
	"slices"
	"strings"
	texttemplate "text/template"
	"unicode"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/locale"
	"github.com/crmsync/crmsync/templates"
)

// ErrUnknownTemplate is returned for a template name that was not loaded.
var ErrUnknownTemplate = errors.New("unknown email template")

// Renderer renders email templates. It is safe for concurrent use.
type Renderer struct {
	tmpls map[string]*variants
}

// variants are the languages of one template.
type variants struct {
	def         *tmpl            // the unsuffixed files
	defaultLang string           // their language; "": the configured locale's
	byLang      map[string]*tmpl // translations: "fr" → NAME.fr.*
}

// tmpl is one parsed template: its text part and optional HTML part,
// never executed (see Render).
type tmpl struct {
	txtPath  string
	htmlPath string
	text     *texttemplate.Template
	html     *htmltemplate.Template // nil: text-only email
}

// NewRenderer loads the built-in templates, then those of overrides (nil
// for none): a name found in overrides/email replaces the built-in one as a
// whole, a new name adds a template, NAME.LANG.* adds or replaces one
// language (see templates/README.md). Every file is parsed now; the error
// of a bad template names its file.
func NewRenderer(overrides fs.FS) (*Renderer, error) {
	sets, err := collect(overrides)
	if err != nil {
		return nil, err
	}
	r := &Renderer{tmpls: make(map[string]*variants, len(sets))}
	for name, c := range sets {
		v := &variants{defaultLang: c.defaultLang, byLang: map[string]*tmpl{}}
		for lang, s := range c.langs {
			t, err := s.parse()
			if err != nil {
				return nil, err
			}
			if lang == "" {
				v.def = t
			} else {
				v.byLang[lang] = t
			}
		}
		r.tmpls[name] = v
	}
	return r, nil
}

// Names returns the names of the loaded templates, sorted.
func (r *Renderer) Names() []string {
	return slices.Sorted(maps.Keys(r.tmpls))
}

// Has reports whether a template called name is loaded.
func (r *Renderer) Has(name string) bool {
	_, ok := r.tmpls[name]
	return ok
}

// Languages returns the languages template name has its own files for,
// sorted: "" for the default files, then the translations ("fr").
func (r *Renderer) Languages(name string) []string {
	v, ok := r.tmpls[name]
	if !ok {
		return nil
	}
	return append([]string{""}, slices.Sorted(maps.Keys(v.byLang))...)
}

// Render executes template name against d, in the reader's language: the
// contact's (d.Contact.Language), else the account's, else d.Locale (the
// configured one), the first that the template exists in; else the
// template's default files. d.Locale is set to the language chosen, so
// the functions (money, percent, date, days) format for it. The subject
// is returned on one line (CR, LF and runs of white space become one
// space); html is "" for a text-only template.
func (r *Renderer) Render(name string, d notify.Data) (subject, text, html string, err error) {
	v, ok := r.tmpls[name]
	if !ok {
		return "", "", "", fmt.Errorf("render %q: %w", name, ErrUnknownTemplate)
	}
	t, lang := v.pick(d)
	d.Locale = lang
	return t.render(d)
}

// pick returns the template to write to the reader of d in, and its
// language.
func (v *variants) pick(d notify.Data) (*tmpl, string) {
	var wanted []string
	if d.Contact != nil {
		wanted = append(wanted, d.Contact.Language)
	}
	wanted = append(wanted, d.Account.Language)
	for _, w := range wanted {
		if t, lang, ok := v.in(locale.Base(w)); ok {
			return t, lang
		}
	}
	configured := cmp.Or(locale.Base(d.Locale), locale.Default)
	if t, lang, ok := v.in(configured); ok {
		return t, lang
	}
	return v.def, cmp.Or(v.defaultLang, configured)
}

// in returns the template in lang, if there is one: a translation, or the
// default files when they are known to be in lang.
func (v *variants) in(lang string) (*tmpl, string, bool) {
	if lang == "" {
		return nil, "", false
	}
	if t, ok := v.byLang[lang]; ok {
		return t, lang, true
	}
	if lang == v.defaultLang {
		return v.def, lang, true
	}
	return nil, "", false
}

// render executes t against d on clones bound to d's language and
// currency: html/template cannot take new functions once executed.
func (t *tmpl) render(d notify.Data) (subject, text, html string, err error) {
	funcs := templates.FuncsFor(d.Locale, d.Currency)
	txt, err := t.text.Clone()
	if err != nil {
		return "", "", "", fmt.Errorf("render %s: %w", t.txtPath, err)
	}
	txt.Funcs(funcs)
	if subject, err = execText(txt, "subject", d); err != nil {
		return "", "", "", fmt.Errorf("render %s: %w", t.txtPath, err)
	}
	if subject = oneLine(subject); subject == "" {
		return "", "", "", fmt.Errorf("render %s: empty subject", t.txtPath)
	}
	if text, err = execText(txt, "text", d); err != nil {
		return "", "", "", fmt.Errorf("render %s: %w", t.txtPath, err)
	}
	if t.html == nil {
		return subject, text, "", nil
	}
	h, err := t.html.Clone()
	if err != nil {
		return "", "", "", fmt.Errorf("render %s: %w", t.htmlPath, err)
	}
	var b bytes.Buffer
	if err := h.Funcs(funcs).ExecuteTemplate(&b, "html", d); err != nil {
		return "", "", "", fmt.Errorf("render %s: %w", t.htmlPath, err)
	}
	return subject, text, b.String(), nil
}

// execText executes the template called name of t.
func execText(t *texttemplate.Template, name string, d notify.Data) (string, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// oneLine joins the words of s with single spaces, which removes CR and LF
// (header injection) and the indentation a template may leave. No-break
// spaces are kept: French typography puts them before ":" and "?".
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) && r != '\u00a0' && r != '\u202f'
	}), " ")
}
