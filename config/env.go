package config

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// expandEnv replaces ${NAME} and ${NAME:-default} by the environment in
// every scalar value of the tree, and $$ by $. It works on the parsed tree,
// not on the raw text, so positions stay exact and a variable's value can
// never add YAML structure. Keys and aliases are left alone (an alias
// shares the node its anchor already expanded).
func (d *document) expandEnv(path string, n *yaml.Node, lookup func(string) (string, bool)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.expandEnv(childPath(path, n.Content[i].Value), n.Content[i+1], lookup)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.expandEnv(indexPath(path, i), c, lookup)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		s, err := expand(n.Value, lookup)
		if err != nil {
			d.errorf(path, n, "%v", err)
			return
		}
		n.Value = s
	}
}

// expand expands one scalar value.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", errors.New(`unterminated "${" (write "$$" for a literal "$")`)
			}
			v, err := lookupVar(s[i+2:i+2+end], lookup)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}

// lookupVar resolves "NAME" or "NAME:-default". As in the shell, the
// default also replaces a variable that is set but empty.
func lookupVar(ref string, lookup func(string) (string, bool)) (string, error) {
	name, def, hasDef := strings.Cut(ref, ":-")
	if !validEnvName(name) {
		return "", fmt.Errorf("invalid environment variable name %q in ${...}", name)
	}
	v, ok := lookup(name)
	switch {
	case hasDef && v == "":
		return def, nil
	case !ok:
		return "", fmt.Errorf("environment variable %s is not set", name)
	}
	return v, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
