package dynamicsfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ClientAssertionType is the client_assertion_type of certificate
// credentials.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionSkew tolerates clocks slightly apart when checking nbf/exp.
const assertionSkew = 5 * time.Minute

// CertificateKey is a certificate registered on an app registration and
// the private key that signs client assertions with it.
type CertificateKey struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

// Thumbprint is the certificate's SHA-1 thumbprint, base64url: the x5t
// header of an assertion.
func (c *CertificateKey) Thumbprint() string {
	sum := sha1.Sum(c.Cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ThumbprintS256 is the SHA-256 thumbprint, base64url: the x5t#S256 header.
func (c *CertificateKey) ThumbprintS256() string {
	sum := sha256.Sum256(c.Cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CertPEM returns the certificate as PEM, the file uploaded to the app.
func (c *CertificateKey) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// KeyPEM returns the private key as PKCS #8 PEM.
func (c *CertificateKey) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		panic("dynamicsfake: marshal key: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

var (
	certOnce, otherOnce sync.Once
	trusted, untrusted  *CertificateKey
)

// Certificate returns the certificate every Server registers by default;
// it is generated once per process.
func Certificate() *CertificateKey {
	certOnce.Do(func() { trusted = NewCertificate("crmsync-test") })
	return trusted
}

// UntrustedCertificate returns another certificate, which no Server with
// the default options trusts.
func UntrustedCertificate() *CertificateKey {
	otherOnce.Do(func() { untrusted = NewCertificate("someone-else") })
	return untrusted
}

// NewCertificate generates a self-signed RSA certificate named cn.
func NewCertificate(cn string) *CertificateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("dynamicsfake: generate key: " + err.Error())
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("dynamicsfake: create certificate: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("dynamicsfake: parse certificate: " + err.Error())
	}
	return &CertificateKey{Cert: cert, Key: key}
}

// tokenInfo is an issued access token.
type tokenInfo struct {
	client string
	issued time.Time
}

// FailTokens makes the token endpoint answer every request with an Entra
// error (status, error, AADSTS code and description); a zero status lets
// grants succeed again.
func (s *Server) FailTokens(status int, code string, aadsts int, desc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenErr = nil
	if status != 0 {
		s.tokenErr = newEntraError(status, code, aadsts, desc)
	}
}

// ExpireTokens expires every access token issued so far: requests
// carrying them answer 401 with error="invalid_token".
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, info := range s.tokens {
		info.issued = time.Time{}
		s.tokens[tok] = info
	}
}

// TokensIssued returns how many access tokens the Server issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenSeq
}

// IssueToken issues an access token directly, for tests of the API alone.
func (s *Server) IssueToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked()
}

func (s *Server) issueLocked() string {
	s.tokenSeq++
	payload := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil,
		`{"aud":%q,"appid":%q,"seq":%d}`, s.orgURL(), s.opts.ClientID, s.tokenSeq))
	tok := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + payload + ".ZmFrZS1zaWduYXR1cmU"
	s.tokens[tok] = tokenInfo{client: s.opts.ClientID, issued: s.opts.Now()}
	return tok
}

// serveToken answers POST /{tenant}/oauth2/v2.0/token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if e := s.grant(r); e != nil {
		e.Timestamp = s.opts.Now().UTC().Format("2006-01-02 15:04:05Z")
		writeEntra(w, e.status, e)
		return
	}
	s.mu.Lock()
	tok := s.issueLocked()
	s.mu.Unlock()
	secs := int(s.opts.TokenLifetime / time.Second)
	writeEntra(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	})
}

