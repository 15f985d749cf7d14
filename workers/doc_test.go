package workers

import (
	"go/ast"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/internal/gosrc"
)

// TestDocListsEveryTaskAndQueue fails when a task type (a Type*
// constant) or a queue (a Queue* constant) is missing from the task
// catalogue in doc.go, so that the catalogue stays true.
func TestDocListsEveryTaskAndQueue(t *testing.T) {
	doc, files, _ := gosrc.Package(t, ".")
	found := 0
	for _, f := range files {
		for name, value := range stringConsts(f) {
			if !strings.HasPrefix(name, "Type") && !strings.HasPrefix(name, "Queue") {
				continue
			}
			found++
			if strings.HasPrefix(name, "Queue") {
				value = "[" + value + ", " // as the catalogue names a task's queue: [slack, 6]
			}
			if !strings.Contains(doc, value) {
				t.Errorf("%s = %q is not in doc.go's task catalogue", name, value)
			}
		}
	}
	if found < 10 {
		t.Fatalf("found %d task types and queues; the test no longer sees them", found)
	}
}

// stringConsts returns the string constants declared in f, by name.
func stringConsts(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i >= len(vs.Values) {
					break
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				if v, err := strconv.Unquote(lit.Value); err == nil {
					out[n.Name] = v
				}
			}
		}
	}
	return out
}
