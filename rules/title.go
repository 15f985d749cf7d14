package rules

import (
	"fmt"
	"io"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/notify"
)

// title parses a rule's title, a plain-text template, and executes it
// against sample data so that errors fail at load.
func (d *decoder) title(r *Rule, n *yaml.Node, path string) {
	text, ok := d.str(n, path)
	if !ok || strings.TrimSpace(text) == "" {
		return
	}
	t, err := template.New(path).Option("missingkey=zero").Parse(text)
	if err == nil {
		err = t.Execute(io.Discard, sampleData())
	}
	if err != nil {
		line, col, msg := templateErrPos(err)
		d.errs = append(d.errs, d.src.inside(n, line, col, true, "%s: %s", path, msg))
		return
	}
	r.Title, r.title = text, t
}

// RenderTitle returns the headline of the rule's messages about d, as
// plain text (channels escape it as they need): the rendered title, else
// the description, else "".
func (r *Rule) RenderTitle(d notify.Data) (string, error) {
	if r.title == nil {
		return strings.TrimSpace(r.Description), nil
	}
	var b strings.Builder
	if err := r.title.Execute(&b, d); err != nil {
		return "", fmt.Errorf("rule %s: render title: %w", r.Name, err)
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}
