package connectors

import "unicode/utf8"

// TruncateRaw cuts a rejected record's raw form to at most n bytes
// without splitting a character, marking a cut with "…", for
// model.Reject.Raw.
func TruncateRaw(raw []byte, n int) string {
	if len(raw) <= n {
		return string(raw)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(raw[cut]) {
		cut--
	}
	return string(raw[:cut]) + "…"
}
