package hubspotfake

import (
	"bytes"
	"net/http"
	"strings"
	"time"
)

// Messages of HubSpot's error bodies.
const (
	InvalidAuthMessage  = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
	TenSecondlyMessage  = "You have reached your ten_secondly_rolling limit."
	SecondlyMessage     = "You have reached your secondly limit."
	DailyMessage        = "You have reached your daily limit."
	BeyondLimitMessage  = "There was a problem with the request."
	MissingScopeMessage = "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes."
)

// errorReply is HubSpot's error body: status, message, correlationId,
// category.
func (s *Server) errorReply(status int, category, message string) reply {
	var b bytes.Buffer
	b.WriteString(`{"status":"error","message":`)
	appendString(&b, message)
	b.WriteString(`,"correlationId":`)
	appendString(&b, s.correlationID())
	b.WriteString(`,"category":`)
	appendString(&b, category)
	b.WriteString(`}`)
	return reply{status: status, body: b.Bytes()}
}

// validation is a 400 VALIDATION_ERROR.
func (s *Server) validation(message string) reply {
	return s.errorReply(http.StatusBadRequest, "VALIDATION_ERROR", message)
}

// rateBody is the body of a 429 for policy.
func (s *Server) rateBody(message, policy string) string {
	var b bytes.Buffer
	b.WriteString(`{"status":"error","message":`)
	appendString(&b, message)
	b.WriteString(`,"errorType":"RATE_LIMIT","correlationId":`)
	appendString(&b, s.correlationID())
	b.WriteString(`,"policyName":`)
	appendString(&b, policy)
	b.WriteString(`,"requestId":`)
	appendString(&b, s.correlationID())
	b.WriteString(`}`)
	return b.String()
}

// expiredBody is the 401 for an access token that expired at exp.
func (s *Server) expiredBody(exp time.Time) string {
	var b bytes.Buffer
	b.WriteString(`{"status":"error","message":"The OAuth token used to make this call expired 0 day(s) ago.","correlationId":`)
	appendString(&b, s.correlationID())
	b.WriteString(`,"category":"EXPIRED_AUTHENTICATION","context":{"expire time":[`)
	appendString(&b, isoMillis(exp))
	b.WriteString(`]}}`)
	return b.String()
}

// MissingScopesBody is HubSpot's 403 body naming the scopes required.
func MissingScopesBody(scopes ...string) string {
	var b bytes.Buffer
	b.WriteString(`{"status":"error","message":`)
	appendString(&b, MissingScopeMessage)
	b.WriteString(`,"correlationId":"0c8c6f8e-6a2f-4f4f-9f0f-2b7a3c1d9e00","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":[`)
	for i, sc := range scopes {
		if i > 0 {
			b.WriteByte(',')
		}
		appendString(&b, sc)
	}
	b.WriteString(`]}}],"links":{"scopes":"https://developers.hubspot.com/scopes"},"category":"MISSING_SCOPES"}`)
	return b.String()
}

// DefaultBody returns the body a Fault with status and no Body answers.
func (s *Server) DefaultBody(status int) string { return s.defaultBody(status) }

func (s *Server) defaultBody(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return s.rateBody(TenSecondlyMessage, "TEN_SECONDLY_ROLLING")
	case http.StatusUnauthorized:
		return s.expiredBody(s.now())
	case http.StatusForbidden:
		return MissingScopesBody("crm.objects.deals.read")
	case http.StatusBadRequest:
		return string(s.validation("Invalid input").body)
	}
	if status >= 500 {
		return string(s.errorReply(status, "INTERNAL_ERROR", "internal error, please retry").body)
	}
	return string(s.errorReply(status, strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_")), http.StatusText(status)).body)
}

// DailyBody returns HubSpot's 429 body for a spent daily allocation.
func (s *Server) DailyBody() string { return s.rateBody(DailyMessage, "DAILY") }

// SecondlyBody returns HubSpot's 429 body for the search API's
// per-second limit.
func (s *Server) SecondlyBody() string { return s.rateBody(SecondlyMessage, "SECONDLY") }
