package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Cookie names.
const (
	sessionCookie = "crmsync_session"
	stateCookie   = "crmsync_signin"
)

// What a MAC is for, so that one kind of signed value never passes for
// another (a state cookie for a session, a session id for a CSRF token).
const (
	purposeSession = "session"
	purposeState   = "state"
	purposeCSRF    = "csrf"
)

var (
	errMalformed = errors.New("malformed")
	errSignature = errors.New("bad signature")
	errExpired   = errors.New("expired")
)

// signer seals values as base64url(JSON) "." base64url(HMAC-SHA256).
type signer struct{ key []byte }

func (s signer) mac(purpose, data string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(data))
	return m.Sum(nil)
}

// seal signs v for purpose.
func (s signer) seal(purpose string, v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sealing %s: %w", purpose, err)
	}
	payload := b64(data)
	return payload + "." + b64(s.mac(purpose, payload)), nil
}

// open checks sealed's signature for purpose and decodes it into v.
func (s signer) open(purpose, sealed string, v any) error {
	payload, sig, ok := strings.Cut(sealed, ".")
	if !ok {
		return errMalformed
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return errMalformed
	}
	if !hmac.Equal(got, s.mac(purpose, payload)) {
		return errSignature
	}
	data, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return errMalformed
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errMalformed
	}
	return nil
}

// token returns a value derived from id for purpose (a CSRF token).
func (s signer) token(purpose, id string) string { return b64(s.mac(purpose, id)) }

// session is what the session cookie holds. Whether its user is an admin
// is decided on each request from Options.Admins, so that a change of the
// list applies at once.
type session struct {
	ID      string `json:"id"` // random; the CSRF token and logout derive from it
	Email   string `json:"em,omitempty"`
	Name    string `json:"nm,omitempty"`
	Via     string `json:"via"`
	Expires int64  `json:"exp"` // unix seconds
}

// loginState is what the state cookie holds between /auth/login and
// /auth/callback: it binds the sign-in to the browser that started it.
type loginState struct {
	State    string `json:"st"`
	Nonce    string `json:"nc"`
	Verifier string `json:"cv,omitempty"` // PKCE
	Next     string `json:"nx,omitempty"`
	Expires  int64  `json:"exp"`
}

// readCookie opens the cookie name for purpose into v, then checks that
// it has not expired (exp is v's expiry, read after decoding).
func (a *Auth) readCookie(r *http.Request, name, purpose string, v any, exp func() int64) error {
	c, err := r.Cookie(name)
	if err != nil {
		return err
	}
	if err := a.signer.open(purpose, c.Value, v); err != nil {
		return err
	}
	if a.opts.Now().Unix() >= exp() {
		return errExpired
	}
	return nil
}

// setCookie sets name to value until expires.
func (a *Auth) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	c := a.cookie(r, name, value)
	c.Expires = expires.UTC()
	c.MaxAge = max(int(expires.Sub(a.opts.Now()).Seconds()), 1)
	http.SetCookie(w, c)
}

// clearCookie deletes the cookie name from the browser.
func (a *Auth) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	c := a.cookie(r, name, "")
	c.MaxAge = -1
	http.SetCookie(w, c)
}

func (a *Auth) cookie(r *http.Request, name, value string) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   a.secure(r),
		SameSite: http.SameSiteLaxMode,
	}
}

// secure tells whether cookies get the Secure attribute.
func (a *Auth) secure(r *http.Request) bool {
	switch a.opts.CookieSecure {
	case SecureAlways:
		return true
	case SecureNever:
		return false
	}
	return strings.HasPrefix(a.opts.PublicURL, "https://") || r.TLS != nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// random returns n random bytes, base64url.
func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b64(b)
}
