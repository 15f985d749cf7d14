package ruletest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/rules"
)

// notedFeaturesRe matches the features listed at the end of a missing or
// unexpected line.
var notedFeaturesRe = regexp.MustCompile(`; ([^;()]*)\)$`)

// keepFeatures drops from the features listed in out every name not in
// keep, so that expected reports do not change when features are added.
func keepFeatures(out string, keep ...string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = notedFeaturesRe.ReplaceAllStringFunc(l, func(m string) string {
			var kept []string
			for _, pair := range strings.Fields(strings.TrimSuffix(strings.TrimPrefix(m, "; "), ")")) {
				if name, _, _ := strings.Cut(pair, "="); slices.Contains(keep, name) {
					kept = append(kept, pair)
				}
			}
			return "; " + strings.Join(kept, " ") + ")"
		})
	}
	return strings.Join(lines, "\n")
}

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		files      []string
		wantFailed int
		wantOut    string
		wantErrs   []string
	}{
		{
			name:  "with a passing file",
			files: []string{"pass.yaml"},
			wantOut: `PASS testdata/pass.yaml: quiet customer
PASS testdata/pass.yaml: nobody is quiet
PASS testdata/pass.yaml: fixtures can share fields with YAML anchors
3 passed, 0 failed
`,
		},
		{
			name:       "with a wrong expectation",
			files:      []string{"wrong.yaml"},
			wantFailed: 1,
			wantOut: `FAIL testdata/wrong.yaml: a customer quiet for 100 days is flagged
  rule inactive-90-days:
    missing: acme     (expected to be flagged, was not; abc=A days_inactive=85 lifecycle=customer)
    unexpected: beta  (flagged, not expected; abc=C days_inactive=323 lifecycle=customer)
  rule high-value-churning:
    unexpected: acme  (flagged, not expected; abc=A days_inactive=85 lifecycle=customer)
  features of acme:
    days_inactive: got 85, want 100
PASS testdata/wrong.yaml: passing
1 passed, 1 failed
`,
		},
		{
			name:       "with features not as expected",
			files:      []string{"features.yaml"},
			wantFailed: 1,
			wantOut: `FAIL testdata/features.yaml: features are not as expected
  features of acme:
    last_activity_at: got 2026-11-10T09:00:00Z, want 2026-08-27T09:00:00Z
    revenue_trend: got 0.45, want 0.5
    days_since_purchase: got 10, want null
    abc: got A, want B
  features of beta:
    days_since_purchase: got null, want 3
0 passed, 1 failed
`,
		},
		{
			name:  "with relative dates",
			files: []string{"relative.yaml"},
			wantOut: `PASS testdata/relative.yaml: relative dates count from the evaluation time
PASS testdata/relative.yaml: relative dates follow the test's own evaluation time
2 passed, 0 failed
`,
		},
		{
			name:  "with a rule whose Slack action is inhibited",
			files: []string{"inhibit.yaml"},
			wantOut: `PASS testdata/inhibit.yaml: an inhibited rule still flags the account
1 passed, 0 failed
`,
		},
		{
			name:       "with a run-time error",
			files:      []string{"runtime-error.yaml"},
			wantFailed: 1,
			wantOut: `FAIL testdata/runtime-error.yaml: an account without contacts
  rule first-contact-opted-out:
    error on acme: index out of range: 0 (array length is 0) (1:9)
       | contacts[0].opt_out
       | ........^
0 passed, 1 failed
`,
		},
		{
			name:     "with an unknown key",
			files:    []string{"unknown-key.yaml"},
			wantOut:  "0 passed, 0 failed\n",
			wantErrs: []string{`testdata/unknown-key.yaml:7:9: tests[0].accounts[0].last_activity: unknown key (did you mean "last_activity_at"?)`},
		},
		{
			name:    "with missing rule files",
			files:   []string{"missing-rule-file.yaml"},
			wantOut: "0 passed, 0 failed\n",
			wantErrs: []string{
				`testdata/missing-rule-file.yaml:1:26: rule_files[1]: rule file: stat testdata/nowhere.yaml: no such file or directory`,
				`testdata/missing-rule-file.yaml:1:40: rule_files[2]: "testdata/none-*.yaml" matches no file`,
			},
		},
		{
			name:    "with expectations naming unknown rules",
			files:   []string{"unknown-rule.yaml"},
			wantOut: "0 passed, 0 failed\n",
			wantErrs: []string{
				`testdata/unknown-rule.yaml:7:7: tests[0].expect.inactive-90-day: unknown rule "inactive-90-day" (did you mean "inactive-90-days"?)`,
				`testdata/unknown-rule.yaml:8:7: tests[0].expect.churn: unknown rule "churn" (the rule files define "inactive-90-days", "high-value-churning", "first-contact-opted-out")`,
			},
		},
		{
			name:    "with bad values",
			files:   []string{"bad-values.yaml"},
			wantOut: "0 passed, 0 failed\n",
			wantErrs: []string{
				`testdata/bad-values.yaml:3:5: tests[0]: missing evaluation_time (set it in the test or at the top of the file)`,
				`testdata/bad-values.yaml:6:20: tests[0].accounts[0].lifecycle: "client" is not one of prospect, customer, former, other`,
				`testdata/bad-values.yaml:7:27: tests[0].accounts[0].last_activity_at: "100d": want a date (2026-08-12), an RFC 3339 time (2026-08-12T09:00:00Z) or a time relative to evaluation_time (-100d, +2w, -36h)`,
				`testdata/bad-values.yaml:8:30: tests[0].accounts[0].contacts[0].opt_out: must be true or false`,
				`testdata/bad-values.yaml:9:26: tests[0].accounts[0].deals[0].amount: must be a number`,
				`testdata/bad-values.yaml:9:56: tests[0].accounts[0].deals[1]: missing closed_at (a won deal counts from its close date)`,
				`testdata/bad-values.yaml:10:9: tests[0].accounts[1]: duplicate account id "acme" (first at line 5)`,
				`testdata/bad-values.yaml:11:9: tests[0].accounts[2]: missing id`,
				`testdata/bad-values.yaml:13:32: tests[0].expect.inactive-90-days[1]: unknown account "ghost" (not in this test's accounts)`,
				`testdata/bad-values.yaml:15:14: tests[0].expect_features.acme.days_inactiv: unknown feature "days_inactiv" (did you mean "days_inactive"?)`,
				`testdata/bad-values.yaml:15:49: tests[0].expect_features.acme.last_activity_at: "10d": want a date (2026-08-12), an RFC 3339 time (2026-08-12T09:00:00Z) or a time relative to evaluation_time (-100d, +2w, -36h)`,
				`testdata/bad-values.yaml:16:5: tests[1]: nothing to check (want expect or expect_features)`,
				`testdata/bad-values.yaml:22:27: tests[2].accounts[0].extra: must be a mapping`,
				`testdata/bad-values.yaml:22:44: tests[2].accounts[0].deals: must be a list`,
				`testdata/bad-values.yaml:22:64: tests[2].accounts[0].owner: missing id (or email)`,
				`testdata/bad-values.yaml:23:32: tests[2].expect.inactive-90-days: must be a list`,
			},
		},
		{
			name:     "with a YAML syntax error",
			files:    []string{"syntax.yaml"},
			wantOut:  "0 passed, 0 failed\n",
			wantErrs: []string{`testdata/syntax.yaml:2:1: did not find expected node content`},
		},
		{
			name:     "with a test file that does not exist",
			files:    []string{"nowhere.yaml"},
			wantOut:  "0 passed, 0 failed\n",
			wantErrs: []string{`testdata/nowhere.yaml: read test file: open testdata/nowhere.yaml: no such file or directory`},
		},
		{
			name:       "with a bad file among good ones",
			files:      []string{"pass.yaml", "unknown-key.yaml", "inhibit.yaml"},
			wantOut:    "PASS testdata/pass.yaml: quiet customer\nPASS testdata/pass.yaml: nobody is quiet\nPASS testdata/pass.yaml: fixtures can share fields with YAML anchors\nPASS testdata/inhibit.yaml: an inhibited rule still flags the account\n4 passed, 0 failed\n",
			wantErrs:   []string{`testdata/unknown-key.yaml:7:9: tests[0].accounts[0].last_activity: unknown key (did you mean "last_activity_at"?)`},
			wantFailed: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := make([]string, len(tt.files))
			for i, f := range tt.files {
				files[i] = filepath.Join("testdata", f)
			}
			var out strings.Builder
			failed, err := Run(&out, files...)
			if got := keepFeatures(out.String(), "abc", "days_inactive", "lifecycle"); got != tt.wantOut {
				t.Errorf("report:\n%s\nwant:\n%s", got, tt.wantOut)
			}
			if failed != tt.wantFailed {
				t.Errorf("failed = %d, want %d", failed, tt.wantFailed)
			}
			var gotErrs []string
			for _, e := range rules.Errors(err) {
				gotErrs = append(gotErrs, e.Error())
			}
			if !slices.Equal(gotErrs, tt.wantErrs) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(gotErrs, "\n"), strings.Join(tt.wantErrs, "\n"))
			}
		})
	}
}

func TestRunReportsRuleFileErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yaml"), "rules:\n  - name: a\n    when: days_inactiv > 1\n")
	test := filepath.Join(dir, "test.yaml")
	writeFile(t, test, "rule_files: [rules.yaml]\nevaluation_time: 2026-11-20\ntests: [{name: x, expect: {a: []}}]\n")
	_, err := Run(&strings.Builder{}, test)
	errs := rules.Errors(err)
	want := filepath.Join(dir, "rules.yaml") + ":3:11: rules[0].when: unknown name days_inactiv (did you mean days_inactive?)"
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("errors = %v, want [%s]", err, want)
	}
}

func TestExamples(t *testing.T) {
	var out strings.Builder
	failed, err := Run(&out, "../../examples/rules_test.yaml")
	if err != nil || failed != 0 {
		t.Errorf("Run(examples/rules_test.yaml) = %d, %v; want 0, nil\n%s", failed, err, out.String())
	}
	if !strings.HasSuffix(out.String(), " passed, 0 failed\n") || strings.HasPrefix(out.String(), "0 passed") {
		t.Errorf("report:\n%s", out.String())
	}
}

// writeFile writes data to path or fails the test.
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// docExample returns the example test file of the package documentation.
func docExample(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(l, "//\t") {
			b.WriteString(strings.TrimPrefix(l, "//\t") + "\n")
		} else if b.Len() > 0 {
			break
		}
	}
	return b.String()
}

func TestDocExample(t *testing.T) {
	dir := t.TempDir()
	ruleFile, err := os.ReadFile(filepath.Join("testdata", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "rules.yaml"), string(ruleFile))
	writeFile(t, filepath.Join(dir, "test.yaml"), docExample(t))
	var out strings.Builder
	failed, err := Run(&out, filepath.Join(dir, "test.yaml"))
	if err != nil || failed != 0 || !strings.HasSuffix(out.String(), "\n1 passed, 0 failed\n") {
		t.Errorf("the documented example: %d failed, %v\n%s", failed, err, out.String())
	}
}
