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

// TestMenuValue checks that button and menu values read as encoding/json
// would write them and parse back, hostile ids and all.
func TestMenuValue(t *testing.T) {
	for _, ids := range [][2]string{{"hubspot:42", "quiet"}, {`<script>"x"\&`, "r\n\u2028"}, {"é:€", "règle"}} {
		for _, do := range []string{"", ActionSnooze} {
			got := MenuValue(do, ids[0], ids[1])
			want, _ := json.Marshal(buttonValue{Account: ids[0], Rule: ids[1], Do: do})
			var g, w buttonValue
			if err := json.Unmarshal([]byte(got), &g); err != nil {
				t.Fatalf("MenuValue(%q, %q, %q) = %s: %v", do, ids[0], ids[1], got, err)
			}
			json.Unmarshal(want, &w)
			if g != w {
				t.Errorf("MenuValue(%q, %q, %q) reads %+v, want %+v", do, ids[0], ids[1], g, w)
			}
			if acct, rule, err := ParseButtonValue(got); err != nil || acct != ids[0] || rule != ids[1] {
				t.Errorf("ParseButtonValue(%s) = %q, %q, %v", got, acct, rule, err)
			}
		}
	}
	if got := ButtonValue("a", "r"); got != `{"account":"a","rule":"r"}` {
		t.Errorf("ButtonValue = %s", got)
	}
}
