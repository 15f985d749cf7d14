package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/internal/mondayfake"
)

// mondayConfigFile writes a config with a monday source on a seeded fake
// and a csv source, and returns its path.
func mondayConfigFile(t *testing.T) string {
	t.Helper()
	fake := mondayfake.New(mondayfake.Options{})
	t.Cleanup(fake.Close)
	if err := fake.Seed(1, 1, 1); err != nil {
		t.Fatal(err)
	}
	rules, err := filepath.Abs(filepath.Join("..", "..", "examples", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "crmsync.yaml")
	cfg := `notify: {outbox: o}
rule_files: [` + rules + `]
sources:
  - name: mon
    type: monday
    base_url: ` + fake.URL() + `
    auth: {token: ` + mondayfake.DefaultToken + `}
    boards:
      accounts: {id: "` + mondayfake.BoardAccounts + `"}
      contacts: {id: "` + mondayfake.BoardContacts + `"}
      deals: {id: "` + mondayfake.BoardDeals + `"}
  - name: files
    type: csv
    path: in
`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSourcesDescribe(t *testing.T) {
	path := mondayConfigFile(t)
	code, stdout, stderr := runCLI(t, "sources", "describe", "-c", path, "mon")
	if code != exitOK || !strings.Contains(stdout, "deals board 1234567890 (Deals)") || !strings.Contains(stdout, "deal_stage") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "sources", "describe", "mon", "-c", path, "--format", "json")
	var d struct {
		Source string
		Boards []struct {
			Role    string
			Columns []struct{ ID, Type, MappedAs string }
		}
	}
	if code != exitOK || json.Unmarshal([]byte(stdout), &d) != nil || d.Source != "mon" || len(d.Boards) != 3 || d.Boards[0].Role != "accounts" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sources", "describe", "-c", path, "files"}, exitFailure, "only monday sources map columns by board"},
		{[]string{"sources", "describe", "-c", path, "nope"}, exitFailure, `no source named "nope"`},
		{[]string{"sources", "describe", "-c", path}, exitUsage, "the source NAME is required"},
		{[]string{"sources", "describe", "-c", path, "--format", "csv", "mon"}, exitUsage, "want text or json"},
		{[]string{"sources", "describe", "mon", "extra", "-c", path}, exitUsage, `unexpected argument "extra"`},
		{[]string{"sources", "describe", "mon"}, exitUsage, "-c FILE is required"},
		{[]string{"sources", "list"}, exitUsage, "usage: crmsync sources describe"},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("crmsync %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.want)
		}
	}
}
