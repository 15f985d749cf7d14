package dynamics

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// assertionLifetime is the exp of a client assertion; Entra accepts up to
// ten minutes.
const assertionLifetime = 5 * time.Minute

// assertionType is the client_assertion_type of a certificate credential.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// newFetch returns the function fetching tokens with o's credentials.
func newFetch(o Options) (crmhttp.FetchFunc, error) {
	a := o.Auth
	switch {
	case a.TenantID == "" && a.TokenURL == "":
		return nil, errors.New("auth: tenant_id (the directory id) required")
	case a.ClientID == "":
		return nil, errors.New("auth: client_id (the application id) required")
	case a.ClientSecret != "" && (len(a.Certificate) > 0 || len(a.PrivateKey) > 0):
		return nil, errors.New("auth: set client_secret or certificate and private_key, not both")
	case a.ClientSecret == "" && (len(a.Certificate) == 0 || len(a.PrivateKey) == 0):
		return nil, errors.New("auth: set client_secret, or certificate and private_key")
	}
	tokenURL, err := tokenEndpoint(a)
	if err != nil {
		return nil, err
	}
	scope := a.Scope
	if scope == "" {
		scope = o.BaseURL + "/.default"
	}
	base := tokenClient(o)
	if a.ClientSecret != "" {
		cfg := &clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret,
			TokenURL: tokenURL, Scopes: []string{scope}, AuthStyle: oauth2.AuthStyleInParams}
		return func(ctx context.Context, _ string) (*oauth2.Token, error) {
			return checkToken(cfg.Token(crmhttp.WithTokenClient(ctx, base)))
		}, nil
	}
	signer, err := newSigner(a.Certificate, a.PrivateKey)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ string) (*oauth2.Token, error) {
		assertion, err := signer.assertion(a.ClientID, tokenURL, time.Now())
		if err != nil {
			return nil, fmt.Errorf("client assertion: %w", err)
		}
		cfg := &clientcredentials.Config{ClientID: a.ClientID, TokenURL: tokenURL, Scopes: []string{scope},
			AuthStyle:      oauth2.AuthStyleInParams,
			EndpointParams: url.Values{"client_assertion_type": {assertionType}, "client_assertion": {assertion}}}
		return checkToken(cfg.Token(crmhttp.WithTokenClient(ctx, base)))
	}, nil
}

// tokenEndpoint returns the token URL: Auth.TokenURL, or Entra's v2.0
// endpoint of the tenant.
func tokenEndpoint(a Auth) (string, error) {
	if a.TokenURL == "" {
		if strings.ContainsAny(a.TenantID, "/?#% ") {
			return "", fmt.Errorf("auth: tenant_id %q: want a directory id or domain", a.TenantID)
		}
		return DefaultAuthority + "/" + a.TenantID + "/oauth2/v2.0/token", nil
	}
	u, err := url.Parse(a.TokenURL)
	switch {
	case err != nil || u.Host == "":
		return "", fmt.Errorf("auth: token_url %q is not an absolute URL", a.TokenURL)
	case u.Scheme == "https", u.Scheme == "http" && crmhttp.IsLoopback(u.Hostname()):
		return a.TokenURL, nil
	}
	return "", fmt.Errorf("auth: token_url %q: want https", a.TokenURL)
}

// tokenClient returns the client x/oauth2 fetches tokens with: o's,
// behind crmhttp's retry loop, so that a 429, a 5xx or a body cut short
// is retried instead of failing the pull.
func tokenClient(o Options) *http.Client {
	return &http.Client{Transport: &crmhttp.Client{
		HTTP:      o.HTTPClient,
		Classify:  crmhttp.ClassifyToken,
		Attempts:  o.Attempts,
		BaseDelay: o.BackoffBase,
		MaxDelay:  o.BackoffMax,
	}}
}

// checkToken checks a token response and translates Entra's refusal; it
// never quotes the request (secret, assertion).
func checkToken(tok *oauth2.Token, err error) (*oauth2.Token, error) {
	if err != nil {
		return nil, crmhttp.TokenError(err, firstLine)
	}
	if tok.AccessToken == "" {
		return nil, errors.New("token response without access_token")
	}
	return tok, nil
}

// firstLine returns the first line of an Entra description, which puts
// the trace and correlation ids on the following lines.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}

// signer signs client assertions with a certificate's key.
type signer struct {
	key        *rsa.PrivateKey
	thumbprint string // base64url SHA-1 of the certificate's DER: the x5t header
}

// newSigner reads a PEM certificate and its RSA private key, checking
// that they belong together; errors never quote the key.
func newSigner(certPEM, keyPEM []byte) (*signer, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("auth: certificate: not a PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: certificate: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("auth: private_key does not match the certificate")
	}
	sum := sha1.Sum(cert.Raw)
	return &signer{key: key, thumbprint: base64.RawURLEncoding.EncodeToString(sum[:])}, nil
}

// parseKey reads a PEM RSA private key (PKCS #8 or PKCS #1).
func parseKey(data []byte) (*rsa.PrivateKey, error) {
	return crmhttp.ParseRSAKey(data, "Entra client assertions are signed RS256")
}

// assertion returns a client assertion for clientID at the token
// endpoint aud, valid from now for assertionLifetime.
func (s *signer) assertion(clientID, aud string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "x5t": s.thumbprint})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"aud": aud, "iss": clientID, "sub": clientID, "jti": hex.EncodeToString(jti),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
	})
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
