// Package gosrc reads a package's own Go source in tests, for tests that
// keep documentation true to the code (a key table, a task catalogue).
package gosrc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Package returns the text of dir's doc.go and the parsed non-test Go
// files of dir (doc.go excepted), with the file set that positions them.
func Package(tb testing.TB, dir string) (doc string, files []*ast.File, fset *token.FileSet) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "doc.go"))
	if err != nil {
		tb.Fatal(err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		tb.Fatal(err)
	}
	fset = token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") || filepath.Base(name) == "doc.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, f)
	}
	return string(b), files, fset
}
