package salesforcefake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// JWTBearerGrant is the grant_type of the JWT bearer flow.
const JWTBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// maxJWTLifetime is how far in the future a JWT's exp may be: Salesforce
// wants it "within 3 minutes".
const maxJWTLifetime = 3 * time.Minute

// jwtSkew tolerates clocks slightly apart when checking exp.
const jwtSkew = 5 * time.Second

var (
	keyOnce, otherOnce sync.Once
	trusted, untrusted *rsa.PrivateKey
)

func generateKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("salesforcefake: generate key: " + err.Error())
	}
	return k
}

// TrustedKey returns the RSA key whose certificate every fake org trusts
// for the JWT bearer flow; it is generated once per process.
func TrustedKey() *rsa.PrivateKey {
	keyOnce.Do(func() { trusted = generateKey() })
	return trusted
}

// PrivateKeyPEM returns TrustedKey as a PKCS #8 PEM block, the form an
// administrator saves next to the certificate uploaded to the app.
func PrivateKeyPEM() []byte { return keyPEM(TrustedKey()) }

// UntrustedKeyPEM returns the PEM of another RSA key, which no fake org
// trusts: assertions it signs are refused.
func UntrustedKeyPEM() []byte {
	otherOnce.Do(func() { untrusted = generateKey() })
	return keyPEM(untrusted)
}

func keyPEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic("salesforcefake: marshal key: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// FailTokens makes the token endpoint answer every grant with the OAuth
// error code and description given ("invalid_grant", "expired
// access/refresh token"); an empty code lets grants succeed again.
func (s *Server) FailTokens(code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenErr = nil
	if code != "" {
		s.tokenErr = &oauthError{Error: code, Description: description}
	}
}

// RevokeRefreshTokens makes every refresh token issued so far invalid.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.refresh)
}

// RefreshTokens returns the refresh tokens currently accepted.
func (s *Server) RefreshTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.refresh {
		out = append(out, t)
	}
	return out
}

// AccessTokens returns the access tokens issued so far, valid or not.
func (s *Server) AccessTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, s.tokenSeq)
	for i := 1; i <= s.tokenSeq; i++ {
		out = append(out, accessToken(i))
	}
	return out
}

func accessToken(seq int) string {
	return fmt.Sprintf("00D5g000004FAKE!AQ0AQ%06dSessionTok", seq)
}

// serveToken answers POST /services/oauth2/token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, oauthError{"invalid_request", "must use HTTP POST"})
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		writeOAuthError(w, oauthError{"invalid_request", "unsupported content type"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, oauthError{"invalid_request", "malformed body"})
		return
	}
	s.mu.Lock()
	fail := s.tokenErr
	s.mu.Unlock()
	if fail != nil {
		writeOAuthError(w, *fail)
		return
	}
	f := r.PostForm
	switch f.Get("grant_type") {
	case JWTBearerGrant:
		s.grantJWT(w, f.Get("assertion"))
	case "client_credentials":
		s.grantClientCredentials(w, f.Get("client_id"), f.Get("client_secret"))
	case "refresh_token":
		s.grantRefresh(w, f.Get("client_id"), f.Get("client_secret"), f.Get("refresh_token"), f.Has("client_secret"))
	default:
		writeOAuthError(w, oauthError{"unsupported_grant_type", "grant type not supported"})
	}
}

func (s *Server) grantClientCredentials(w http.ResponseWriter, id, secret string) {
	if id != s.opts.ClientID {
		writeOAuthError(w, oauthError{"invalid_client_id", "client identifier invalid"})
		return
	}
	if secret != s.opts.ClientSecret {
		writeOAuthError(w, oauthError{"invalid_client", "invalid client credentials"})
		return
	}
	tok := s.issue()
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": tok, "signature": signature(tok), "token_format": "opaque",
		"instance_url": s.URL(), "id": s.identityURL(), "token_type": "Bearer",
		"issued_at": s.issuedAt(), "api_instance_url": "https://api.salesforce.com",
	})
}

func (s *Server) grantRefresh(w http.ResponseWriter, id, secret, refresh string, sentSecret bool) {
	if id != s.opts.ClientID {
		writeOAuthError(w, oauthError{"invalid_client_id", "client identifier invalid"})
		return
	}
	if sentSecret && secret != s.opts.ClientSecret {
		writeOAuthError(w, oauthError{"invalid_client", "invalid client credentials"})
		return
	}
	s.mu.Lock()
	ok := s.refresh[refresh]
	next := ""
	if ok && s.opts.Rotate {
		delete(s.refresh, refresh)
		next = fmt.Sprintf("5Aep861rotated%06dRefresh", s.tokenSeq+1)
		s.refresh[next] = true
	}
	s.mu.Unlock()
	if !ok {
		writeOAuthError(w, oauthError{"invalid_grant", "expired access/refresh token"})
		return
	}
	tok := s.issue()
	body := map[string]string{
		"access_token": tok, "signature": signature(tok), "scope": "api refresh_token",
		"instance_url": s.URL(), "id": s.identityURL(), "token_type": "Bearer", "issued_at": s.issuedAt(),
	}
	if next != "" {
		body["refresh_token"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) grantJWT(w http.ResponseWriter, assertion string) {
	claims, desc := verifyJWT(assertion, &TrustedKey().PublicKey)
	switch {
	case desc != "":
		writeOAuthError(w, oauthError{"invalid_grant", desc})
	case claims.Iss != s.opts.ClientID:
		writeOAuthError(w, oauthError{"invalid_client_id", "client identifier invalid"})
	case claims.Aud != s.opts.Audience:
		writeOAuthError(w, oauthError{"invalid_grant", "audience is invalid"})
	case claims.Sub != s.opts.Username:
		writeOAuthError(w, oauthError{"invalid_grant", "user hasn't approved this consumer"})
	case claims.Scope != "":
		writeOAuthError(w, oauthError{"invalid_grant", "invalid assertion: unexpected scope claim"})
	case !expOK(claims.Exp):
		writeOAuthError(w, oauthError{"invalid_grant", "invalid assertion: exp must lie within the next 3 minutes"})
	default:
		tok := s.issue()
		writeJSON(w, http.StatusOK, map[string]string{
			"access_token": tok, "scope": "api", "instance_url": s.URL(),
			"id": s.identityURL(), "token_type": "Bearer",
		})
	}
}

// expOK checks a JWT exp (on the real clock, which x/oauth2 signs with).
func expOK(exp int64) bool {
	t := time.Unix(exp, 0)
	now := time.Now()
	return t.After(now.Add(-jwtSkew)) && !t.After(now.Add(maxJWTLifetime+jwtSkew))
}

// jwtClaims are the claims the fake checks.
type jwtClaims struct {
	Iss   string `json:"iss"`
	Sub   string `json:"sub"`
	Aud   string `json:"aud"`
	Exp   int64  `json:"exp"`
	Scope string `json:"scope"`
}

// verifyJWT checks an RS256 assertion's signature with pub and returns its
// claims, or a description of what is wrong with it.
func verifyJWT(assertion string, pub *rsa.PublicKey) (jwtClaims, string) {
	var c jwtClaims
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return c, "invalid assertion"
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "RS256" {
		return c, "invalid assertion: alg must be RS256"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, "invalid assertion"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return c, "invalid assertion: signature does not match the certificate"
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return c, "invalid assertion"
	}
	return c, ""
}

func decodeSegment(seg string, v any) error {
	data, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// issue starts a session and returns its access token.
func (s *Server) issue() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenSeq++
	tok := accessToken(s.tokenSeq)
	s.sessions[tok] = s.opts.Now()
	return tok
}

// authorized reports whether r carries a live session's access token.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "OAuth ")
	}
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	issued, ok := s.sessions[tok]
	if ok && s.opts.SessionTimeout > 0 && !s.opts.Now().Before(issued.Add(s.opts.SessionTimeout)) {
		delete(s.sessions, tok)
		return false
	}
	return ok
}

func (s *Server) identityURL() string {
	return s.URL() + "/id/00D5g000004FAKEEAA/0055g00000Hj7KLAAZ"
}

func (s *Server) issuedAt() string {
	return strconv.FormatInt(s.opts.Now().UnixMilli(), 10)
}

func signature(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return base64.StdEncoding.EncodeToString(sum[:])
}
