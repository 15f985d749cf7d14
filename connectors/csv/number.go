package csv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// parseDecimal parses an optionally signed decimal such as "-1234.50",
// refusing what strconv.ParseFloat accepts beyond that (exponents,
// hexadecimal, underscores, Inf, NaN).
func parseDecimal(s string) (float64, error) {
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	whole, frac, _ := strings.Cut(digits, ".")
	if whole+frac == "" || !allDigits(whole) || !allDigits(frac) {
		return 0, errors.New("not a decimal number")
	}
	return strconv.ParseFloat(s, 64)
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseDecimalComma parses an optionally signed decimal written with a ','
// before the decimals and, optionally, the thousands grouped by '.' or by
// spaces (' ', U+00A0 or U+202F): "1234,56", "1.234,56", "1 234,56".
// Its error says what is wrong.
func parseDecimalComma(s string) (float64, error) {
	sign, digits := "", s
	if digits != "" && (digits[0] == '-' || digits[0] == '+') {
		sign, digits = digits[:1], digits[1:]
	}
	whole, frac, _ := strings.Cut(digits, ",")
	switch {
	case strings.Contains(frac, ","):
		return 0, errors.New(`more than one decimal ","`)
	case strings.ContainsFunc(frac, isGroupSeparator):
		return 0, errors.New(`a thousands separator after the decimal ","`)
	case !allDigits(frac):
		return 0, fmt.Errorf("unexpected %q", firstRune(strings.TrimLeft(frac, "0123456789")))
	}
	whole, err := ungroup(whole)
	if err != nil {
		return 0, err
	}
	if whole+frac == "" {
		return 0, errors.New("no digits")
	}
	return strconv.ParseFloat(sign+whole+"."+frac, 64)
}

// isGroupSeparator reports whether r may group thousands when ',' is the
// decimal separator.
func isGroupSeparator(r rune) bool {
	return r == '.' || isSpaceSeparator(r)
}

// isSpaceSeparator reports whether r is a space that may group thousands:
// a space, a no-break space or a narrow no-break space.
func isSpaceSeparator(r rune) bool {
	return r == ' ' || r == '\u00A0' || r == '\u202F'
}

// ungroup returns the digits of s, the whole part of a number whose
// thousands may be grouped, without the separators. Groups are all
// separated the same way ('.' or spaces), the first has 1 to 3 digits and
// the others 3.
func ungroup(s string) (string, error) {
	var groups []string
	var sep string // "." or "space" once one is met
	start := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			continue
		case !isGroupSeparator(r):
			return "", fmt.Errorf("unexpected %q", string(r))
		}
		kind := "space"
		if r == '.' {
			kind = "."
		}
		if sep != "" && sep != kind {
			return "", errors.New(`mixes "." and spaces between thousands`)
		}
		sep = kind
		groups = append(groups, s[start:i])
		start = i + len(string(r))
	}
	if sep == "" {
		return s, nil
	}
	groups = append(groups, s[start:])
	if n := len(groups[0]); n < 1 || n > 3 {
		return "", errors.New("thousands must be grouped by 3 digits")
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return "", errors.New("thousands must be grouped by 3 digits")
		}
	}
	return strings.Join(groups, ""), nil
}
