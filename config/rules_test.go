package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRulePaths(t *testing.T) {
	abs, err := filepath.Abs("testdata/rules/b.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		globs string
		want  []string
	}{
		{name: "glob sorted", globs: "[rules/*.yaml]", want: []string{"testdata/rules/a.yaml", "testdata/rules/b.yaml"}},
		{name: "duplicates removed", globs: "[rules/b.yaml, rules/*.yaml, rules/a.yaml]", want: []string{"testdata/rules/a.yaml", "testdata/rules/b.yaml"}},
		{name: "folders skipped", globs: "[rules/*]", want: []string{"testdata/rules/a.yaml", "testdata/rules/b.yaml", "testdata/rules/notes.txt"}},
		{name: "sub folders", globs: "[rules/*/*.yaml]", want: []string{"testdata/rules/sub/c.yaml"}},
		{name: "absolute", globs: "[" + abs + "]", want: []string{abs}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("crmsync.yaml", []byte("notify: {outbox: o}\nrule_files: "+tt.globs+"\n"), "testdata")
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.RulePaths()
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("RulePaths() = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

// TestRuleFilesMatchAtLoad checks that a glob matching no file is a
// config error with its position, like every other problem of the file.
func TestRuleFilesMatchAtLoad(t *testing.T) {
	tests := []struct {
		name  string
		globs string
		want  string
	}{
		{"a glob", "[rules/a.yaml, rules/none*.yaml]", `crmsync.yaml:3:28: rule_files[1]: "rules/none*.yaml" matches no file`},
		{"a missing file", "[rules/c.yaml]", `crmsync.yaml:3:14: rule_files[0]: "rules/c.yaml" matches no file`},
		{"a folder", "[rules/sub]", `crmsync.yaml:3:14: rule_files[0]: "rules/sub" matches no file`},
		{"a missing folder", "[nothing/*]", `crmsync.yaml:3:14: rule_files[0]: "nothing/*" matches no file`},
		{"an empty glob", `[""]`, `crmsync.yaml:3:14: rule_files[0]: must not be empty`},
		{"a bad glob", `["rules/[a.yaml"]`, `crmsync.yaml:3:14: rule_files[0]: invalid glob pattern "rules/[a.yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// With another problem, to check that every problem shows at once.
			data := "notify: {outbox: o}\nworkers: {concurrency: 0}\nrule_files: " + tt.globs + "\n"
			_, err := Parse("crmsync.yaml", []byte(data), "testdata")
			want := "crmsync.yaml:2:24: workers.concurrency: must be at least 1, got 0\n" + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("Parse error = %v\nwant %s", err, want)
			}
		})
	}
}

// TestRulePathsFileGone checks that RulePaths names a rule file removed
// after the config was loaded.
func TestRulePathsFileGone(t *testing.T) {
	dir := t.TempDir()
	rule := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(rule, []byte("rules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Parse("crmsync.yaml", []byte("notify: {outbox: o}\nrule_files: [r.yaml, \"*.yaml\"]\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(rule); err != nil {
		t.Fatal(err)
	}
	_, err = c.RulePaths()
	want := "crmsync.yaml:2:14: rule_files[0]: \"r.yaml\" matches no file\ncrmsync.yaml:2:22: rule_files[1]: \"*.yaml\" matches no file"
	if err == nil || err.Error() != want {
		t.Errorf("RulePaths() error = %v\nwant %s", err, want)
	}
}

// TestRulePathsOddFolder checks that glob characters in the config folder's
// own name are taken literally.
func TestRulePathsOddFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf[1]*")
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	rule := filepath.Join(dir, "rules", "r.yaml")
	if err := os.WriteFile(rule, []byte("rules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "crmsync.yaml"), []byte("notify: {outbox: o}\nrule_files: [rules/*.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(filepath.Join(dir, "crmsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.RulePaths()
	if err != nil || !slices.Equal(got, []string{rule}) {
		t.Errorf("RulePaths() = %q, %v, want [%q]", got, err, rule)
	}
}
