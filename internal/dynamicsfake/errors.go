package dynamicsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Dataverse error codes the fake answers (the code field "is not related
// to the http status code").
const (
	CodeBadQuery        = "0x80060888" // bad $filter, $select, $orderby...
	CodePrivilege       = "0x80040220" // missing privilege (403)
	CodeNotFound        = "0x80040217" // record does not exist (404)
	CodeRequestLimit    = "0x80072322" // 429: requests per window
	CodeConcurrentLimit = "0x80072326" // 429: concurrent requests
	CodeAggregateLimit  = "0x8004e023" // $apply over AggregateLimit records
)

// Messages of Dataverse's change tracking errors (their code is empty).
const (
	MsgDeltaExpired = "Version stamp associated with the client has expired. Please perform a full sync."
	msgUnsupported  = "The \"%s\" query parameter isn't supported when Change Tracking is enabled."
)

// apiError is Dataverse's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeJSON answers status with v as Dataverse's OData JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("OData-Version", "4.0")
	writeBody(w, status, "application/json; odata.metadata=minimal", v)
}

// writeEntra answers status with v as the token endpoint's JSON.
func writeEntra(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeBody(w, status, "application/json; charset=utf-8", v)
}

func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	var data []byte
	var err error
	if o, ok := v.(obj); ok {
		data, err = o.MarshalJSON()
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(data)
}

// writeError answers status with Dataverse's {"error":{code,message}}.
func writeError(w http.ResponseWriter, status int, code, message string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, message
	writeJSON(w, status, e)
}

// writeFault answers an injected server error.
func writeFault(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusServiceUnavailable:
		writeError(w, status, "0x80040216", "The service is temporarily unavailable. Try again later.")
	default:
		writeError(w, status, "0x80040216", "An unexpected error occurred.")
	}
}

// privilegeMessage is the 403 message of a user lacking read on t.
func privilegeMessage(t *tableDef, user string) string {
	return fmt.Sprintf("Principal user (Id=%s, type=8, roleCount=1, privilegeCount=0, accessMode=4), is missing prvRead%s privilege (Id=...) on OTC=%d for entity '%s'.",
		user, t.privilege, t.otc, t.logical)
}

// badProperty is the 400 message of an unknown column.
func badProperty(t *tableDef, name string) string {
	return fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", name, t.logical)
}

// entraError is Entra's token endpoint error body.
type entraError struct {
	status      int
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
	Timestamp   string `json:"timestamp"`
	TraceID     string `json:"trace_id"`
	Correlation string `json:"correlation_id"`
	URI         string `json:"error_uri"`
}

// newEntraError builds the body of an AADSTS error.
func newEntraError(status int, code string, aadsts int, desc string) *entraError {
	return &entraError{
		status: status, Error: code,
		Description: fmt.Sprintf("AADSTS%d: %s", aadsts, desc),
		Codes:       []int{aadsts},
		TraceID:     "0a1b2c3d-0000-4000-8000-000000000001",
		Correlation: "4e5f6a7b-0000-4000-8000-000000000002",
		URI:         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", aadsts),
	}
}
