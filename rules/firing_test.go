package rules

import (
	"strings"
	"testing"
	"time"
)

const forRules = `
rules:
  - name: quiet
    when: days_inactive >= 90
    for: 2d
    on_resolve:
      slack: {to: owner, text: "{{ .Account.Name }} re-engaged"}
    actions:
      - email: {to: primary_contact, template: reengage-90d}
      - slack: {to: owner}
  - name: urgent
    when: days_inactive >= 60
    for: 1w
    inhibits: [quiet]
    actions:
      - slack: {to: owner}
`

func TestForAndOnResolveLoad(t *testing.T) {
	rs, err := Parse("r.yaml", []byte(forRules))
	if err != nil {
		t.Fatal(err)
	}
	q := rs.Rule("quiet")
	if q.For != 48*time.Hour || q.OnResolve == nil || q.OnResolve.To != SlackToOwner {
		t.Fatalf("quiet: for %v, on_resolve %+v", q.For, q.OnResolve)
	}
	if rs.Rule("urgent").For != 7*24*time.Hour || rs.Rule("urgent").OnResolve != nil {
		t.Fatal("urgent: want for 1w and no on_resolve")
	}
}

func TestForAndOnResolveErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{"rules:\n  - name: a\n    when: true\n    for: soon\n", `r.yaml:4:10: rules[0].for: invalid duration "soon"`},
		{"rules:\n  - name: a\n    when: true\n    on_resolve: {email: {}}\n", "r.yaml:4:18: rules[0].on_resolve.email: unknown key"},
		{"rules:\n  - name: a\n    when: true\n    on_resolve: {slack: {to: owner, text: \"{{ .Nope }}\"}}\n", "rules[0].on_resolve.slack.text"},
	}
	for _, tt := range tests {
		_, err := Parse("r.yaml", []byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.body, err, tt.want)
		}
	}
}

func TestFiringInhibitsOnlyFromFiringRules(t *testing.T) {
	rs, err := Parse("r.yaml", []byte(forRules))
	if err != nil {
		t.Fatal(err)
	}
	matches := []Match{{Rule: rs.Rule("quiet"), Actions: rs.Rule("quiet").Actions}, {Rule: rs.Rule("urgent"), Actions: rs.Rule("urgent").Actions}}
	// urgent still waits out its week: quiet keeps its Slack nudge.
	got := Firing(matches, func(r *Rule) bool { return r.Name == "quiet" })
	if len(got) != 1 || got[0].Rule.Name != "quiet" || len(got[0].Actions) != 2 {
		t.Fatalf("urgent pending: got %+v; want quiet with both actions", got)
	}
	// Both fire: quiet's Slack nudge is inhibited, its email stays.
	got = Firing(matches, func(*Rule) bool { return true })
	if len(got) != 2 || len(got[0].Actions) != 1 || got[0].Actions[0].Email == nil {
		t.Fatalf("both firing: got %+v; want quiet's email only", got)
	}
	if len(rs.Rule("quiet").Actions) != 2 {
		t.Fatal("Firing changed the rule's own actions")
	}
}

func TestSlackDigestOption(t *testing.T) {
	rs, err := Parse("r.yaml", []byte("rules:\n  - name: a\n    when: true\n    actions:\n      - slack: {to: owner, digest: true}\n"))
	if err != nil || !rs.Rule("a").Actions[0].Slack.Digest {
		t.Fatalf("digest: %v, %+v", err, rs)
	}
	_, err = Parse("r.yaml", []byte("rules:\n  - name: a\n    when: true\n    actions:\n      - slack: {to: owner, digest: weekly}\n"))
	if err == nil || !strings.Contains(err.Error(), "r.yaml:5:36: rules[0].actions[0].slack.digest: must be true or false") {
		t.Fatalf("bad digest: %v", err)
	}
}
