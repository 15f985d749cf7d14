package salesforce

import (
	"encoding/json"
	"errors"
	"fmt"
)

// A small JSON scanner: it splits a query answer into its records and a
// record into its fields without building maps or copying, which is most
// of the cost of a pull (encoding/json spends more decoding a page into
// maps than the network takes to bring it). It checks the syntax as
// strictly as encoding/json; values are parsed when a field is read.

// maxDepth bounds the nesting of a value, as encoding/json does.
const maxDepth = 1000

var errSyntax = errors.New("invalid JSON")

// member is a field of a JSON object: its name and raw value.
type member struct {
	key   []byte
	value json.RawMessage
}

// objectMembers appends the members of the JSON object data to buf.
func objectMembers(data []byte, buf []member) ([]member, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return buf, errors.New("not a JSON object")
	}
	end, err := eachMember(data, i, 0, func(key, value []byte) error {
		buf = append(buf, member{key: key, value: value})
		return nil
	})
	if err == nil && skipSpace(data, end) != len(data) {
		err = errSyntax
	}
	return buf, err
}

// arrayElements calls fn with each element of the JSON array data.
func arrayElements(data []byte, fn func(elem []byte)) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return errors.New("not a JSON array")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return nil
	}
	for {
		start := skipSpace(data, i)
		end, err := skipValue(data, start, 1)
		if err != nil {
			return err
		}
		fn(data[start:end])
		i = skipSpace(data, end)
		switch {
		case i >= len(data):
			return errSyntax
		case data[i] == ',':
			i++
		case data[i] == ']':
			return nil
		default:
			return errSyntax
		}
	}
}

// eachMember calls fn with the members of the object at data[i] and
// returns the index past it. Keys with escapes are unescaped.
func eachMember(data []byte, i, depth int, fn func(key, value []byte) error) (int, error) {
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return 0, errSyntax
		}
		kend, err := skipString(data, i)
		if err != nil {
			return 0, err
		}
		key, err := unescapeKey(data[i:kend])
		if err != nil {
			return 0, err
		}
		i = skipSpace(data, kend)
		if i >= len(data) || data[i] != ':' {
			return 0, errSyntax
		}
		vstart := skipSpace(data, i+1)
		vend, err := skipValue(data, vstart, depth+1)
		if err != nil {
			return 0, err
		}
		if err := fn(key, data[vstart:vend]); err != nil {
			return 0, err
		}
		i = skipSpace(data, vend)
		switch {
		case i >= len(data):
			return 0, errSyntax
		case data[i] == ',':
			i = skipSpace(data, i+1)
		case data[i] == '}':
			return i + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

// unescapeKey returns a quoted key's text.
func unescapeKey(quoted []byte) ([]byte, error) {
	inner := quoted[1 : len(quoted)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if err := json.Unmarshal(quoted, &s); err != nil {
				return nil, err
			}
			return []byte(s), nil
		}
	}
	return inner, nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t') {
		i++
	}
	return i
}

// skipValue returns the index past the JSON value at data[i].
func skipValue(data []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, fmt.Errorf("%w: nested too deep", errSyntax)
	}
	if i >= len(data) {
		return 0, errSyntax
	}
	switch c := data[i]; {
	case c == '"':
		return skipString(data, i)
	case c == '{':
		return eachMember(data, i, depth, func(_, _ []byte) error { return nil })
	case c == '[':
		return skipArray(data, i, depth)
	case c == 't':
		return skipLiteral(data, i, "true")
	case c == 'f':
		return skipLiteral(data, i, "false")
	case c == 'n':
		return skipLiteral(data, i, "null")
	case c == '-' || isDigit(c):
		return skipNumber(data, i)
	}
	return 0, errSyntax
}

func skipArray(data []byte, i, depth int) (int, error) {
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := skipValue(data, skipSpace(data, i), depth+1)
		if err != nil {
			return 0, err
		}
		i = skipSpace(data, end)
		switch {
		case i >= len(data):
			return 0, errSyntax
		case data[i] == ',':
			i++
		case data[i] == ']':
			return i + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

// skipString returns the index past the string at data[i], checking its
// escapes.
func skipString(data []byte, i int) (int, error) {
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return j + 1, nil
		case c < 0x20:
			return 0, errSyntax
		case c == '\\':
			j++
			if j >= len(data) {
				return 0, errSyntax
			}
			switch data[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(data) || !isHex(data[j+1]) || !isHex(data[j+2]) || !isHex(data[j+3]) || !isHex(data[j+4]) {
					return 0, errSyntax
				}
				j += 4
			default:
				return 0, errSyntax
			}
		}
	}
	return 0, errSyntax
}

func skipLiteral(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// skipNumber returns the index past the number at data[i], following
// JSON's grammar.
func skipNumber(data []byte, i int) (int, error) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && isDigit(data[i]):
		i = skipDigits(data, i)
	default:
		return 0, errSyntax
	}
	if i < len(data) && data[i] == '.' {
		if i+1 >= len(data) || !isDigit(data[i+1]) {
			return 0, errSyntax
		}
		i = skipDigits(data, i+1)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return 0, errSyntax
		}
		i = skipDigits(data, i)
	}
	return i, nil
}

func skipDigits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }
