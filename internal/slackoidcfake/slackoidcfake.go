// Package slackoidcfake is an httptest fake of Sign in with Slack, Slack's
// OpenID Connect provider, for tests of the dashboard's sign-in: the
// discovery document (/.well-known/openid-configuration), the JWKS
// (/openid/connect/keys) with an RSA key it generates (one per process),
// the authorize endpoint (/openid/connect/authorize), which approves at
// once and redirects back with a code for the identity the test chose,
// and the Web API methods openid.connect.token and openid.connect.userInfo,
// answering with Slack's envelopes ({"ok":true,...}, or HTTP 200 with
// {"ok":false,"error":"invalid_code"}) and RS256 ID tokens shaped like
// Slack's (iss, sub, aud, exp, iat, auth_time, nonce, at_hash,
// https://slack.com/team_id, email, name...).
//
// A test picks who signs in (SetIdentity) and what goes wrong (SetFault).
// PKCE is off unless SetPKCE turns it on: then the discovery document
// advertises S256 and the token method checks the code_verifier. A Server
// is safe for concurrent use.
package slackoidcfake

import (
	"cmp"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Identity is who signs in at the authorize endpoint.
type Identity struct {
	UserID string // https://slack.com/user_id and sub; "U0FAKE" when empty
	TeamID string // https://slack.com/team_id; "T0FAKE" when empty
	Email  string
	Name   string
	// EmailOnlyInUserInfo leaves email out of the ID token, so that only
	// openid.connect.userInfo tells it.
	EmailOnlyInUserInfo bool
}

// Fault is what the Server does wrong, on purpose.
type Fault string

// The faults a test can select.
const (
	None          Fault = ""
	InvalidCode   Fault = "invalid_code"   // the token method refuses every code
	WrongAudience Fault = "wrong_audience" // ID tokens for another client id
	Expired       Fault = "expired"        // ID tokens that expired an hour ago
	WrongNonce    Fault = "wrong_nonce"    // ID tokens with a nonce that was not asked for
	ReplayToken   Fault = "replay_token"   // the previous sign-in's ID token again
	AccessDenied  Fault = "access_denied"  // the user cancels at Slack
)

// signingKey is the RSA key of every Server in the process, made once:
// generating one per Server would slow the tests down for nothing.
var signingKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// tokenTTL is how long the ID tokens live, as Slack's do (exp − iat).
const tokenTTL = 5 * time.Minute

// grant is what an authorization code stands for.
type grant struct {
	who       Identity
	nonce     string
	redirect  string
	challenge string
}

// Server is a fake Slack OpenID Connect provider.
type Server struct {
	srv          *httptest.Server
	key          *rsa.PrivateKey
	kid          string
	clientID     string
	clientSecret string

	mu      sync.Mutex
	who     Identity
	fault   Fault
	pkce    bool
	codes   map[string]grant
	tokens  map[string]Identity // access token → who
	lastID  string              // the last ID token issued
	counts  map[string]int
	lastReq url.Values // the last authorize query
}

// New starts a Server for the Slack app clientID/clientSecret, closed when
// tb ends.
func New(tb testing.TB, clientID, clientSecret string) *Server {
	tb.Helper()
	key, err := signingKey()
	if err != nil {
		tb.Fatalf("slackoidcfake: generating key: %v", err)
	}
	s := &Server{
		key:          key,
		kid:          "fake-" + randomString(6),
		clientID:     clientID,
		clientSecret: clientSecret,
		codes:        map[string]grant{},
		tokens:       map[string]Identity{},
		counts:       map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /openid/connect/keys", s.keys)
	mux.HandleFunc("GET /openid/connect/authorize", s.authorize)
	mux.HandleFunc("POST /api/openid.connect.token", s.token)
	mux.HandleFunc("/api/openid.connect.userInfo", s.userInfo)
	s.srv = httptest.NewServer(s.count(mux))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the issuer, as a client configures it: the discovery document is
// under it, and it is the ID tokens' iss.
func (s *Server) URL() string { return s.srv.URL }

// SetIdentity chooses who signs in from now on.
func (s *Server) SetIdentity(who Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.who = who
}

// SetFault chooses what goes wrong from now on; None for nothing.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// SetPKCE makes the Server advertise and enforce PKCE (S256), or not.
func (s *Server) SetPKCE(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pkce = on
}

// Count returns how many requests came for path (such as
// "/api/openid.connect.token").
func (s *Server) Count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

// LastAuthorize returns the query of the last authorize request.
func (s *Server) LastAuthorize() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastReq
}

func (s *Server) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.counts[r.URL.Path]++
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// discovery answers the OpenID Provider metadata Slack publishes.
func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	doc := map[string]any{
		"issuer":                                s.URL(),
		"authorization_endpoint":                s.URL() + "/openid/connect/authorize",
		"token_endpoint":                        s.URL() + "/api/openid.connect.token",
		"userinfo_endpoint":                     s.URL() + "/api/openid.connect.userInfo",
		"jwks_uri":                              s.URL() + "/openid/connect/keys",
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"claims_supported":                      []string{"sub", "auth_time", "iss"},
	}
	s.mu.Lock()
	if s.pkce {
		doc["code_challenge_methods_supported"] = []string{"S256"}
	}
	s.mu.Unlock()
	writeJSON(w, doc)
}

func (s *Server) keys(w http.ResponseWriter, _ *http.Request) {
	pub := s.key.PublicKey
	e := big(int64(pub.E))
	writeJSON(w, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": s.kid,
		"n": b64(pub.N.Bytes()), "e": b64(e),
	}}})
}

