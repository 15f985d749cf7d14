package ruletest

import (
	"fmt"
	"github.com/crmsync/crmsync/internal/yamlnode"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/internal/suggest"
	"github.com/crmsync/crmsync/rules"
)

// tolerance is the largest difference between two numbers deemed equal.
const tolerance = 1e-9

// zeroFeatures are the features of rules.Features.Map, unflattened, to
// tell which names expect_features may use.
var zeroFeatures = rules.Features{}.Map()

// dateFeatures are the features whose expected values are dates, written
// like fixture dates (2026-08-12, -23d) and compared as instants.
var dateFeatures = map[string]bool{"last_activity_at": true}

// zeroFlat is zeroFeatures flattened.
var zeroFlat = flatten(zeroFeatures)

// featureNames lists the flattened feature names, sorted.
var featureNames = slices.Sorted(maps.Keys(zeroFlat))

// knownFeature reports whether name is a feature (see lookup), or a field
// (rfm.r) of a feature with nested values.
func knownFeature(name string) bool {
	if _, ok := lookup(zeroFlat, name); ok {
		return true
	}
	top, _, nested := strings.Cut(name, ".")
	_, ok := zeroFeatures[top]
	return nested && ok
}

// lookup returns the feature called name in flat, flattened features. A
// dotted name as expressions write it (rfm.r) also finds a feature keyed
// with underscores (rfm_r).
func lookup(flat map[string]any, name string) (any, bool) {
	if v, ok := flat[name]; ok {
		return v, true
	}
	v, ok := flat[strings.ReplaceAll(name, ".", "_")]
	return v, ok
}

// unknownFeature explains that name is not a feature.
func unknownFeature(name string) string {
	if s := suggest.Closest(name, featureNames); s != "" {
		return fmt.Sprintf("unknown feature %q (did you mean %q?)", name, s)
	}
	return fmt.Sprintf("unknown feature %q (want one of %s)", name, strings.Join(featureNames, ", "))
}

// flatten returns m with the values of nested maps keyed prefix.Key.
func flatten(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	flattenInto(out, "", reflect.ValueOf(m))
	return out
}

// flattenInto adds the entries of map v to out, under prefix.
func flattenInto(out map[string]any, prefix string, v reflect.Value) {
	for _, k := range v.MapKeys() {
		name := yamlnode.Join(prefix, fmt.Sprint(k.Interface()))
		e := v.MapIndex(k)
		if e.Kind() == reflect.Interface && !e.IsNil() {
			e = e.Elem()
		}
		if e.Kind() == reflect.Map && e.Type().Key().Kind() == reflect.String {
			flattenInto(out, name, e)
			continue
		}
		out[name] = e.Interface()
	}
}

// equal reports whether feature value got is want: numbers within
// tolerance, nil only to nil, anything else by its text.
func equal(got, want any) bool {
	gf, gok := toFloat(got)
	wf, wok := toFloat(want)
	switch {
	case gok && wok:
		return math.Abs(gf-wf) <= tolerance || gf == wf
	case isNil(got) || isNil(want):
		return isNil(got) && isNil(want)
	}
	return fmt.Sprint(deref(got)) == fmt.Sprint(want)
}

// toFloat returns v as a float64 when it is a number (or points to one).
func toFloat(v any) (float64, bool) {
	rv := reflect.ValueOf(deref(v))
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

// isNil reports whether v is nil or a nil pointer, map or slice.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// deref returns what v points to when it is a non-nil pointer, else v.
func deref(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return rv.Elem().Interface()
	}
	return v
}

// formatValue writes a feature value for the report: null for nil,
// numbers in their shortest form, empty or spaced text quoted.
func formatValue(v any) string {
	if isNil(v) {
		return "null"
	}
	if f, ok := toFloat(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := fmt.Sprint(deref(v))
	if s == "" || strings.ContainsAny(s, " \t\n\"") {
		return strconv.Quote(s)
	}
	return s
}

// formatFeatures writes the features of an account as sorted name=value
// pairs, with the account's lifecycle unless the features have one.
func formatFeatures(m map[string]any, lifecycle string) string {
	flat := flatten(m)
	if _, ok := flat["lifecycle"]; !ok {
		flat["lifecycle"] = lifecycle
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(flat)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + formatValue(flat[k]))
	}
	return b.String()
}
