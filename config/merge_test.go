package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const mergeSources = crmHeader + "  - {name: hubspot, type: csv, path: ./data}\n  - {name: sellsy, type: csv, path: ./data}\n  - {name: legacy, type: csv, path: ./data}\n"

func TestMergeSection(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"rules/a.yaml": "", "merge.csv": "hubspot;legacy\n12;C-1\n", "bad.csv": "hubspot,sellsy\n1,2\n3,2\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bad := filepath.Join(dir, "bad.csv")
	tests := []struct {
		name, merge string
		want        []string // errors; none means valid
	}{
		{"by domain", "merge: {by: [domain, contact_email]}\n", nil},
		{"mapping only", "merge: {mapping_file: merge.csv, precedence: [legacy]}\n", nil},
		{"nothing to merge by", "merge: {precedence: [sellsy]}\n", []string{"crmsync.yaml:7:8: merge: set by"}},
		{"unknown match", "merge: {by: [domian]}\n", []string{`crmsync.yaml:7:14: merge.by[0]: unknown match "domian" (did you mean "domain"?)`}},
		{"unknown source", "merge: {by: [domain], precedence: [hubspot, selsy, hubspot]}\n", []string{
			`crmsync.yaml:7:45: merge.precedence[1]: no source named "selsy" (did you mean "sellsy"?)`,
			`crmsync.yaml:7:52: merge.precedence[2]: hubspot is listed twice`,
		}},
		{"missing file", "merge: {mapping_file: nope.csv}\n", []string{"crmsync.yaml:7:23: merge.mapping_file: cannot read the mapping file: no such file or directory"}},
		{"bad file", "merge: {mapping_file: bad.csv}\n", []string{bad + ":3:3: sellsy:2 is already mapped on line 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("crmsync.yaml", []byte(mergeSources+tt.merge), dir)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed %+v, want errors %q", c.Merge, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors:\n%v\nwant one starting %q", err, w)
				}
			}
		})
	}
}

func TestMergeRules(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rules"), 0o755)
	os.WriteFile(filepath.Join(dir, "rules/a.yaml"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "m.csv"), []byte("hubspot,legacy\n12,C-1\n"), 0o600)
	c, err := Parse("crmsync.yaml", []byte(mergeSources+"merge: {by: [domain], mapping_file: m.csv, precedence: [legacy]}\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	r := c.MergeRules()
	if !reflect.DeepEqual(r.Precedence, []string{"legacy", "hubspot", "sellsy"}) || !reflect.DeepEqual(r.Mapping, [][]string{{"hubspot:12", "legacy:C-1"}}) || r.By[0] != "domain" {
		t.Errorf("rules = %+v", r)
	}
	c, err = Parse("crmsync.yaml", []byte(mergeSources), dir)
	if err != nil || c.MergeRules() != nil {
		t.Errorf("no merge section: %v, %v", c.MergeRules(), err)
	}
}
