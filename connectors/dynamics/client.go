package dynamics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// errDeltaExpired is a delta link Dataverse no longer honours: the
// organization's change-tracking retention has passed since it was
// issued.
var errDeltaExpired = errors.New("delta token expired")

// apiError is a Web API error answer: {"error":{"code":"0x80040220",
// "message":"..."}}. Code is Dataverse's, unrelated to the status and
// often empty.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// reason is the short form used for waits and stops.
func (e *apiError) reason() string {
	if e.Code == "" {
		return "HTTP " + strconv.Itoa(e.Status)
	}
	return "HTTP " + strconv.Itoa(e.Status) + " " + e.Code
}

// parseAPIError reads Dataverse's error object, or makes do with the
// status (and, for a 401, the WWW-Authenticate header, where Dataverse
// says why: its 401 bodies are usually empty).
func parseAPIError(resp *http.Response, body []byte) *apiError {
	e := &apiError{Status: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error.Message != "" {
		e.Code, e.Message = env.Error.Code, crmhttp.Clip(env.Error.Message)
	} else if d := authenticateDescription(resp.Header.Get("WWW-Authenticate")); d != "" {
		e.Message = crmhttp.Clip(d)
	}
	return e
}

// authenticateDescription returns the error_description of a
// WWW-Authenticate header, "" when it has none.
func authenticateDescription(h string) string {
	_, rest, ok := strings.Cut(h, `error_description="`)
	if !ok {
		return ""
	}
	d, _, _ := strings.Cut(rest, `"`)
	return d
}

// classify reads a response for crmhttp.
func (c *Connector) classify(resp *http.Response, body []byte) crmhttp.Verdict {
	if resp.StatusCode < http.StatusMultipleChoices {
		return crmhttp.Verdict{Action: crmhttp.Done}
	}
	e := parseAPIError(resp, body)
	v := c.verdict(resp, e)
	switch v.Action {
	case crmhttp.Retry:
		c.logger.Warn("dataverse answered an error; retrying", "status", e.Status, "code", e.Code, "message", e.Message)
	case crmhttp.Refresh:
		c.logger.Info("dataverse refused the token; fetching a new one", "message", e.Message)
	}
	return v
}

func (c *Connector) verdict(resp *http.Response, e *apiError) crmhttp.Verdict {
	switch s := e.Status; {
	case s == http.StatusUnauthorized:
		return crmhttp.Verdict{Action: crmhttp.Refresh, Reason: e.reason()}
	case s == http.StatusForbidden:
		return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("%w (give the application user a security role with organization-level read on accounts, contacts, opportunities, activities and users): %w", e, connectors.ErrAuth)}
	case s == http.StatusTooManyRequests:
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: e.reason() + " service protection", Wait: crmhttp.RetryAfter(resp.Header, c.now())}
	case s >= http.StatusInternalServerError:
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: e.reason(), Wait: crmhttp.RetryAfter(resp.Header, c.now())}
	case isExpiredDelta(e.Message):
		return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("%w: %w", errDeltaExpired, e)}
	}
	return crmhttp.Verdict{Action: crmhttp.Fail, Err: e}
}

// isExpiredDelta reports whether a message is Dataverse's "Version stamp
// associated with the client has expired. Please perform a full sync."
func isExpiredDelta(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "version stamp") && strings.Contains(m, "expired")
}

// collection is one page of an entity set: its rows, raw, and the links
// to the next page or, on the last page of a tracked read, to the
// changes after it.
type collection struct {
	Value     []json.RawMessage `json:"value"`
	NextLink  string            `json:"@odata.nextLink"`
	DeltaLink string            `json:"@odata.deltaLink"`
}

// prefer is the Prefer header of a request.
type prefer struct {
	track    bool // odata.track-changes
	pageSize int  // odata.maxpagesize; 0 leaves Dataverse's 5,000
}

func (p prefer) String() string {
	parts := []string{`odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"`}
	if p.track {
		parts = append(parts, "odata.track-changes")
	}
	if p.pageSize > 0 {
		parts = append(parts, "odata.maxpagesize="+strconv.Itoa(p.pageSize))
	}
	return strings.Join(parts, ",")
}

// get sends GET link, an absolute URL under the Web API, and decodes the
// collection it answers, inside crmhttp's retry loop: a body that does
// not decode is retried like a 5xx.
func (c *Connector) get(ctx context.Context, link string, p prefer) (*collection, error) {
	if !strings.HasPrefix(link, c.api) {
		return nil, fmt.Errorf("link %q is not under %s", link, c.api)
	}
	var out *collection
	_, err := c.client.DoDecode(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("OData-MaxVersion", "4.0")
		req.Header.Set("OData-Version", "4.0")
		req.Header.Set("If-None-Match", "null")
		req.Header.Set("Prefer", p.String())
		return req, nil
	}, func(body []byte) error {
		var col collection
		if err := json.Unmarshal(body, &col); err != nil {
			return fmt.Errorf("collection: %w", err)
		}
		if col.Value == nil {
			return errors.New("collection without value")
		}
		out = &col
		return nil
	})
	return out, err
}
