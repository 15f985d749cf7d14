package model_test

import (
	"net/mail"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/model"
)

func TestValidEmail(t *testing.T) {
	label63 := strings.Repeat("d", 63)
	// 64 + 1 + 63 + 1 + 63 + 1 + 57 + 4 = 254 bytes
	longest := strings.Repeat("l", 64) + "@" + label63 + "." + label63 + "." + strings.Repeat("d", 57) + ".com"
	tests := []struct {
		in   string
		want bool
	}{
		// accepted
		{"ann@example.com", true},
		{"Ann.Lee@Example.COM", true},
		{"a@b.co", true},
		{"ann@mail.example.co.uk", true},
		{"ann+crm@example.com", true},
		{"o'brien@example.ie", true},
		{"x!#$%&'*+-/=?^_`{|}~y@example.com", true},
		{"ann@company-name.com", true},
		{"ann@a-b--c.example", true},
		{"ann@123.example.com", true},
		{"ann@example.xn--p1ai", true},             // .рф
		{"ann@xn--mller-kva.de", true},             // müller.de
		{"ann@xn--80ak6aa92e.xn--p1ai", true},      // IDN name and TLD
		{`"quoted"@x.org`, true},                   // quoted local part
		{`".ann"@example.com`, true},               // what a dot-atom cannot say
		{`"ann..lee"@example.com`, true},           // double dot, quoted
		{`"a@b"@example.com`, true},                // '@' inside quotes
		{`"a\"b"@example.com`, true},               // escaped quote
		{longest, true},                            // 254 bytes
		{strings.Repeat("l", 64) + "@x.org", true}, // 64-byte local part

		// refused
		{"", false},
		{"name@mail", false},                               // no dot in the domain
		{"name@company-name", false},                       // no dot in the domain
		{"a@b.c", false},                                   // one-letter TLD
		{"ann@example.c0m", false},                         // TLD with a digit
		{"ann@192.168.0.1", false},                         // numeric TLD
		{"ann@[192.168.0.1]", false},                       // IP literal
		{"ann@example.xn--", false},                        // empty punycode
		{`"quoted local"@x.org`, false},                    // space, even quoted
		{"ann lee@example.com", false},                     // space
		{" ann@example.com", false},                        // leading space
		{"ann@example.com ", false},                        // trailing space
		{"ann@example.com.", false},                        // trailing dot
		{"ann@.example.com", false},                        // empty label
		{"ann@example..com", false},                        // empty label
		{"ann@-example.com", false},                        // label starting with '-'
		{"ann@example-.com", false},                        // label ending with '-'
		{"ann@exa_mple.com", false},                        // '_' in the domain
		{"ann@" + strings.Repeat("d", 64) + ".com", false}, // 64-byte label
		{".ann@example.com", false},                        // leading dot
		{"ann.@example.com", false},                        // trailing dot
		{"ann..lee@example.com", false},                    // double dot
		{"@example.com", false},                            // no local part
		{"ann@", false},                                    // no domain
		{"ann", false},                                     // no '@'
		{"ann@@example.com", false},                        // two '@'
		{"ann@lee@example.com", false},                     // '@' outside quotes
		{`""@example.com`, false},                          // empty quoted string
		{`"ann@example.com`, false},                        // unterminated quote
		{`"ann\"@example.com`, false},                      // escaped closing quote
		{`"a"b"@example.com`, false},                       // bare quote inside
		{`"ann".lee@example.com`, false},                   // quoted word and atom
		{"ann(comment)@example.com", false},                // comment
		{"ann@example.com (Ann)", false},                   // trailing comment
		{"Ann <ann@example.com>", false},                   // display name
		{"<ann@example.com>", false},                       // angle brackets
		{"ann@example.com, bob@example.com", false},
		{"ann@example.com\r\nBcc: x@example.com", false}, // header injection
		{"ann\t@example.com", false},                     // control character
		{"ann\x00@example.com", false},                   // NUL
		{"jösé@example.com", false},                      // non-ASCII local part
		{"ann@müller.de", false},                         // IDN not in punycode
		{"ann@example.com\u00a0", false},                 // no-break space
		{strings.Repeat("l", 65) + "@x.org", false},      // 65-byte local part
		{"l" + longest, false},                           // 255 bytes
	}
	for _, tt := range tests {
		if got := model.ValidEmail(tt.in); got != tt.want {
			t.Errorf("ValidEmail(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if len(longest) != 254 {
		t.Fatalf("the longest case is %d bytes, want 254", len(longest))
	}
}

// TestValidEmailParses checks that every address ValidEmail accepts is a
// bare address to net/mail too.
func TestValidEmailParses(t *testing.T) {
	for _, s := range []string{
		"ann@example.com", "x!#$%&'*+-/=?^_`{|}~y@example.com", "ann@xn--mller-kva.de",
		`"quoted"@x.org`, `".ann"@example.com`, `"a@b"@example.com`, `"a\"b"@example.com`,
	} {
		if !model.ValidEmail(s) {
			t.Fatalf("ValidEmail(%q) = false", s)
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" {
			t.Errorf("mail.ParseAddress(%q) = %+v, %v; want a bare address", s, a, err)
		}
	}
}

func FuzzValidEmail(f *testing.F) {
	for _, s := range []string{"ann@example.com", `"a b"@x.org`, "name@mail", "a@xn--p1ai.xn--p1ai"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !model.ValidEmail(s) {
			return
		}
		if len(s) > 254 || strings.ContainsAny(s, " \t\r\n") {
			t.Fatalf("ValidEmail(%q) = true", s)
		}
		if a, err := mail.ParseAddress(s); err != nil || a.Name != "" {
			t.Fatalf("ValidEmail(%q) = true, but net/mail: %+v, %v", s, a, err)
		}
	})
}
