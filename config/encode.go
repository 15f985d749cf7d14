package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var secretType = reflect.TypeFor[Secret]()

// String returns the config in YAML, defaults included, with every secret
// shown as "<secret>". It is what "crmsync config check" prints.
func (c *Config) String() string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(encodeValue(reflect.ValueOf(c).Elem())); err != nil {
		return "# cannot print config: " + err.Error()
	}
	_ = enc.Close()
	return b.String()
}

// encodeValue mirrors decode: it builds the node tree of v from its yaml
// tags, printing durations as ParseDuration reads them.
func encodeValue(v reflect.Value) *yaml.Node {
	switch {
	case v.Type() == secretType:
		return scalar("!!str", v.Interface().(Secret).String())
	case v.Type() == durationType:
		return scalar("!!str", FormatDuration(time.Duration(v.Int())))
	}
	switch v.Kind() {
	case reflect.Pointer:
		return encodeValue(v.Elem())
	case reflect.Struct:
		return encodeStruct(v)
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if v.Len() == 0 {
			n.Style = yaml.FlowStyle
		}
		for i := range v.Len() {
			n.Content = append(n.Content, encodeValue(v.Index(i)))
		}
		return n
	case reflect.Map:
		return encodeMap(v)
	case reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case reflect.Int:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	}
	return scalar("!!str", v.String())
}

func encodeStruct(v reflect.Value) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, f := range reflect.VisibleFields(v.Type()) {
		name := yamlName(f)
		fv := v.FieldByIndex(f.Index)
		if name == "" || fv.Kind() == reflect.Pointer && fv.IsNil() {
			continue
		}
		n.Content = append(n.Content, scalar("!!str", name), encodeValue(fv))
	}
	return n
}

// encodeMap encodes a map with string keys, sorted by key.
func encodeMap(v reflect.Value) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if v.Len() == 0 {
		n.Style = yaml.FlowStyle
	}
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		n.Content = append(n.Content, scalar("!!str", k.String()), encodeValue(v.MapIndex(k)))
	}
	return n
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}
