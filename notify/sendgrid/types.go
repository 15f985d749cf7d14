package sendgrid

import "strings"

// errorResponse is the body of a SendGrid v3 error:
// {"errors":[{"message":"...","field":"from.email","help":null}]}.
type errorResponse struct {
	Errors []apiError `json:"errors"`
}

// apiError is one entry of errorResponse.Errors.
type apiError struct {
	Message string  `json:"message"`
	Field   *string `json:"field"`
	Help    any     `json:"help"`
}

// String returns "field: message", or the message alone when SendGrid
// names no field.
func (e apiError) String() string {
	msg := strings.TrimSpace(e.Message)
	if e.Field == nil || *e.Field == "" {
		return msg
	}
	return *e.Field + ": " + msg
}
