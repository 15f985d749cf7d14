package connectors

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"
)

// Language reads a CRM's language value as a BCP 47 tag in its canonical
// form, as model.Contact.Language and model.Account.Language hold it:
//
//   - a tag in any case, with '-' or '_': "fr", "FR", "fr_fr" and "fr-FR"
//     give "fr" or "fr-FR", HubSpot's "en-us" gives "en-US", ISO 639-2
//     "fra" gives "fr";
//   - a language's name in English, in French or in the language itself,
//     in any case and with or without accents: "French", "Français",
//     "francais", "Anglais", "Deutsch" give the base tag ("fr", "en", "de");
//   - a list, as multi-select picklists write them ("fr;en", "French,
//     English"): its first item that names a language.
//
// It returns "", true for an empty value and "", false for a value that
// names no language ("Frnech", "und", "zz", "<script>").
func Language(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", true
	}
	for item := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ';' || r == ',' }) {
		if tag, ok := languageItem(item); ok {
			return tag, true
		}
	}
	return "", false
}

// languageItem reads one value: a tag or a language's name.
func languageItem(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", false
	}
	if tag, err := language.Parse(v); err == nil {
		if _, conf := tag.Base(); conf == language.Exact { // not und, und-FR, x-…
			return tag.String(), true
		}
		return "", false
	}
	tag, ok := languageNames()[fold(v)]
	return tag, ok
}

// languageNames maps the folded English, French and native names of the
// languages x/text knows to their base tags; English names win a
// collision, then native ones.
var languageNames = sync.OnceValue(func() map[string]string {
	bases := display.Supported.BaseLanguages()
	names := make(map[string]string, 3*len(bases))
	namers := []func(any) string{
		display.English.Languages().Name,
		display.Self.Name,
		display.French.Languages().Name,
	}
	for _, name := range namers {
		for _, b := range bases {
			tag, err := language.Compose(b)
			if err != nil || b.String() == "und" {
				continue
			}
			if n := fold(name(tag)); n != "" {
				if _, taken := names[n]; !taken {
					names[n] = b.String()
				}
			}
		}
	}
	return names
})

// fold lower-cases s and drops its accents: "Français" is "francais".
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(strings.TrimSpace(s))) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
