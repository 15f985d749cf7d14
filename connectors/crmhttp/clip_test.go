package crmhttp

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	long := strings.Repeat("x", MaxMessage+5)
	tests := []struct{ in, want string }{
		{"", ""},
		{"  quota exceeded \n", "quota exceeded"},
		{long[:MaxMessage], long[:MaxMessage]},
		{" " + long, long[:MaxMessage] + "…"},
	}
	for _, tt := range tests {
		if got := Clip(tt.in); got != tt.want {
			t.Errorf("Clip(%.20q…) = %.20q… (%d bytes), want %d bytes", tt.in, got, len(got), len(tt.want))
		}
	}
}
