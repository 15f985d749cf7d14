package csv

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DateFormat is a way of writing dates, such as DD/MM/YYYY. The zero
// DateFormat is none. Build one with ParseDateFormat.
type DateFormat struct {
	pattern string // as written in configuration
	layout  string // the time.Parse layout
}

// String returns the pattern, empty for none.
func (d DateFormat) String() string { return d.pattern }

// parse reads s written in d, as a time in UTC.
func (d DateFormat) parse(s string) (time.Time, bool) {
	if d.layout == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(d.layout, s)
	return t, err == nil
}

// dateToken is one field of a date pattern.
type dateToken struct {
	text   string // in the pattern
	layout string // in the time.Parse layout
	field  string // which part of a date it is, for duplicates
	narrow bool   // one or two digits: needs a separator next to it
}

// dateTokens are the fields of a date pattern, longest first.
var dateTokens = []dateToken{
	{"YYYY", "2006", "year", false}, {"AAAA", "2006", "year", false},
	{"MM", "01", "month", false}, {"DD", "02", "day", false}, {"JJ", "02", "day", false},
	{"HH", "15", "hour", false}, {"mm", "04", "minute", false}, {"ss", "05", "second", false},
	{"M", "1", "month", true}, {"D", "2", "day", true}, {"J", "2", "day", true},
}

// dateSeparators may stand between the fields of a date pattern.
const dateSeparators = "/-.: T"

// dateFormatHelp says what ParseDateFormat accepts.
const dateFormatHelp = `want a pattern such as DD/MM/YYYY or DD/MM/YYYY HH:mm: YYYY (or AAAA) the year, ` +
	`MM the month and DD (or JJ) the day on 2 digits, M and D (or J) on 1 or 2, HH:mm or HH:mm:ss a time of day, ` +
	`with / - . : spaces or T between them`

// ParseDateFormat reads a date_format setting: a pattern of YYYY (or the
// French AAAA) for the year, MM for the month and DD (or JJ) for the day,
// each on two digits, M and D (or J) for a month or day on one or two,
// and optionally HH, mm and ss for the time of day (read as UTC), with
// the separators / - . : space and T. An empty s is the zero DateFormat.
func ParseDateFormat(s string) (DateFormat, error) {
	if s == "" {
		return DateFormat{}, nil
	}
	layout, err := dateLayout(s)
	if err != nil {
		return DateFormat{}, fmt.Errorf("invalid date format %q: %w (%s)", s, err, dateFormatHelp)
	}
	return DateFormat{pattern: s, layout: layout}, nil
}

// dateLayout translates pattern into a time.Parse layout.
func dateLayout(pattern string) (string, error) {
	if hint := fromGoLayout(pattern); hint != "" {
		return "", fmt.Errorf("this is a Go layout; write it %q", hint)
	}
	var layout strings.Builder
	seen := map[string]bool{}
	var prev *dateToken // the token just before, nil after a separator
	for rest := pattern; rest != ""; {
		if strings.IndexByte(dateSeparators, rest[0]) >= 0 {
			layout.WriteByte(rest[0])
			rest, prev = rest[1:], nil
			continue
		}
		tok := matchToken(rest)
		switch {
		case tok == nil:
			return "", fmt.Errorf("unexpected %q", firstRune(rest))
		case seen[tok.field]:
			return "", fmt.Errorf("the %s appears twice", tok.field)
		case prev != nil && (prev.narrow || tok.narrow):
			return "", fmt.Errorf("%s and %s need a separator between them", prev.text, tok.text)
		}
		seen[tok.field] = true
		layout.WriteString(tok.layout)
		rest, prev = rest[len(tok.text):], tok
	}
	return layout.String(), checkFields(seen)
}

// checkFields checks that a pattern has a whole date and, if any, a time
// of day with hours and minutes.
func checkFields(seen map[string]bool) error {
	for _, f := range []string{"year", "month", "day"} {
		if !seen[f] {
			return fmt.Errorf("no %s", f)
		}
	}
	switch {
	case seen["minute"] && !seen["hour"]:
		return errors.New("mm is minutes and needs HH (the month is MM)")
	case seen["hour"] && !seen["minute"]:
		return errors.New("HH needs mm for the minutes")
	case seen["second"] && !seen["minute"]:
		return errors.New("ss needs HH:mm")
	}
	return nil
}

// matchToken returns the token s starts with, or nil.
func matchToken(s string) *dateToken {
	for i := range dateTokens {
		if strings.HasPrefix(s, dateTokens[i].text) {
			return &dateTokens[i]
		}
	}
	return nil
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// goLayout turns the fields of a Go layout into a pattern's.
var goLayout = strings.NewReplacer("2006", "YYYY", "01", "MM", "02", "DD", "15", "HH", "04", "mm", "05", "ss")

// fromGoLayout returns the pattern for s when s is a Go layout such as
// 02/01/2006, or empty.
func fromGoLayout(s string) string {
	if !strings.Contains(s, "2006") {
		return ""
	}
	p := goLayout.Replace(s)
	if _, err := dateLayout(p); err != nil {
		return ""
	}
	return p
}
