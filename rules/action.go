package rules

import (
	"github.com/crmsync/crmsync/internal/yamlnode"
	"io"
	"regexp"

	"gopkg.in/yaml.v3"
)

// channelRe is what a Slack channel may look like: a #name or a channel id.
var channelRe = regexp.MustCompile(`^(#[a-z0-9_-]+|[CG][A-Z0-9]+)$`)

// actions decodes a rule's list of actions.
func (d *decoder) actions(n *yaml.Node, path, rule string) []Action {
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, "%s: must be a list", path)
		return nil
	}
	var out []Action
	for i, item := range n.Content {
		if a, ok := d.action(yamlnode.Resolve(item), yamlnode.Index(path, i), rule); ok {
			out = append(out, a)
		}
	}
	return out
}

// action decodes one action, which has exactly one of email and slack.
func (d *decoder) action(n *yaml.Node, path, rule string) (Action, bool) {
	m := d.mapping(n, path, "email", "slack")
	if m == nil {
		return Action{}, false
	}
	if len(m) != 1 {
		if len(m) == 0 && len(n.Content) > 0 {
			return Action{}, false // only unknown keys, already reported
		}
		d.fail(n, "%s: must have exactly one of email or slack", path)
		return Action{}, false
	}
	if e, ok := m["email"]; ok {
		return Action{Email: d.email(e.Val, path+".email")}, true
	}
	e := m["slack"]
	return Action{Slack: d.slack(e.Val, path+".slack", rule)}, true
}

// email decodes an email action.
func (d *decoder) email(n *yaml.Node, path string) *EmailAction {
	a := &EmailAction{To: EmailToPrimaryContact}
	m := d.mapping(n, path, "to", "template")
	if m == nil {
		return a
	}
	if e, ok := m["to"]; ok {
		a.To = d.oneOf(e.Val, path+".to", EmailToPrimaryContact, EmailToPrimaryContact, EmailToAllContacts)
	}
	e, ok := m["template"]
	if !ok || yamlnode.IsNull(e.Val) {
		d.fail(n, "%s: missing template", path)
		return a
	}
	if s, ok := d.str(e.Val, path+".template"); ok {
		if !templateNameRe.MatchString(s) {
			d.fail(e.Val, "%s.template: %q is not a template name", path, s)
		}
		a.Template = s
	}
	return a
}

// slack decodes a Slack action and checks its text against sample data.
func (d *decoder) slack(n *yaml.Node, path, rule string) *SlackAction {
	a := &SlackAction{To: SlackToOwner}
	m := d.mapping(n, path, "to", "channel", "text", "digest")
	if m == nil {
		return a
	}
	if e, ok := m["to"]; ok {
		if s, ok := d.str(e.Val, path+".to"); ok && s != SlackToOwner && s != "" {
			d.fail(e.Val, "%s.to: %q is not one of \"owner\", \"\" (channel only)", path, s)
		} else {
			a.To = s
		}
	}
	if e, ok := m["channel"]; ok {
		if s, ok := d.str(e.Val, path+".channel"); ok && !channelRe.MatchString(s) {
			d.fail(e.Val, "%s.channel: %q is not a channel (want e.g. \"#key-accounts\")", path, s)
		} else {
			a.Channel = s
		}
	}
	if a.To == "" && a.Channel == "" {
		d.fail(n, "%s: no recipient: set to: owner or a channel", path)
	}
	if e, ok := m["text"]; ok {
		d.slackText(a, e.Val, path+".text", rule)
	}
	if e, ok := m["digest"]; ok {
		a.Digest = d.boolean(e.Val, path+".digest")
	}
	return a
}

// slackText parses the text template of a and executes it against sample
// data, so that syntax errors and unknown fields fail at load.
func (d *decoder) slackText(a *SlackAction, n *yaml.Node, path, rule string) {
	text, ok := d.str(n, path)
	if !ok || text == "" {
		return
	}
	t, err := parseSlackText(rule, text)
	if err == nil {
		a.Text, a.tmpl = text, t
		err = t.Execute(io.Discard, sampleData())
	}
	if err != nil {
		line, col, msg := templateErrPos(err)
		d.errs = append(d.errs, d.src.inside(n, line, col, true, "%s: %s", path, msg))
	}
}
