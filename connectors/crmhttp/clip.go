package crmhttp

import "strings"

// MaxMessage caps, in bytes, a vendor's message quoted in an error.
const MaxMessage = 300

// Clip trims a vendor's message for quoting in an error, cut to
// MaxMessage bytes with "…" when longer.
func Clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > MaxMessage {
		return s[:MaxMessage] + "…"
	}
	return s
}
