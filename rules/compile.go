package rules

import (
	"errors"
	"github.com/crmsync/crmsync/internal/suggest"
	"reflect"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"
)

// envNames lists the names an expression can use, for suggestions.
var envNames = append(exprTags(reflect.TypeFor[env]()), helperNames...)

// fieldNames maps the Go type name of each nested env struct, as expr
// writes it in errors, to its field names.
var fieldNames = map[string][]string{
	reflect.TypeFor[accountEnv]().String(): exprTags(reflect.TypeFor[accountEnv]()),
	reflect.TypeFor[ownerEnv]().String():   exprTags(reflect.TypeFor[ownerEnv]()),
	reflect.TypeFor[contactEnv]().String(): exprTags(reflect.TypeFor[contactEnv]()),
	reflect.TypeFor[rfmEnv]().String():     exprTags(reflect.TypeFor[rfmEnv]()),
}

// publicTypeNames replaces internal type names in expr's messages.
var publicTypeNames = strings.NewReplacer(
	reflect.TypeFor[accountEnv]().String(), "account",
	reflect.TypeFor[ownerEnv]().String(), "owner",
	reflect.TypeFor[contactEnv]().String(), "contact",
	reflect.TypeFor[rfmEnv]().String(), "rfm",
)

// exprTags returns the expr tags of struct type t's fields.
func exprTags(t reflect.Type) []string {
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		names = append(names, t.Field(i).Tag.Get("expr"))
	}
	return names
}

// compileWhen compiles the `when` expression in scalar node n, located at
// path, and returns errors located at the offending character.
func compileWhen(src *source, path string, n *yaml.Node) (*vm.Program, *Error) {
	if strings.TrimSpace(n.Value) == "" {
		return nil, src.at(n, "%s: must not be empty", path)
	}
	prog, err := expr.Compile(n.Value, compileOptions...)
	if err == nil {
		return prog, nil
	}
	var fe *file.Error
	if !errors.As(err, &fe) {
		return nil, src.at(n, "%s: %v", path, err)
	}
	return nil, src.inside(n, fe.Line, fe.Column, false, "%s: %s", path, explain(fe.Message))
}

var (
	unknownNameRe  = regexp.MustCompile(`^unknown name (\S+)$`)
	unknownFieldRe = regexp.MustCompile(`^type (\S+) has no field (\S+)$`)
)

// explain rewrites expr's message msg for rule authors: internal type
// names are replaced and unknown names get a suggestion.
func explain(msg string) string {
	if m := unknownNameRe.FindStringSubmatch(msg); m != nil {
		return didYouMean("unknown name "+m[1], m[1], envNames)
	}
	if m := unknownFieldRe.FindStringSubmatch(msg); m != nil {
		if names, ok := fieldNames[m[1]]; ok {
			return didYouMean(publicTypeNames.Replace(m[1])+" has no field "+m[2], m[2], names)
		}
	}
	return publicTypeNames.Replace(msg)
}

// didYouMean appends the closest of candidates to name to msg, if any.
func didYouMean(msg, name string, candidates []string) string {
	if s := suggest.Closest(name, candidates); s != "" {
		return msg + " (did you mean " + s + "?)"
	}
	return msg
}
