package rules

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// source is a rule file's text, to map positions inside scalar values back
// to the file.
type source struct {
	name string
	data []byte
}

// at returns an *Error located at node n.
func (s *source) at(n *yaml.Node, format string, args ...any) *Error {
	return &Error{File: s.name, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}
}

// inside returns an *Error located at the character of scalar n's value
// that starts line line (1-based) of the value, column col (0-based, in
// runes when inBytes is false, else in bytes).
func (s *source) inside(n *yaml.Node, line, col int, inBytes bool, format string, args ...any) *Error {
	off := valueOffset(n.Value, line, col, inBytes)
	l, c := s.locate(n, off)
	return &Error{File: s.name, Line: l, Col: c, Msg: fmt.Sprintf(format, args...)}
}

// valueOffset converts a line and column inside v to a rune offset.
func valueOffset(v string, line, col int, inBytes bool) int {
	off := 0
	for ; line > 1; line-- {
		i := strings.IndexByte(v, '\n')
		if i < 0 {
			break
		}
		off += utf8.RuneCountInString(v[:i+1])
		v = v[i+1:]
	}
	if inBytes {
		col = utf8.RuneCountInString(v[:min(max(col, 0), len(v))])
	}
	return off + col
}

// locate returns the file line and column of the rune at offset off in the
// value of scalar node n, by walking the node's text in the file alongside
// its value: quotes, escapes, indentation and folded line breaks are in
// the text but not in the value.
func (s *source) locate(n *yaml.Node, off int) (line, col int) {
	p := s.offsetOf(n.Line, n.Column)
	if p < 0 {
		return n.Line, n.Column
	}
	line, col = n.Line, n.Column
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		for p < len(s.data) && s.data[p] != '\n' {
			p++
		}
	}
	value := []rune(n.Value)
	dq := n.Style&yaml.DoubleQuotedStyle != 0
	for i := 0; p < len(s.data); {
		r, size := utf8.DecodeRune(s.data[p:])
		step := size
		matched := false
		switch {
		case dq && r == '\\':
			step, matched = escapeLen(s.data[p:])
		case i < len(value) && (r == value[i] || isSpace(r) && isSpace(value[i])):
			matched = true
		}
		if matched && i == off {
			return line, col
		}
		if matched {
			i++
		}
		line, col = advance(s.data[p:p+step], line, col)
		p += step
		if i == len(value) && off >= len(value) {
			return line, col
		}
	}
	return line, col
}

// escapeLen returns the length of the double-quoted escape sequence at the
// start of b and whether it stands for a character of the value (an
// escaped line break does not).
func escapeLen(b []byte) (int, bool) {
	if len(b) < 2 {
		return len(b), false
	}
	switch b[1] {
	case '\n', '\r':
		return 2, false
	case 'x':
		return min(4, len(b)), true
	case 'u':
		return min(6, len(b)), true
	case 'U':
		return min(10, len(b)), true
	}
	return 2, true
}

// advance moves line and col past the text b.
func advance(b []byte, line, col int) (int, int) {
	for _, r := range string(b) {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// offsetOf returns the byte offset of a 1-based line and column (in
// characters), or -1 when out of range.
func (s *source) offsetOf(line, col int) int {
	p := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(s.data[p:], '\n')
		if i < 0 {
			return -1
		}
		p += i + 1
	}
	for c := 1; c < col && p < len(s.data); c++ {
		_, size := utf8.DecodeRune(s.data[p:])
		p += size
	}
	return p
}

// isSpace reports whether r is whitespace that YAML may fold.
func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r'
}
