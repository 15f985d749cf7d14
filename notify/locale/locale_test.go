package locale

import (
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

const nnbsp, nbsp = "\u202f", "\u00a0"

func TestPick(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"fr"}, "fr"},
		{[]string{"fr-FR"}, "fr"},
		{[]string{"fr_CA"}, "fr"},
		{[]string{"FR"}, "fr"},
		{[]string{" en-GB "}, "en"},
		{[]string{"de", "fr"}, "fr"},
		{[]string{"", "fr"}, "fr"},
		{[]string{"xx-YY", "en"}, "en"},
		{[]string{"not a tag!", "fr"}, "fr"},
		{[]string{"de"}, Default},
		{nil, Default},
	}
	for _, tt := range tests {
		if got := Pick(tt.in...); got != tt.want {
			t.Errorf("Pick(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBase(t *testing.T) {
	tests := map[string]string{"fr-FR": "fr", "fr_CA": "fr", "FR": "fr", "de-AT": "de", "xx": "xx", "": "", "f": "", "12": "", "français": ""}
	for in, want := range tests {
		if got := Base(in); got != want {
			t.Errorf("Base(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMoney(t *testing.T) {
	en, fr := For("en"), For("fr")
	tests := []struct {
		l        Locale
		v        float64
		currency string
		want     string
	}{
		{en, 12345.6, "EUR", "€12,346"},
		{en, 12345.6, "usd", "$12,346"},
		{en, 12345.6, "", "12,346"},
		{en, -1500, "EUR", "-€1,500"},
		{en, 1234567, "GBP", "£1,234,567"},
		{en, 999.5, "CHF", "CHF" + nbsp + "1,000"},
		{en, 10, "ZZZ", "ZZZ" + nbsp + "10"},
		{en, math.NaN(), "EUR", "€0"},
		{fr, 12345.6, "EUR", "12" + nnbsp + "346" + nnbsp + "€"},
		{fr, 12345.6, "", "12" + nnbsp + "346"},
		{fr, 12345.6, "USD", "12" + nnbsp + "346" + nnbsp + "$US"},
		{fr, -1500, "EUR", "-1" + nnbsp + "500" + nnbsp + "€"},
		{fr, 999, "EUR", "999" + nnbsp + "€"},
	}
	for _, tt := range tests {
		if got := tt.l.Money(tt.v, tt.currency); got != tt.want {
			t.Errorf("%s Money(%v, %q) = %q, want %q", tt.l.Lang(), tt.v, tt.currency, got, tt.want)
		}
	}
}

func TestPercent(t *testing.T) {
	en, fr := For("en"), For("fr")
	tests := []struct {
		l    Locale
		in   float64
		want string
	}{
		{en, 0.4, "-60%"},
		{en, 1.25, "+25%"},
		{en, 1, "+0%"},
		{en, math.Inf(1), "n/a"},
		{fr, 0.4, "-60" + nnbsp + "%"},
		{fr, 1.25, "+25" + nnbsp + "%"},
		{fr, math.NaN(), "n.d."},
	}
	for _, tt := range tests {
		if got := tt.l.Percent(tt.in); got != tt.want {
			t.Errorf("%s Percent(%v) = %q, want %q", tt.l.Lang(), tt.in, got, tt.want)
		}
	}
}

func TestDate(t *testing.T) {
	d := time.Date(2026, 11, 3, 23, 0, 0, 0, time.UTC)
	if got := For("en").Date(d); got != "Nov 3, 2026" {
		t.Errorf("en Date = %q", got)
	}
	if got := For("fr").Date(d); got != "3 nov. 2026" {
		t.Errorf("fr Date = %q", got)
	}
	if got := For("fr").Date(time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)); got != "28 févr. 2026" {
		t.Errorf("fr Date = %q", got)
	}
}

func TestPlural(t *testing.T) {
	en, fr := For("en"), For("fr")
	tests := []struct {
		l    Locale
		n    int
		want string
	}{
		{en, 0, "0 days"}, {en, 1, "1 day"}, {en, 2, "2 days"}, {en, -1, "-1 day"}, {en, 1200, "1,200 days"},
		{fr, 0, "0 jour"}, {fr, 1, "1 jour"}, {fr, 2, "2 jours"}, {fr, 1200, "1" + nnbsp + "200 jours"},
	}
	for _, tt := range tests {
		if got := tt.l.Days(tt.n); got != tt.want {
			t.Errorf("%s Days(%d) = %q, want %q", tt.l.Lang(), tt.n, got, tt.want)
		}
	}
}

func TestDigestCount(t *testing.T) {
	tests := []struct {
		lang    string
		n       int
		channel bool
		want    string
	}{
		{"en", 8, false, "8 of your clients need attention"},
		{"en", 1, false, "1 of your clients needs attention"},
		{"en", 8, true, "8 clients need attention"},
		{"en", 1, true, "1 client needs attention"},
		{"fr", 8, false, "8 de vos clients sont à suivre"},
		{"fr", 1, true, "1 client à suivre"},
	}
	for _, tt := range tests {
		if got := For(tt.lang).T().DigestCount(tt.n, tt.channel); got != tt.want {
			t.Errorf("%s DigestCount(%d, %v) = %q, want %q", tt.lang, tt.n, tt.channel, got, tt.want)
		}
	}
}

var verbs = regexp.MustCompile(`%[a-z]`)

// TestCatalogsComplete checks that every language fills every text, with
// the verbs of English in the same order, and no mrkdwn control
// character.
func TestCatalogsComplete(t *testing.T) {
	en := reflect.ValueOf(english)
	for _, lang := range Supported() {
		c := reflect.ValueOf(*For(lang).T())
		for i := range c.NumField() {
			name, got := c.Type().Field(i).Name, c.Field(i).String()
			if strings.TrimSpace(got) == "" {
				t.Errorf("%s: %s is empty", lang, name)
			}
			if strings.ContainsAny(got, "&<>") {
				t.Errorf("%s: %s = %q contains &, < or >", lang, name, got)
			}
			want := strings.Join(verbs.FindAllString(en.Field(i).String(), -1), " ")
			if v := strings.Join(verbs.FindAllString(got, -1), " "); v != want {
				t.Errorf("%s: %s has verbs %q, English %q", lang, name, v, want)
			}
		}
	}
}

func TestZeroLocaleIsEnglish(t *testing.T) {
	var l Locale
	if l.Lang() != English || l.T() != &english || For("de").Lang() != Default {
		t.Errorf("zero Locale = %q, For(de) = %q", l.Lang(), For("de").Lang())
	}
}
