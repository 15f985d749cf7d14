package crmhttp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/connectors"
)

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "https://acme.example.com/", want: "https://acme.example.com"},
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "http://acme.example.com", err: "want https"},
		{in: "https://acme.example.com/path", err: "want a bare host such as https://x.example"},
		{in: "acme", err: "is not an absolute URL"},
	}
	for _, tt := range tests {
		got, err := CheckBaseURL(tt.in, "https://x.example")
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("CheckBaseURL(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestTokenError(t *testing.T) {
	refusal := &oauth2.RetrieveError{
		Response:         &http.Response{StatusCode: 400},
		ErrorCode:        "invalid_client",
		ErrorDescription: "bad secret\ntrace",
	}
	first := func(s string) string { line, _, _ := strings.Cut(s, "\n"); return line }
	err := TokenError(refusal, first)
	if !errors.Is(err, connectors.ErrAuth) || err.Error() != "invalid_client (bad secret): "+connectors.ErrAuth.Error() {
		t.Errorf("refusal: %v", err)
	}
	down := &oauth2.RetrieveError{Response: &http.Response{StatusCode: 503}, Body: []byte(`{"error":"x"}`)}
	if err := TokenError(down, nil); errors.Is(err, connectors.ErrAuth) || err.Error() != "token endpoint answered HTTP 503" {
		t.Errorf("5xx: %v", err)
	}
	body := &oauth2.RetrieveError{Response: &http.Response{StatusCode: 401}, Body: []byte(`{"error":"invalid_grant","error_description":"expired"}`)}
	if err := TokenError(body, nil); !errors.Is(err, connectors.ErrAuth) || !strings.HasPrefix(err.Error(), "invalid_grant (expired): ") {
		t.Errorf("body: %v", err)
	}
}

func TestParseRSAKey(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		err  string
	}{
		{"pkcs1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), ""},
		{"not pem", []byte("key"), "not a PEM block"},
		{"encrypted", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "encrypted keys are not supported"},
		{"garbage", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), "unreadable PRIVATE KEY block"},
		{"ecdsa", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), "not an RSA key (who wants RS256)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseRSAKey(tt.data, "who wants RS256")
			switch {
			case tt.err == "" && (err != nil || !key.Equal(rk)):
				t.Errorf("got %v, %v", key != nil, err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestClassifyToken(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   Action
	}{
		{200, `{"access_token":"t"}`, Done},
		{200, `<html>`, Retry},
		{429, ``, Retry},
		{503, ``, Retry},
		{400, `{"error":"invalid_grant"}`, Done},
	}
	for _, tt := range tests {
		v := ClassifyToken(&http.Response{StatusCode: tt.status, Header: http.Header{}}, []byte(tt.body))
		if v.Action != tt.want {
			t.Errorf("HTTP %d %s: action %v, want %v", tt.status, tt.body, v.Action, tt.want)
		}
	}
}
