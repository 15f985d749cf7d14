package crmhttp

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/connectors"
)

// TokenError turns a token endpoint's refusal ({"error":"invalid_client",
// "error_description":"..."}) into an error wrapping connectors.ErrAuth,
// with the error code and the description as describe renders it (nil
// keeps it whole). A 5xx stays a plain error: the endpoint failed, the
// credentials may be fine. It never quotes the request.
func TokenError(err error, describe func(string) string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("token request: %w", err)
	}
	code, desc := re.ErrorCode, re.ErrorDescription
	if code == "" {
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(re.Body, &body) == nil {
			code, desc = body.Error, body.Description
		}
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	switch {
	case status >= http.StatusInternalServerError:
		return fmt.Errorf("token endpoint answered HTTP %d", status)
	case code == "":
		return fmt.Errorf("token endpoint answered HTTP %d: %w", status, connectors.ErrAuth)
	}
	if describe != nil {
		desc = describe(desc)
	}
	return fmt.Errorf("%s (%s): %w", code, desc, connectors.ErrAuth)
}

// CheckBaseURL checks a login, instance or organization URL and returns
// it as scheme://host. It must be HTTPS, or plain HTTP on a loopback host
// (for tests), so that tokens never travel in clear; example is the bare
// host the error for a URL with a path suggests.
func CheckBaseURL(raw, example string) (string, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	switch {
	case err != nil || u.Host == "":
		return "", fmt.Errorf("%q is not an absolute URL", raw)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("%q: want a bare host such as %s", raw, example)
	case u.Scheme == "https":
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
	default:
		return "", fmt.Errorf("%q: want https", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// IsLoopback reports whether host is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseRSAKey reads a PEM RSA private key (PKCS #8 or PKCS #1) for RS256
// signing; its errors never quote the key. notRSA ends the error for a
// key of another type, saying who wants RS256.
func ParseRSAKey(data []byte, notRSA string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	switch {
	case block == nil:
		return nil, errors.New("auth: private_key: not a PEM block (want -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
	case block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED"):
		return nil, errors.New("auth: private_key: encrypted keys are not supported; decrypt it (openssl pkey -in key.pem -out plain.pem)")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: private_key: unreadable %s block", block.Type)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("auth: private_key: not an RSA key (%s)", notRSA)
	}
	return rk, nil
}

// ClassifyToken is the Classify of a token endpoint, for a Client that
// x/oauth2 sends token requests through: it retries a 429 or a 5xx and
// hands the other answers to x/oauth2, checking that a success is JSON
// (x/oauth2 fails on a body it cannot parse; the token is small, decoding
// it twice costs little).
func ClassifyToken(resp *http.Response, body []byte) Verdict {
	switch st := resp.StatusCode; {
	case st == http.StatusTooManyRequests || st >= http.StatusInternalServerError:
		return Verdict{Action: Retry, Wait: RetryAfter(resp.Header, time.Now()),
			Reason: "token endpoint answered HTTP " + strconv.Itoa(st)}
	case st < http.StatusMultipleChoices:
		if err := json.Unmarshal(body, &struct{}{}); err != nil {
			return Malformed(st, err)
		}
	}
	return Verdict{Action: Done}
}

// WithTokenClient makes x/oauth2 send token requests with base.
func WithTokenClient(ctx context.Context, base *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, base)
}
