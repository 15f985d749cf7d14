package sellsyfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// readBody reads a request's body (small: a search or a token request).
func readBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	return b
}

// tokenForm reads a token request: JSON (as Sellsy's examples send it) or
// a form.
func tokenForm(r *http.Request, body []byte) (map[string]string, error) {
	out := map[string]string{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, err
		}
		return out, nil
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	for k := range v {
		out[k] = v.Get(k)
	}
	return out, nil
}

// serveToken answers the token endpoint.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		writeOAuth(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	f, err := tokenForm(r, body)
	if err != nil {
		writeOAuth(w, http.StatusBadRequest, "invalid_request", "The request body is not readable.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f["client_id"] != s.opts.ClientID || f["client_secret"] != s.opts.ClientSecret {
		writeOAuth(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	answer := map[string]any{"token_type": "Bearer", "expires_in": int(s.opts.TokenLifetime / time.Second)}
	switch f["grant_type"] {
	case "client_credentials":
	case "refresh_token":
		if f["refresh_token"] == "" || f["refresh_token"] != s.refresh {
			writeOAuth(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid.")
			return
		}
		s.tokenSeq++
		s.refresh = fmt.Sprintf("sellsy-fake-refresh-%d", s.tokenSeq)
		answer["refresh_token"] = s.refresh
	default:
		writeOAuth(w, http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
		return
	}
	s.tokenSeq++
	tok := fmt.Sprintf("sellsy-fake-access-%d", s.tokenSeq)
	s.tokens[tok] = s.opts.Now().Add(s.opts.TokenLifetime)
	answer["access_token"] = tok
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, answer)
}

// authorize checks the bearer token; a missing, unknown or expired one
// answers 401 with Sellsy's error body.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, known := s.tokens[tok]
	now := s.opts.Now()
	s.mu.Unlock()
	if ok && known && now.Before(exp) {
		return true
	}
	writeError(w, http.StatusUnauthorized, "Unauthorized: the access token is invalid or has expired", "authentication_error", nil)
	return false
}

// writeOAuth answers the token endpoint's error body.
func writeOAuth(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc, "message": desc})
}

// writeJSON answers status with v.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
}

// writeError answers Sellsy's error envelope.
func writeError(w http.ResponseWriter, status int, message, context string, details map[string]string) {
	if details == nil {
		details = map[string]string{}
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": message, "context": context, "details": details,
	}})
}

// Messages and contexts of the faults FailNext injects.
var faultBodies = map[int][2]string{
	http.StatusBadRequest:            {"Validation error", "validation_error"},
	http.StatusUnauthorized:          {"Unauthorized", "authentication_error"},
	http.StatusPaymentRequired:       {"Quota of your plan reached", "plan_quota_reached"},
	http.StatusForbidden:             {"Forbidden", "insufficient_privileges"},
	http.StatusNotFound:              {"Not found", "not_found"},
	http.StatusConflict:              {"Conflict", "conflict"},
	http.StatusRequestEntityTooLarge: {"Payload too large", "payload_too_large"},
	http.StatusTooManyRequests:       {"Too many requests", "quota_exceeded"},
	http.StatusInternalServerError:   {"Internal server error", "internal_error"},
	http.StatusServiceUnavailable:    {"Service unavailable", "service_unavailable"},
}

// writeFault answers an injected failure with its documented body.
func writeFault(w http.ResponseWriter, status int) {
	b, ok := faultBodies[status]
	if !ok {
		b = [2]string{http.StatusText(status), "error"}
	}
	writeError(w, status, b[0], b[1], nil)
}
