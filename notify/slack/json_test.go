package slack

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAppendString checks that strings are escaped byte for byte as
// encoding/json escapes them without HTML escaping.
func TestAppendString(t *testing.T) {
	tests := []string{
		"", "plain", `quote " and \ backslash`, "<mailto:a@b.c|a&b>", "tab\tnew\nline\rcr",
		"\x00\x01\x1f\b\f\x7f", "é € 😀", "bad \xff utf-8 \xc3", "line\u2028para\u2029end", "&amp;lt;",
	}
	for _, s := range tests {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := string(appendString(nil, s)); got+"\n" != want.String() {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want.String())
		}
	}
}

// FuzzAppendString compares appendString with encoding/json on any
// string.
func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\\c\n\u2028\xff<&>")
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		if got := string(appendString(nil, s)); got+"\n" != want.String() {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want.String())
		}
	})
}

// TestBlockListEmpty checks that a message without blocks is an empty
// JSON array.
func TestBlockListEmpty(t *testing.T) {
	if got := string(newBlockList(0).json()); got != "[]" {
		t.Errorf("empty blocks = %s, want []", got)
	}
}
