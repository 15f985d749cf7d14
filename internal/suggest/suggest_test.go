package suggest

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"url", "urll", 1},
		{"kitten", "sitting", 3}, {"days_inactiv", "days_inactive", 1}, {"same", "same", 0},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	keys := []string{"url", "url_file", "namespace", "days_inactive", "days_since_purchase"}
	tests := []struct {
		name, want string
	}{
		{"urll", "url"},
		{"namespce", "namespace"},
		{"days_inactiv", "days_inactive"},
		{"days_since_purchse", "days_since_purchase"},
		{"xyz", ""},     // too far from everything
		{"u", ""},       // as many edits as letters: no hint
		{"revenue", ""}, // plausible only if close
	}
	for _, tt := range tests {
		if got := Closest(tt.name, keys); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := Closest("x", nil); got != "" {
		t.Errorf("Closest with no candidates = %q", got)
	}
}
