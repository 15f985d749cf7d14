package connectors

import "testing"

func TestLanguage(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "", true},
		{"   ", "", true},
		{"fr", "fr", true},
		{" FR ", "fr", true},
		{"fr-FR", "fr-FR", true},
		{"fr_fr", "fr-FR", true},
		{"en-us", "en-US", true}, // HubSpot's hs_language
		{"en-GB", "en-GB", true},
		{"pt-br", "pt-BR", true},
		{"zh-tw", "zh-TW", true},
		{"fra", "fr", true},
		{"French", "fr", true},
		{"french", "fr", true},
		{"Français", "fr", true},
		{"FRANCAIS", "fr", true},
		{"Anglais", "en", true},
		{"Deutsch", "de", true},
		{"Allemand", "de", true},
		{"español", "es", true},
		{"fr;en", "fr", true},
		{"Frnech; English", "en", true},
		{"French, English", "fr", true},
		{"Frnech", "", false},
		{"und", "", false},
		{"zz", "", false},
		{"x-private", "", false},
		{"<script>alert(1)</script>", "", false},
		{"<!channel>", "", false},
		{";;", "", false},
	}
	for _, tt := range tests {
		got, ok := Language(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Language(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWithDefaultsLanguage(t *testing.T) {
	def := Mapping{Language: LanguageMapping{Contact: "hs_language"}}
	tests := []struct {
		name string
		in   LanguageMapping
		want LanguageMapping
	}{
		{"default", LanguageMapping{}, LanguageMapping{Contact: "hs_language"}},
		{"account added", LanguageMapping{Account: "lang"}, LanguageMapping{Contact: "hs_language", Account: "lang"}},
		{"contact replaced", LanguageMapping{Contact: "preferred"}, LanguageMapping{Contact: "preferred"}},
	}
	for _, tt := range tests {
		got := Mapping{Language: tt.in}.WithDefaults(def).Language
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
