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
		name    string
		globs   string
		want    []string
		wantErr string
	}{
		{name: "glob sorted", globs: "[rules/*.yaml]", want: []string{"testdata/rules/a.yaml", "testdata/rules/b.yaml"}},
		{name: "duplicates removed", globs: "[rules/b.yaml, rules/*.yaml, rules/a.yaml]", want: []string{"testdata/rules/a.yaml", "testdata/rules/b.yaml"}},
		{name: "folders skipped", globs: "[rules/*]", want: []string{"testdata/rules/a.yaml", "testdata/rules/b.yaml", "testdata/rules/notes.txt"}},
		{name: "sub folders", globs: "[rules/*/*.yaml]", want: []string{"testdata/rules/sub/c.yaml"}},
		{name: "absolute", globs: "[" + abs + "]", want: []string{abs}},
		{
			name:    "no match",
			globs:   "[rules/a.yaml, rules/none*.yaml, nothing/*]",
			wantErr: "crmsync.yaml:2:28: rule_files[1]: \"rules/none*.yaml\" matches no file\ncrmsync.yaml:2:46: rule_files[2]: \"nothing/*\" matches no file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("crmsync.yaml", []byte("notify: {outbox: o}\nrule_files: "+tt.globs+"\n"), "testdata")
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.RulePaths()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("RulePaths() error = %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("RulePaths() = %q, %v, want %q", got, err, tt.want)
			}
		})
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
