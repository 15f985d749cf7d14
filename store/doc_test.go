package store

import (
	"go/ast"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/internal/gosrc"
)

// TestDocListsEveryKeyFamily fails when the store builds a key family
// (the literal parts a key starts with, such as "ledger:e") that the key
// table in doc.go does not list, so that the table stays true.
func TestDocListsEveryKeyFamily(t *testing.T) {
	doc, files, fset := gosrc.Package(t, ".")
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			family, ok := keyFamily(n)
			if ok && !strings.Contains(doc, "<ns>:"+family) {
				t.Errorf("%s: key family %q is not in doc.go's key table", fset.Position(n.Pos()), "<ns>:"+family)
			}
			return true
		})
	}
}

// keyFamily returns the leading literal parts of a call to a key method
// (x.key("ledger", "e", k) → "ledger:e").
func keyFamily(n ast.Node) (string, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok {
		return "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "key" {
		return "", false
	}
	var parts []string
	for _, arg := range call.Args {
		lit, ok := arg.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			break
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			break
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ":"), len(parts) > 0
}