// grant checks a token request; nil when a token is to be issued.
func (s *Server) grant(r *http.Request) *entraError {
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/oauth2/v2.0/token")
	switch {
	case r.Method != http.MethodPost:
		return newEntraError(http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
	case tenant != s.opts.TenantID:
		return newEntraError(http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found.", tenant))
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return newEntraError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	}
	if err := r.ParseForm(); err != nil {
		return newEntraError(http.StatusBadRequest, "invalid_request", 900144, "The request body could not be parsed.")
	}
	s.mu.Lock()
	fail := s.tokenErr
	s.mu.Unlock()
	if fail != nil {
		e := *fail
		return &e
	}
	f := r.PostForm
	if id, secret, ok := basicCredentials(r); ok { // client_secret_basic
		f.Set("client_id", id)
		f.Set("client_secret", secret)
	}
	switch {
	case f.Get("grant_type") != "client_credentials":
		return newEntraError(http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+f.Get("grant_type")+"'.")
	case f.Get("client_id") != s.opts.ClientID:
		return newEntraError(http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", f.Get("client_id"), tenant))
	case f.Get("scope") != s.Scope():
		return newEntraError(http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", f.Get("scope")))
	case f.Has("client_assertion"):
		return s.checkAssertion(r, f.Get("client_assertion_type"), f.Get("client_assertion"))
	case f.Get("client_secret") != s.opts.ClientSecret:
		return newEntraError(http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", s.opts.ClientID))
	}
	return nil
}

// basicCredentials reads client_secret_basic credentials, which RFC 6749
// form-encodes before the Basic encoding.
func basicCredentials(r *http.Request) (string, string, bool) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return "", "", false
	}
	uid, err1 := url.QueryUnescape(id)
	usecret, err2 := url.QueryUnescape(secret)
	return uid, usecret, err1 == nil && err2 == nil
}

// assertionClaims are the claims the fake checks.
type assertionClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Nbf int64  `json:"nbf"`
	Jti string `json:"jti"`
}

type assertionHeader struct {
	Alg     string `json:"alg"`
	X5t     string `json:"x5t"`
	X5tS256 string `json:"x5t#S256"`
}

// checkAssertion verifies a certificate credential: the JWT's
// certificate thumbprint and signature, iss, sub, aud and lifetime.
func (s *Server) checkAssertion(r *http.Request, typ, jwt string) *entraError {
	bad := func(code int, desc string) *entraError {
		return newEntraError(http.StatusUnauthorized, "invalid_client", code, desc)
	}
	if typ != ClientAssertionType {
		return newEntraError(http.StatusBadRequest, "invalid_request", 50027, "client_assertion_type must be "+ClientAssertionType+".")
	}
	parts := strings.Split(jwt, ".")
	var h assertionHeader
	var c assertionClaims
	if len(parts) != 3 || decodeSegment(parts[0], &h) != nil || decodeSegment(parts[1], &c) != nil {
		return newEntraError(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
	}
	cert := s.opts.Certificate
	if h.X5t != cert.Thumbprint() && h.X5tS256 != cert.ThumbprintS256() {
		return bad(700027, "The certificate with identifier used to sign the client assertion is not registered on application.")
	}
	if !verifySignature(h.Alg, parts, &cert.Key.PublicKey) {
		return bad(700027, "Client assertion contains an invalid signature.")
	}
	now := time.Now() // assertions are signed on the real clock
	switch {
	case c.Iss != s.opts.ClientID || c.Sub != s.opts.ClientID:
		return bad(700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")
	case c.Aud != s.URL()+r.URL.Path:
		return bad(700024, "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")
	case c.Exp == 0 || time.Unix(c.Exp, 0).Before(now.Add(-assertionSkew)):
		return bad(700024, "Client assertion is not within its valid time range.")
	case c.Nbf != 0 && time.Unix(c.Nbf, 0).After(now.Add(assertionSkew)):
		return bad(700024, "Client assertion is not within its valid time range.")
	}
	return nil
}

// verifySignature checks an RS256 or PS256 JWT signature with pub.
func verifySignature(alg string, parts []string, pub *rsa.PublicKey) bool {
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, nil) == nil
	}
	return false
}

func decodeSegment(seg string, v any) error {
	data, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// authorize checks the bearer token of r; on failure it answers 401 with
// an empty body and Dataverse's WWW-Authenticate header.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	info, known := s.tokens[tok]
	live := known && s.opts.Now().Before(info.issued.Add(s.opts.TokenLifetime))
	s.mu.Unlock()
	if ok && live {
		return info.client, true
	}
	challenge := fmt.Sprintf(`Bearer authorization_uri="https://login.microsoftonline.com/%s/oauth2/authorize", resource_id="%s"`,
		s.opts.TenantID, s.orgURL())
	if ok && tok != "" {
		challenge += `, error="invalid_token", error_description="The access token has expired or is not yet valid."`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.WriteHeader(http.StatusUnauthorized)
	return "", false
}

// SignAssertion builds a client assertion for clientID and the token URL
// aud, signed with c (RS256, x5t header): what a connector sends.
func SignAssertion(c *CertificateKey, clientID, aud string, lifetime time.Duration) (string, error) {
	now := time.Now()
	head, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "x5t": c.Thumbprint()})
	if err != nil {
		return "", fmt.Errorf("assertion header: %w", err)
	}
	claims, err := json.Marshal(map[string]any{
		"iss": clientID, "sub": clientID, "aud": aud, "jti": fmt.Sprint(now.UnixNano()),
		"nbf": now.Unix(), "exp": now.Add(lifetime).Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("assertion claims: %w", err)
	}
	signing := base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
