package model

import "strings"

// Limits of an email address, in bytes (RFC 5321, section 4.5.3.1).
const (
	maxEmailLen = 254 // the whole address
	maxLocalLen = 64  // the part before the '@'
	maxLabelLen = 63  // one dot-separated label of the domain
)

// ValidEmail reports whether s is an address SendGrid accepts as a
// recipient or a sender, so that crmsync never sends one SendGrid would
// refuse with a 400. That is a bare address, local@domain (no display
// name, angle brackets or comment), where:
//
//   - the whole is at most 254 bytes of printable ASCII, with no space or
//     control character: an internationalised domain must be written in
//     punycode (xn--...);
//   - the local part is 1 to 64 bytes, either a dot-atom (letters, digits
//     and !#$%&'*+-/=?^_`{|}~, in runs separated by single dots, neither
//     first nor last) or a quoted string ("..."), as net/mail parses them;
//   - the domain is two or more dot-separated labels of 1 to 63 letters,
//     digits and hyphens, no label starting or ending with a hyphen, with
//     no trailing dot; the last label, the top-level domain, is two or more
//     letters or a punycode label (xn--...). IP literals ([192.0.2.1]) are
//     refused, as SendGrid refuses them.
//
// So name@mail, name@company-name and a@b.c are not valid; a@b.co is.
func ValidEmail(s string) bool {
	if len(s) > maxEmailLen || !allBytes(s, isPrintable) {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return false
	}
	return validLocalPart(s[:at]) && validDomain(s[at+1:])
}

// allBytes reports whether every byte of s satisfies ok.
func allBytes(s string, ok func(byte) bool) bool {
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// isPrintable reports whether c is printable ASCII other than the space.
func isPrintable(c byte) bool { return c >= '!' && c <= '~' }

// validLocalPart reports whether l is a dot-atom or a quoted string of at
// most 64 bytes. Its bytes are already printable ASCII.
func validLocalPart(l string) bool {
	if l == "" || len(l) > maxLocalLen {
		return false
	}
	if l[0] == '"' {
		return validQuoted(l)
	}
	for _, atom := range strings.Split(l, ".") {
		if atom == "" || !allBytes(atom, isAtext) {
			return false
		}
	}
	return true
}

// validQuoted reports whether l is one non-empty quoted string: '"', then
// characters other than '"' and '\' or pairs of '\' and any character,
// then '"' ending l.
func validQuoted(l string) bool {
	if len(l) < 3 || l[len(l)-1] != '"' {
		return false
	}
	inner := l[1 : len(l)-1]
	for i := 0; i < len(inner); i++ {
		switch inner[i] {
		case '\\':
			if i++; i == len(inner) {
				return false // the '\' escapes the closing quote
			}
		case '"':
			return false
		}
	}
	return true
}

// isAtext reports whether c may appear in an atom (RFC 5322, section 3.2.3).
func isAtext(c byte) bool {
	return isLetter(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// validDomain reports whether d is a host name with at least one dot and a
// top-level domain of letters or punycode.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !validLabel(l) {
			return false
		}
	}
	return validTLD(labels[len(labels)-1])
}

// validLabel reports whether l is 1 to 63 letters, digits and hyphens, not
// starting or ending with a hyphen.
func validLabel(l string) bool {
	if l == "" || len(l) > maxLabelLen || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	return allBytes(l, func(c byte) bool { return isLetter(c) || isDigit(c) || c == '-' })
}

// validTLD reports whether a valid label l can be a top-level domain: two
// or more letters, or punycode ("xn--" and more).
func validTLD(l string) bool {
	if len(l) > 4 && strings.EqualFold(l[:4], "xn--") {
		return true
	}
	return len(l) >= 2 && allBytes(l, isLetter)
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
