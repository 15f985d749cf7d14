package yamlnode

import (
	"fmt"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func TestMapping(t *testing.T) {
	tests := []struct {
		name, src string
		keys      []string
		problems  []string
	}{
		{name: "known keys", src: "a: 1\nb: 2\n", keys: []string{"a", "b"}},
		{name: "null", src: "~\n"},
		{name: "unknown key with a hint", src: "a: 1\nbb: 2\n", keys: []string{"a"}, problems: []string{`2:1: x.bb: unknown key (did you mean "b"?)`}},
		{name: "unknown key without", src: "zzz: 1\n", problems: []string{`1:1: x.zzz: unknown key (want one of "a", "b")`}},
		{name: "repeated key", src: "a: 1\na: 2\n", keys: []string{"a"}, problems: []string{"2:1: x.a: repeated key (first at line 1)"}},
		{name: "merge key, own keys win", src: "base: &b {a: 1, b: 2}\nm:\n  <<: *b\n  a: 3\n", keys: []string{"a", "b"}},
		{name: "not a mapping", src: "[1, 2]\n", problems: []string{"1:1: x: must be a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := parse(t, tt.src)
			if tt.name == "merge key, own keys win" {
				n = Resolve(n.Content[3])
			}
			var problems []string
			fail := func(n *yaml.Node, format string, args ...any) {
				problems = append(problems, fmt.Sprintf("%d:%d: ", n.Line, n.Column)+fmt.Sprintf(format, args...))
			}
			m := Mapping(fail, n, "x", "a", "b")
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.keys) || !slices.Equal(problems, tt.problems) {
				t.Fatalf("keys %v problems %q; want %v %q", keys, problems, tt.keys, tt.problems)
			}
			if tt.name == "merge key, own keys win" && m["a"].Val.Value != "3" {
				t.Fatalf("a = %s, want the mapping's own 3", m["a"].Val.Value)
			}
		})
	}
}
