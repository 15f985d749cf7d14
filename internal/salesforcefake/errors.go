package salesforcefake

import (
	"encoding/json"
	"net/http"
)

// apiError is one element of a REST API error body, which is an array.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// oauthError is the token endpoint's error body, an object.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(data)
}

// writeErrors answers status with Salesforce's error array.
func writeErrors(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, []apiError{{Message: message, ErrorCode: code}})
}

// writeFault answers an injected server error.
func writeFault(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusServiceUnavailable:
		writeErrors(w, status, "SERVER_UNAVAILABLE", "Server Unavailable")
	case http.StatusInternalServerError:
		writeErrors(w, status, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)")
	default:
		writeErrors(w, status, "UNKNOWN_EXCEPTION", http.StatusText(status))
	}
}

// writeOAuthError answers the token endpoint's error object with 400.
func writeOAuthError(w http.ResponseWriter, e oauthError) {
	writeJSON(w, http.StatusBadRequest, e)
}
