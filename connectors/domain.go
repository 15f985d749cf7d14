package connectors

import (
	"net/url"
	"strings"
)

// Domain returns the host of a CRM website field ("https://www.Acme.com/x",
// "acme.com") in lower case and without "www."; "" when it has none.
func Domain(website string) string {
	w := strings.TrimSpace(website)
	if w == "" {
		return ""
	}
	if !strings.Contains(w, "://") {
		w = "http://" + w
	}
	u, err := url.Parse(w)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
}