// authorize approves at once: Slack's consent screen, clicked through.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	switch {
	case q.Get("client_id") != s.clientID:
		http.Error(w, "invalid_client_id", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code" || !hasScope(q.Get("scope"), "openid") || redirect == "":
		http.Error(w, "invalid_request", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(redirect)
	if err != nil {
		http.Error(w, "bad_redirect_uri", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastReq = q
	answer := url.Values{"state": {q.Get("state")}}
	if s.fault == AccessDenied {
		answer.Set("error", "access_denied")
	} else {
		code := randomString(24)
		s.codes[code] = grant{who: s.who, nonce: q.Get("nonce"), redirect: redirect, challenge: q.Get("code_challenge")}
		answer.Set("code", code)
	}
	back.RawQuery = answer.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token is openid.connect.token: a code for an access token and an ID token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		slackError(w, "invalid_form_data")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, known := s.codes[r.PostForm.Get("code")]
	delete(s.codes, r.PostForm.Get("code")) // a code is good once
	switch {
	case id != s.clientID:
		slackError(w, "invalid_client_id")
	case secret != s.clientSecret:
		slackError(w, "bad_client_secret")
	case r.PostForm.Get("grant_type") != "" && r.PostForm.Get("grant_type") != "authorization_code":
		slackError(w, "invalid_grant_type")
	case !known || s.fault == InvalidCode:
		slackError(w, "invalid_code")
	case r.PostForm.Get("redirect_uri") != g.redirect:
		slackError(w, "bad_redirect_uri")
	case s.pkce && g.challenge != challenge(r.PostForm.Get("code_verifier")):
		slackError(w, "invalid_code_verifier")
	default:
		s.issue(w, g)
	}
}

// issue answers a token request for g; s.mu is held.
func (s *Server) issue(w http.ResponseWriter, g grant) {
	access := "xoxp-" + randomString(20)
	s.tokens[access] = g.who
	idToken := s.sign(s.claims(g, access))
	if s.fault == ReplayToken && s.lastID != "" {
		idToken = s.lastID
	}
	s.lastID = idToken
	writeJSON(w, map[string]any{"ok": true, "access_token": access, "token_type": "Bearer", "id_token": idToken})
}

func (s *Server) claims(g grant, access string) map[string]any {
	now := time.Now()
	aud, nonce := s.clientID, g.nonce
	switch s.fault {
	case WrongAudience:
		aud = "9999.other-app"
	case Expired:
		now = now.Add(-time.Hour)
	case WrongNonce:
		nonce = "not-" + nonce
	}
	sum := sha256.Sum256([]byte(access))
	c := profile(g.who)
	c["iss"], c["aud"], c["nonce"] = s.URL(), aud, nonce
	c["iat"], c["auth_time"], c["exp"] = now.Unix(), now.Unix(), now.Add(tokenTTL).Unix()
	c["at_hash"] = b64(sum[:16])
	if g.who.EmailOnlyInUserInfo {
		delete(c, "email")
		delete(c, "email_verified")
	}
	return c
}

// userInfo is openid.connect.userInfo, by GET or POST, token in the
// Authorization header or as the token argument.
func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = r.FormValue("token")
	}
	s.mu.Lock()
	who, known := s.tokens[token]
	s.mu.Unlock()
	switch {
	case token == "":
		slackError(w, "not_authed")
	case !known:
		slackError(w, "invalid_auth")
	default:
		c := profile(who)
		c["ok"] = true
		writeJSON(w, c)
	}
}

// profile is the claims Slack tells about who, in the ID token and from
// openid.connect.userInfo.
func profile(who Identity) map[string]any {
	user := cmp.Or(who.UserID, "U0FAKE")
	team := cmp.Or(who.TeamID, "T0FAKE")
	return map[string]any{
		"sub":                         user,
		"https://slack.com/user_id":   user,
		"https://slack.com/team_id":   team,
		"https://slack.com/team_name": "Fake Team",
		"email":                       who.Email,
		"email_verified":              true,
		"date_email_verified":         1622128723,
		"name":                        who.Name,
		"given_name":                  "",
		"family_name":                 "",
		"locale":                      "en-US",
	}
}

func hasScope(scopes, want string) bool {
	for s := range strings.FieldsSeq(scopes) {
		if s == want {
			return true
		}
	}
	return false
}

func challenge(verifier string) string {
	if verifier == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(verifier))
	return b64(sum[:])
}

// slackError is a Web API method's failure: HTTP 200, ok false.
func slackError(w http.ResponseWriter, code string) {
	writeJSON(w, map[string]any{"ok": false, "error": code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func big(v int64) []byte {
	var out []byte
	for ; v > 0; v >>= 8 {
		out = append([]byte{byte(v)}, out...)
	}
	return out
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}
