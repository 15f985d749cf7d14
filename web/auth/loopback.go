package auth

import (
	"net"
	"net/http"

	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// proxyHeaders mean a proxy forwarded the request: its remote address
// being loopback says nothing about the browser's.
var proxyHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip"}

// loopbackSession admits a request made on loopback, with an anonymous
// session (for its CSRF token) that it starts when there is none; it
// refuses any other request with a page saying how to set up sign-in.
func (a *Auth) loopbackSession(w http.ResponseWriter, r *http.Request) (session, bool) {
	if !onLoopback(r) {
		a.render(w, http.StatusForbidden, loopbackPage(true))
		return session{}, false
	}
	if s, err := a.session(r); err == nil && s.Via == ViaLoopback {
		return s, true
	}
	s, err := a.startSession(w, r, "", "local user", ViaLoopback)
	if err != nil {
		http.Error(w, "starting session", http.StatusInternalServerError)
		return session{}, false
	}
	return s, true
}

// onLoopback tells whether r came from this machine, straight to a
// loopback listener, under a loopback name: the Host check defeats DNS
// rebinding (a page of evil.example whose name resolves to 127.0.0.1).
func onLoopback(r *http.Request) bool {
	for _, h := range proxyHeaders {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && !loopbackAddr(local.String()) {
		return false
	}
	return loopbackAddr(r.RemoteAddr) && loopbackAddr(r.Host)
}

// loopbackAddr tells whether hostport (or a bare host) is on loopback.
func loopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	return crmhttp.IsLoopback(host)
}

// loopbackPage explains the loopback-only mode; refused is for a request
// from elsewhere.
func loopbackPage(refused bool) page {
	p := page{
		Title: "Sign-in is not configured",
		Lines: []string{
			"No sign-in is configured, so this dashboard is served only on this machine (loopback: http://127.0.0.1 or http://localhost), where everyone is an admin.",
			"To open it from elsewhere, configure Sign in with Slack in crmsync's config: the Slack app's client id and secret, the dashboard's public URL and a session key of at least 32 bytes. Scripts may instead send the admin token (Authorization: Bearer …).",
		},
	}
	if refused {
		p.Title = "Only on this machine"
	} else {
		p.Link = &link{Href: "/", Text: "Open the dashboard"}
	}
	return p
}
