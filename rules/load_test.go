package rules

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "with an unknown key",
			yaml: `
rules:
  - name: a
    when: days_inactive > 1
    cooldwn: 30d
`,
			want: []string{`r.yaml:5:5: rules[0].cooldwn: unknown key (did you mean "cooldown"?)`},
		},
		{
			name: "with an unknown top-level key",
			yaml: "rule:\n  - name: a\n",
			want: []string{`r.yaml:1:1: rule: unknown key (did you mean "rules"?)`},
		},
		{
			name: "with an unknown variable in a plain scalar",
			yaml: `
rules:
  - name: a
    when: account.lifecycle == "customer" && days_inactiv >= 90
`,
			want: []string{`r.yaml:4:46: rules[0].when: unknown name days_inactiv (did you mean days_inactive?)`},
		},
		{
			name: "with an unknown variable in a double-quoted scalar",
			yaml: `
rules:
  - name: a
    when: "account.lifecycle == \"customer\" && days_inactiv >= 90"
`,
			want: []string{`r.yaml:4:49: rules[0].when: unknown name days_inactiv (did you mean days_inactive?)`},
		},
		{
			name: "with an unknown variable in a single-quoted scalar",
			yaml: `
rules:
  - name: a
    when: 'account.lifecycle == ''customer'' && days_inactiv >= 90'
`,
			want: []string{`r.yaml:4:49: rules[0].when: unknown name days_inactiv (did you mean days_inactive?)`},
		},
		{
			name: "with an unknown field in a literal block",
			yaml: `
rules:
  - name: a
    when: |
      account.lifecycle == "customer" &&
        account.lifecyle != "x"
`,
			want: []string{`r.yaml:6:17: rules[0].when: account has no field lifecyle (did you mean lifecycle?)`},
		},
		{
			name: "with an unknown variable in a folded block",
			yaml: `
rules:
  - name: a
    when: >-
      account.lifecycle == "customer"
      && days_inactiv >= 90
`,
			want: []string{`r.yaml:6:10: rules[0].when: unknown name days_inactiv (did you mean days_inactive?)`},
		},
		{
			name: "with a string compared to an RFM score",
			yaml: `
rules:
  - name: a
    when: rfm.r == "5"
`,
			want: []string{`r.yaml:4:17: rules[0].when: invalid operation: == (mismatched types int and string)`},
		},
		{
			name: "with pareto_top compared to a number",
			yaml: `
rules:
  - name: a
    when: pareto_top > 0 && pmg == "large"
`,
			want: []string{`r.yaml:4:22: rules[0].when: invalid operation: > (mismatched types bool and int)`},
		},
		{
			name: "with pmg compared to a number",
			yaml: `
rules:
  - name: a
    when: pmg >= 10000
`,
			want: []string{`r.yaml:4:15: rules[0].when: invalid operation: >= (mismatched types string and int)`},
		},
		{
			name: "with rfm used as a string",
			yaml: `
rules:
  - name: a
    when: rfm == "champions"
`,
			want: []string{`r.yaml:4:15: rules[0].when: invalid operation: == (mismatched types rfm and string)`},
		},
		{
			name: "with an unknown RFM field",
			yaml: `
rules:
  - name: a
    when: rfm.segmnt == "lost"
`,
			want: []string{`r.yaml:4:15: rules[0].when: rfm has no field segmnt (did you mean segment?)`},
		},
		{
			name: "with a misspelt new name",
			yaml: `
rules:
  - name: a
    when: paretotop || purchases_12 > 3
`,
			want: []string{`r.yaml:4:11: rules[0].when: unknown name paretotop (did you mean pareto_top?)`},
		},
		{
			name: "with a type mismatch",
			yaml: `
rules:
  - name: a
    when: days_inactive >= "90"
`,
			want: []string{`r.yaml:4:25: rules[0].when: invalid operation: >= (mismatched types int and string)`},
		},
		{
			name: "with a syntax error at the end of the expression",
			yaml: `
rules:
  - name: a
    when: "days_inactive >="
`,
			want: []string{`r.yaml:4:27: rules[0].when: unexpected token EOF`},
		},
		{
			name: "with a non-boolean expression",
			yaml: `
rules:
  - name: a
    when: days_inactive
`,
			want: []string{`r.yaml:4:11: rules[0].when: expected bool, but got int`},
		},
		{
			name: "with duplicate names",
			yaml: `
rules:
  - name: a
    when: "true"
  - name: a
    when: "false"
`,
			want: []string{`r.yaml:5:11: rules[1].name: duplicate rule name "a" (first defined at r.yaml:3:11)`},
		},
		{
			name: "with inhibits naming an unknown rule and itself",
			yaml: `
rules:
  - name: inactive-90-days
    when: "true"
  - name: b
    when: "true"
    inhibits: [inactive-90-day, b]
`,
			want: []string{
				`r.yaml:7:16: rules[1].inhibits[0]: unknown rule "inactive-90-day" (did you mean "inactive-90-days"?)`,
				`r.yaml:7:33: rules[1].inhibits[1]: a rule cannot inhibit itself`,
			},
		},
		{
			name: "with an unknown template field",
			yaml: `
rules:
  - name: a
    when: "true"
    actions:
      - slack: {to: owner, text: "Call {{ .Account.Nam }} now"}
`,
			want: []string{`r.yaml:6:51: rules[0].actions[0].slack.text: at <.Account.Nam>: can't evaluate field Nam in type model.Account`},
		},
		{
			name: "with a template syntax error on its second line",
			yaml: `
rules:
  - name: a
    when: "true"
    actions:
      - slack:
          text: |
            Hello
            {{ .Account.Name }
`,
			want: []string{`r.yaml:9:13: rules[0].actions[0].slack.text: unexpected "}" in operand`},
		},
		{
			name: "with a bad cooldown",
			yaml: `
rules:
  - name: a
    when: "true"
    cooldown: 30x
`,
			want: []string{`r.yaml:5:15: rules[0].cooldown: invalid duration "30x" (want e.g. 30d, 2w, 12h, 90m)`},
		},
		{
			name: "with a bad activation and a title that does not parse",
			yaml: "rules:\n  - name: a\n    when: \"true\"\n    activation: later\n    title: \"Upsell {{ .Account.Nam }}\"\n",
			want: []string{
				`r.yaml:4:17: rules[0].activation: "later" is not one of "immediate", "baseline"`,
				`r.yaml:5:31: rules[0].title: at <.Account.Nam>: can't evaluate field Nam in type model.Account`,
			},
		},
		{
			name: "with a zero cooldown",
			yaml: "rules:\n  - name: a\n    when: \"true\"\n    cooldown: 0s\n",
			want: []string{`r.yaml:4:15: rules[0].cooldown: must be positive`},
		},
		{
			name: "with three different errors in one file",
			yaml: `
rules:
  - name: a
    when: days_inactiv > 1
    severity: urgent
  - name: b
    when: "true"
    actions:
      - email: {to: primary_contact}
`,
			want: []string{
				`r.yaml:4:11: rules[0].when: unknown name days_inactiv (did you mean days_inactive?)`,
				`r.yaml:5:15: rules[0].severity: "urgent" is not one of "info", "warning", "critical"`,
				`r.yaml:9:16: rules[1].actions[0].email: missing template`,
			},
		},
		{
			name: "with missing name and when",
			yaml: "rules:\n  - description: x\n",
			want: []string{`r.yaml:2:5: rules[0]: missing name`, `r.yaml:2:5: rules[0]: missing when`},
		},
		{
			name: "with a bad rule name",
			yaml: "rules:\n  - name: Inactive 90\n    when: \"true\"\n",
			want: []string{`r.yaml:2:11: rules[0].name: "Inactive 90": use only a-z, 0-9, - and _`},
		},
		{
			name: "with bad actions",
			yaml: `
rules:
  - name: a
    when: "true"
    actions:
      - {email: {template: x}, slack: {to: owner}}
      - email: {to: everyone, template: ../../etc/passwd}
      - slack: {to: ""}
      - slack: {channel: key-accounts}
      - sms: {}
`,
			want: []string{
				`r.yaml:6:9: rules[0].actions[0]: must have exactly one of email or slack`,
				`r.yaml:7:21: rules[0].actions[1].email.to: "everyone" is not one of "primary_contact", "all_contacts"`,
				`r.yaml:7:41: rules[0].actions[1].email.template: "../../etc/passwd" is not a template name`,
				`r.yaml:8:16: rules[0].actions[2].slack: no recipient: set to: owner or a channel`,
				`r.yaml:9:26: rules[0].actions[3].slack.channel: "key-accounts" is not a channel (want e.g. "#key-accounts")`,
				`r.yaml:10:9: rules[0].actions[4].sms: unknown key (want one of "email", "slack")`,
			},
		},
		{
			name: "with bad segmentation",
			yaml: `
segmentation:
  abc: {a: 0.95, b: 0.80}
  pmg: {medium: lots}
`,
			want: []string{
				`r.yaml:3:8: segmentation.abc: want 0 < a < b <= 1, got a=0.95 b=0.8`,
				`r.yaml:4:17: segmentation.pmg.medium: must be a number`,
			},
		},
		{
			name: "with rules that are not a list",
			yaml: "rules: {name: a}\n",
			want: []string{`r.yaml:1:8: rules: must be a list`},
		},
		{
			name: "with a YAML syntax error",
			yaml: "rules:\n  - name: a\n    when: x: y\n",
			want: []string{`r.yaml:3:1: mapping values are not allowed in this context`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := Parse("r.yaml", []byte(tt.yaml))
			if rs != nil {
				t.Errorf("Parse() returned a rule set with errors")
			}
			var got []string
			for _, e := range Errors(err) {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if n := len(strings.Split(err.Error(), "\n")); n != len(tt.want) {
				t.Errorf("err.Error() has %d lines, want %d", n, len(tt.want))
			}
		})
	}
}

