package rules

import (
	"github.com/crmsync/crmsync/internal/yamlnode"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/config"
)

// ruleKeys are the keys a rule may have.
var ruleKeys = []string{"name", "description", "title", "when", "severity", "labels", "cooldown", "for", "activation", "inhibits", "actions", "on_resolve", "holdout", "outcome_window"}

// templateNameRe is what an email template name may be made of: a name,
// never a path.
var templateNameRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// rule decodes the rule in mapping n; it returns nil when n is not a mapping.
func (d *decoder) rule(n *yaml.Node, path string) *ruleDef {
	m := d.mapping(n, path, ruleKeys...)
	if m == nil {
		return nil
	}
	r := &Rule{File: d.src.name, Line: n.Line, Severity: SeverityInfo, Cooldown: DefaultCooldown, Activation: ActivationImmediate, OutcomeWindow: DefaultOutcomeWindow}
	def := &ruleDef{rule: r, path: path, name: n}
	d.ruleName(def, m)
	d.ruleWhen(def, m)
	if e, ok := m["description"]; ok {
		r.Description, _ = d.str(e.Val, path+".description")
	}
	if e, ok := m["title"]; ok {
		d.title(r, e.Val, path+".title")
	}
	if e, ok := m["activation"]; ok {
		r.Activation = d.oneOf(e.Val, path+".activation", ActivationImmediate, ActivationImmediate, ActivationBaseline)
	}
	if e, ok := m["severity"]; ok {
		r.Severity = d.oneOf(e.Val, path+".severity", SeverityInfo, SeverityInfo, SeverityWarning, SeverityCritical)
	}
	if e, ok := m["labels"]; ok {
		r.Labels = d.strMap(e.Val, path+".labels")
	}
	if e, ok := m["cooldown"]; ok {
		r.Cooldown = d.cooldown(e.Val, path+".cooldown")
	}
	if e, ok := m["for"]; ok {
		r.For = d.forDuration(e.Val, path+".for")
	}
	if e, ok := m["holdout"]; ok {
		r.Holdout = d.holdout(e.Val, path+".holdout")
	}
	if e, ok := m["outcome_window"]; ok {
		r.OutcomeWindow = d.positive(e.Val, path+".outcome_window", DefaultOutcomeWindow)
	}
	if e, ok := m["on_resolve"]; ok {
		r.OnResolve = d.onResolve(e.Val, path+".on_resolve", r.Name)
	}
	if e, ok := m["inhibits"]; ok {
		r.Inhibits, def.inhibits = d.strList(e.Val, path+".inhibits")
	}
	if e, ok := m["actions"]; ok {
		r.Actions = d.actions(e.Val, path+".actions", r.Name)
	}
	return def
}

// ruleName sets the rule's name, which is required.
func (d *decoder) ruleName(def *ruleDef, m map[string]entry) {
	e, ok := m["name"]
	if !ok || yamlnode.IsNull(e.Val) {
		d.fail(def.name, "%s: missing name", def.path)
		return
	}
	def.name = e.Val
	name, ok := d.str(e.Val, def.path+".name")
	if !ok {
		return
	}
	if !ruleNameRe.MatchString(name) {
		d.fail(e.Val, "%s.name: %q: use only a-z, 0-9, - and _", def.path, name)
		return
	}
	def.rule.Name = name
}

// ruleWhen compiles the rule's expression, which is required.
func (d *decoder) ruleWhen(def *ruleDef, m map[string]entry) {
	e, ok := m["when"]
	if !ok || yamlnode.IsNull(e.Val) {
		d.fail(def.name, "%s: missing when", def.path)
		return
	}
	when, ok := d.str(e.Val, def.path+".when")
	if !ok {
		return
	}
	def.rule.When = when
	prog, err := compileWhen(d.src, def.path+".when", e.Val)
	if err != nil {
		d.errs = append(d.errs, err)
		return
	}
	def.rule.program = prog
}

// oneOf returns the string in n, which must be one of allowed; def when n
// is null.
func (d *decoder) oneOf(n *yaml.Node, path, def string, allowed ...string) string {
	s, ok := d.str(n, path)
	switch {
	case !ok:
		return def
	case yamlnode.IsNull(n):
		return def
	case !contains(allowed, s):
		d.fail(n, "%s: %q is not one of %s", path, s, yamlnode.QuoteList(allowed))
		return def
	}
	return s
}

// forDuration parses a rule's for: a duration of 0 or more.
func (d *decoder) forDuration(n *yaml.Node, path string) time.Duration {
	s, ok := d.str(n, path)
	if !ok {
		return 0
	}
	v, err := config.ParseDuration(s)
	if err != nil {
		d.fail(n, "%s: %v", path, err)
		return 0
	}
	return v
}

// onResolve decodes a rule's on_resolve: a Slack note sent when the flag
// stops holding.
func (d *decoder) onResolve(n *yaml.Node, path, rule string) *SlackAction {
	m := d.mapping(n, path, "slack")
	if m == nil {
		return nil
	}
	e, ok := m["slack"]
	if !ok {
		d.fail(n, "%s: missing slack", path)
		return nil
	}
	return d.slack(e.Val, path+".slack", rule)
}

// cooldown parses a positive duration such as 30d, 2w or 12h.
func (d *decoder) cooldown(n *yaml.Node, path string) time.Duration {
	return d.positive(n, path, DefaultCooldown)
}

// positive parses a positive duration such as 30d, 2w or 12h; def when
// it is not one.
func (d *decoder) positive(n *yaml.Node, path string, def time.Duration) time.Duration {
	s, ok := d.str(n, path)
	if !ok {
		return def
	}
	v, err := config.ParseDuration(s)
	switch {
	case err != nil:
		d.fail(n, "%s: %v", path, err)
		return def
	case v <= 0:
		d.fail(n, "%s: must be positive", path)
		return def
	}
	return v
}

// MaxHoldout is the largest holdout share a rule may set: beyond it the
// rule would mostly not act.
const MaxHoldout = 0.5

// holdout parses a rule's holdout share, "10%": more than 0, at most
// MaxHoldout.
func (d *decoder) holdout(n *yaml.Node, path string) float64 {
	s, ok := d.str(n, path)
	if !ok {
		return 0
	}
	v, ok := config.ParseShare(s)
	if !ok || v <= 0 || v > MaxHoldout {
		d.fail(n, "%s: want a share of flagged accounts from 0.1%% to %g%%, such as \"10%%\", got %q", path, MaxHoldout*100, s)
		return 0
	}
	return v
}
