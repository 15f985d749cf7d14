package csv

import (
	"strings"
	"testing"
)

func TestParseDecimalComma(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"1234,56", 1234.56},
		{"1.234,56", 1234.56},
		{"1 234,56", 1234.56},
		{"1\u00a0234,56", 1234.56},
		{"1\u202f234,56", 1234.56},
		{"12\u00a0345,00", 12345},
		{"1 234 567,8", 1234567.8},
		{"1.234.567", 1234567},
		{"1.234", 1234},
		{"1 000", 1000},
		{"0,5", 0.5},
		{",5", 0.5},
		{"5,", 5},
		{"42", 42},
		{"-1.234,5", -1234.5},
		{"+7,25", 7.25},
	}
	for _, tt := range tests {
		got, err := parseDecimalComma(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseDecimalComma(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDecimalCommaRefuses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1234.56", "thousands must be grouped by 3 digits"},
		{"1.23,4", "thousands must be grouped by 3 digits"},
		{"1.2345,6", "thousands must be grouped by 3 digits"},
		{"1234.567,8", "thousands must be grouped by 3 digits"},
		{".234,5", "thousands must be grouped by 3 digits"},
		{"1..234", "thousands must be grouped by 3 digits"},
		{"1.234 567,8", `mixes "." and spaces between thousands`},
		{"1,234,56", `more than one decimal ","`},
		{"1,234.5", `a thousands separator after the decimal ","`},
		{"1,2 3", `a thousands separator after the decimal ","`},
		{"12a,5", `unexpected "a"`},
		{"12,5€", `unexpected "€"`},
		{"€12", `unexpected "€"`},
		{"1e3", `unexpected "e"`},
		{"NaN", `unexpected "N"`},
		{"", "no digits"},
		{"-", "no digits"},
		{",", "no digits"},
		{"--5", `unexpected "-"`},
	}
	for _, tt := range tests {
		got, err := parseDecimalComma(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseDecimalComma(%q) = %v, %v; want error %q", tt.in, got, err, tt.want)
		}
	}
}
