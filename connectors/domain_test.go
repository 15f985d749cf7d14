package connectors

import (
	"strings"
	"testing"
)

func TestDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://www.Acme.com/about", "acme.com"},
		{" acme.fr ", "acme.fr"},
		{"http://shop.acme.com:8080", "shop.acme.com"},
		{"", ""},
		{"http://%zz", ""},
	}
	for _, tt := range tests {
		if got := Domain(tt.in); got != tt.want {
			t.Errorf("Domain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncateRaw(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"aé", 2, "a…"},
		{strings.Repeat("é", 3), 4, "éé…"},
	}
	for _, tt := range tests {
		if got := TruncateRaw([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("TruncateRaw(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
