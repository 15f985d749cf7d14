// Package email renders the emails crmsync sends to clients from the
// built-in templates (package templates) and the user's own. Rendering is
// kept apart from delivery: Render fills the Subject, Text and HTML of a
// notify.Message, which any sender (the outbox, SendGrid) then delivers.
package email

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"maps"
	"slices"
	"strings"
	texttemplate "text/template"

	"github.com/crmsync/crmsync/notify"
)

// ErrUnknownTemplate is returned for a template name that was not loaded.
var ErrUnknownTemplate = errors.New("unknown email template")

// Renderer renders email templates. It is safe for concurrent use.
type Renderer struct {
	tmpls map[string]*tmpl
}

// tmpl is one parsed template: its text part and optional HTML part.
type tmpl struct {
	txtPath  string
	htmlPath string
	text     *texttemplate.Template
	html     *htmltemplate.Template // nil: text-only email
}

// NewRenderer loads the built-in templates, then those of overrides (nil
// for none): a name found in overrides/email replaces the built-in one as a
// whole, a new name adds a template. Every file is parsed now; the error of
// a bad template names its file.
func NewRenderer(overrides fs.FS) (*Renderer, error) {
	sets, err := collect(overrides)
	if err != nil {
		return nil, err
	}
	r := &Renderer{tmpls: make(map[string]*tmpl, len(sets))}
	for name, s := range sets {
		t, err := s.parse()
		if err != nil {
			return nil, err
		}
		r.tmpls[name] = t
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

// Render executes template name against d. The subject is returned on one
// line (CR, LF and runs of white space become one space); html is "" for a
// text-only template.
func (r *Renderer) Render(name string, d notify.Data) (subject, text, html string, err error) {
	t, ok := r.tmpls[name]
	if !ok {
		return "", "", "", fmt.Errorf("render %q: %w", name, ErrUnknownTemplate)
	}
	if subject, err = execText(t.text, "subject", d); err != nil {
		return "", "", "", fmt.Errorf("render %s: %w", t.txtPath, err)
	}
	if subject = oneLine(subject); subject == "" {
		return "", "", "", fmt.Errorf("render %s: empty subject", t.txtPath)
	}
	if text, err = execText(t.text, "text", d); err != nil {
		return "", "", "", fmt.Errorf("render %s: %w", t.txtPath, err)
	}
	if t.html == nil {
		return subject, text, "", nil
	}
	var b bytes.Buffer
	if err := t.html.ExecuteTemplate(&b, "html", d); err != nil {
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
// (header injection) and the indentation a template may leave.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
