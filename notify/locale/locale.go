// Package locale writes what people read in their language: amounts with
// their currency, percents, dates and plurals as English and French
// readers expect them, and the catalogue of every fixed text of Slack
// nudges and digests. Languages are picked by their base ("fr-FR",
// "fr_CA" and "FR" are "fr"); one without a catalogue falls back to the
// configured default.
package locale

import (
	"slices"
	"strings"

	"golang.org/x/text/language"
)

// Languages with a catalogue.
const (
	English = "en"
	French  = "fr"
	// Default is the language of a configuration that names none.
	Default = English
)

// catalogs holds the fixed texts of each supported language.
var catalogs = map[string]*Catalog{English: &english, French: &french}

// Supported returns the languages with a catalogue, sorted.
func Supported() []string {
	return []string{English, French}
}

// IsSupported reports whether lang, once reduced to its base, has a
// catalogue.
func IsSupported(lang string) bool {
	_, ok := catalogs[Base(lang)]
	return ok
}

// Base returns the lower-case ISO 639 base language of the tag lang:
// "fr-FR", "fr_CA" and "FR" give "fr". It returns "" for an empty or
// malformed tag.
func Base(lang string) string {
	lang = strings.ReplaceAll(strings.TrimSpace(lang), "_", "-")
	if lang == "" {
		return ""
	}
	tag, err := language.Parse(lang)
	if err != nil {
		// Well-formed but unknown subtags ("xx") still name a base.
		head, _, _ := strings.Cut(strings.ToLower(lang), "-")
		if len(head) < 2 || len(head) > 3 || strings.Trim(head, "abcdefghijklmnopqrstuvwxyz") != "" {
			return ""
		}
		return head
	}
	base, _ := tag.Base()
	return base.String()
}

// Pick returns the first of langs that has a catalogue, as its base
// ("fr"), else Default. Callers list the most specific language first:
// Pick(contact.Language, cfg.Locale).
func Pick(langs ...string) string {
	for _, l := range langs {
		if b := Base(l); slices.Contains(Supported(), b) {
			return b
		}
	}
	return Default
}

// Locale formats numbers and dates and holds the fixed texts of one
// language. The zero Locale is English.
type Locale struct {
	lang string
}

// For returns the Locale of lang, Default when lang has no catalogue.
func For(lang string) Locale {
	return Locale{lang: Pick(lang)}
}

// Lang is the Locale's language: "en" or "fr".
func (l Locale) Lang() string {
	if l.lang == "" {
		return Default
	}
	return l.lang
}

// T returns the Locale's catalogue of fixed texts.
func (l Locale) T() *Catalog {
	return catalogs[l.Lang()]
}
