package csv

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of the header description in an error.
const (
	hintColumns = 8  // columns named
	hintWidth   = 60 // bytes of a column's name shown
)

// headerHint says how the header hdr was read and what it holds, for an
// error about a missing column, and suggests another delimiter when the
// header is one column holding one:
//
//	read the header with delimiter ","; it has 1 column "id;name;owner_id"; set delimiter: ";"?
func (f *file) headerHint(hdr []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "read the header with delimiter %s", quoteRune(f.comma))
	if f.origin != "" {
		fmt.Fprintf(&b, " (%s)", f.origin)
	}
	if len(hdr) == 1 {
		fmt.Fprintf(&b, "; it has 1 column %s", strconv.Quote(clip(hdr[0])))
		if d, n := mostFrequentDelimiter(hdr[0]); n > 0 && d != f.comma {
			fmt.Fprintf(&b, "; set delimiter: %s?", quoteRune(d))
		}
		return b.String()
	}
	fmt.Fprintf(&b, "; it has %d columns: ", len(hdr))
	for i, h := range hdr[:min(len(hdr), hintColumns)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(clip(h)))
	}
	if len(hdr) > hintColumns {
		fmt.Fprintf(&b, " and %d more", len(hdr)-hintColumns)
	}
	return b.String()
}

// mostFrequentDelimiter returns the delimiter found most often in s
// outside double quotes, the earliest in delimiters on a tie, and how
// often.
func mostFrequentDelimiter(s string) (rune, int) {
	counts := make(map[rune]int, len(delimiters))
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && isDelimiter(r):
			counts[r]++
		}
	}
	best := delimiters[0]
	for _, d := range delimiters {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return best, counts[best]
}

// quoteRune quotes a delimiter as configuration writes it: "\t" for a tab.
func quoteRune(r rune) string {
	return strconv.Quote(string(r))
}

// clip cuts a column's name to hintWidth bytes, without splitting a
// character, marking the cut with "…".
func clip(s string) string {
	if len(s) <= hintWidth {
		return s
	}
	cut := hintWidth
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