// writeFile writes data to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.yaml", "segmentation:\n  abc: {a: 0.7}\nrules:\n  - name: x\n    when: \"true\"\n")
	b := writeFile(t, dir, "b.yaml", "rules:\n  - name: y\n    when: \"true\"\n    inhibits: [x]\n")
	dup := writeFile(t, dir, "dup.yaml", "segmentation: {}\nrules:\n  - name: x\n    when: \"false\"\n")
	missing := filepath.Join(dir, "missing.yaml")

	t.Run("with rules spread over two files", func(t *testing.T) {
		rs, err := LoadFiles(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if got := []string{rs.Rules[0].Name, rs.Rules[1].Name}; !reflect.DeepEqual(got, []string{"x", "y"}) {
			t.Errorf("rules = %v", got)
		}
		want := Segmentation{ABC: ABCCutoffs{A: 0.7, B: 0.95}, PMG: PMG{Medium: 10000, Large: 100000}}
		if rs.Segmentation != want {
			t.Errorf("segmentation = %+v, want %+v", rs.Segmentation, want)
		}
		if r := rs.Rule("y"); r == nil || r.File != b || r.Line != 2 {
			t.Errorf("Rule(y) = %+v", r)
		}
		if rs.Rule("z") != nil {
			t.Errorf("Rule(z) != nil")
		}
	})
	t.Run("with a name and the segmentation repeated across files", func(t *testing.T) {
		_, err := LoadFiles(a, dup, missing)
		var got []string
		for _, e := range Errors(err) {
			got = append(got, e.Error())
		}
		want := []string{
			missing + ": read rule file: open " + missing + ": no such file or directory",
			dup + ":1:1: segmentation: already set in " + a + ":1:1",
			dup + ":3:11: rules[0].name: duplicate rule name \"x\" (first defined at " + a + ":4:11)",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("LoadFiles() errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("errors.As(*Error) failed on %v", err)
		}
	})
}

func TestExampleRules(t *testing.T) {
	rs, err := LoadFiles("../examples/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultSegmentation(); rs.Segmentation != want {
		t.Errorf("segmentation = %+v, want %+v", rs.Segmentation, want)
	}
	in, hv := rs.Rule("inactive-90-days"), rs.Rule("high-value-churning")
	if in == nil || hv == nil || len(rs.Rules) != 2 {
		t.Fatalf("rules = %v", rs.Rules)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"inactive when", in.When, `account.lifecycle == "customer" && days_inactive >= 90`},
		{"inactive severity", in.Severity, SeverityInfo},
		{"inactive cooldown", in.Cooldown, 30 * 24 * time.Hour},
		{"inactive email", *in.Actions[0].Email, EmailAction{To: EmailToPrimaryContact, Template: "reengage-90d"}},
		{"inactive slack to", in.Actions[1].Slack.To, SlackToOwner},
		{"churning when", hv.When, `abc == "A" && days_since_purchase >= 60 && (revenue_trend < 0.5 || days_inactive >= 60)`},
		{"churning severity", hv.Severity, SeverityCritical},
		{"churning cooldown", hv.Cooldown, 30 * 24 * time.Hour},
		{"churning inhibits", hv.Inhibits, []string{"inactive-90-days"}},
		{"churning slack", [2]string{hv.Actions[0].Slack.To, hv.Actions[0].Slack.Channel}, [2]string{"owner", "#key-accounts"}},
		{"churning actions", len(hv.Actions), 1},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	d := sampleData()
	d.Account.Name = "<!channel> & Co"
	text, err := in.Actions[1].Slack.Render(d)
	if want := "&lt;!channel&gt; &amp; Co has been quiet for 42 days"; err != nil || text != want {
		t.Errorf("Render() = %q, %v, want %q", text, err, want)
	}
	if text, err := hv.Actions[0].Slack.Render(d); text != "" || err != nil {
		t.Errorf("Render() without text = %q, %v", text, err)
	}
}
