package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// limitHeader reports the org's API usage on every REST response.
const limitHeader = "Sforce-Limit-Info"

// stopFor is how long a pull stopped by the daily allocation waits: the
// allocation is a rolling 24-hour window, so room comes back gradually as
// the requests of 24 hours ago leave it.
const stopFor = time.Hour

// tokenMargin renews a token a little before crmhttp.Tokens would, so the
// renewal happens here, under the pull's context.
const tokenMargin = time.Minute + 5*time.Second

// replicationLayout is the form of the deleted resource's start and end,
// as in Salesforce's examples: 2013-05-05T00:00:00+00:00.
const replicationLayout = "2006-01-02T15:04:05-07:00"

// apiError is a REST API error answer.
type apiError struct {
	Status  int
	Code    string // errorCode, such as INVALID_FIELD
	Message string // its last line, which says what is wrong
	full    string
}

// Error returns the status, Salesforce's code and what it says is wrong.
func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// reason is the short form used for waits and stops.
func (e *apiError) reason() string {
	if e.Code == "" {
		return "HTTP " + strconv.Itoa(e.Status)
	}
	return strconv.Itoa(e.Status) + " " + e.Code
}

// parseAPIError reads Salesforce's error array, or makes do with the
// status when the body is something else (an HTML 503 page).
func parseAPIError(status int, body []byte) *apiError {
	e := &apiError{Status: status, Message: http.StatusText(status)}
	var errs []apiErrorBody
	if json.Unmarshal(body, &errs) == nil && len(errs) > 0 {
		e.Code, e.full = errs[0].ErrorCode, errs[0].Message
		e.Message = lastLine(errs[0].Message)
	}
	return e
}

// lastLine returns the last non-empty line of a message: Salesforce puts
// the query and a caret first and what is wrong last.
func lastLine(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	return crmhttp.Clip(lines[len(lines)-1])
}

// hasCode reports whether err is a Salesforce error with code.
func hasCode(err error, code string) bool {
	var e *apiError
	return errors.As(err, &e) && e.Code == code
}

// classify reads a response for crmhttp: it notes the API usage, refreshes
// the session on 401, stops when the daily allocation is spent, retries
// 5xx and fails on the rest.
func (c *Connector) classify(resp *http.Response, body []byte) crmhttp.Verdict {
	c.limits.observe(resp.Header.Get(limitHeader))
	if resp.StatusCode < http.StatusMultipleChoices {
		return crmhttp.Verdict{Action: crmhttp.Done}
	}
	e := parseAPIError(resp.StatusCode, body)
	v := c.verdict(resp, e)
	switch v.Action {
	case crmhttp.Retry:
		c.logger.Warn("salesforce answered an error; retrying", "status", e.Status, "code", e.Code, "message", e.Message)
	case crmhttp.Refresh:
		c.logger.Info("salesforce refused the session; signing in again", "code", e.Code)
	}
	return v
}

func (c *Connector) verdict(resp *http.Response, e *apiError) crmhttp.Verdict {
	switch s := e.Status; {
	case s == http.StatusUnauthorized:
		return crmhttp.Verdict{Action: crmhttp.Refresh, Reason: e.reason()}
	case s == http.StatusForbidden && e.Code == "REQUEST_LIMIT_EXCEEDED" && strings.Contains(e.Message, "TotalRequests"):
		return crmhttp.Verdict{Action: crmhttp.Stop, Reason: e.reason() + ": daily API allocation spent", Resume: c.now().Add(stopFor)}
	case s == http.StatusForbidden && e.Code == "REQUEST_LIMIT_EXCEEDED":
		// Too many concurrent long-running requests in the org: transient.
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: e.reason()}
	case s == http.StatusForbidden:
		return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("%w: %w", e, connectors.ErrAuth)}
	case s == http.StatusTooManyRequests:
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: e.reason(), Wait: crmhttp.RetryAfter(resp.Header, c.now())}
	case s >= http.StatusInternalServerError:
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: e.reason()}
	}
	return crmhttp.Verdict{Action: crmhttp.Fail, Err: e}
}

// session makes sure a token is at hand, fetching one under ctx when
// needed, so that refused credentials fail at once instead of being
// retried as network errors inside the transport.
func (c *Connector) session(ctx context.Context) error {
	if tok := c.tokens.Current(); tok != nil && fresh(tok) {
		return nil
	}
	if err := c.tokens.Refresh(ctx); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	return nil
}

func fresh(tok *oauth2.Token) bool {
	return tok.Expiry.IsZero() || time.Now().Add(tokenMargin).Before(tok.Expiry)
}

// instanceURL is the API host of the current token.
func (c *Connector) instanceURL() string {
	tok := c.tokens.Current()
	if tok == nil {
		return ""
	}
	u, _ := tok.Extra("instance_url").(string)
	return strings.TrimRight(u, "/")
}

// get sends GET {instance_url}{path}?{query} and hands the body of a
// successful answer to decode, inside crmhttp's retry loop: a body that
// does not decode (cut short, or a proxy's page) is retried like a 5xx.
func (c *Connector) get(ctx context.Context, path string, query url.Values, header http.Header, decode func(body []byte) error) error {
	if err := c.session(ctx); err != nil {
		return err
	}
	_, err := c.client.DoDecode(ctx, func(ctx context.Context) (*http.Request, error) {
		u := c.instanceURL() + path
		if len(query) > 0 {
			u += "?" + query.Encode()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		for k, v := range header {
			req.Header[k] = v
		}
		return req, nil
	}, decode)
	return err
}

// dataPath returns the path of a REST resource under the API version.
func (c *Connector) dataPath(resource string) string {
	return "/services/data/" + c.opts.APIVersion + resource
}

// query runs a SOQL query and returns its first page.
func (c *Connector) query(ctx context.Context, soql string) (*queryResult, error) {
	header := http.Header{"Sforce-Query-Options": {"batchSize=" + strconv.Itoa(c.opts.BatchSize)}}
	var res *queryResult
	err := c.get(ctx, c.dataPath("/query"), url.Values{"q": {soql}}, header, func(body []byte) (err error) {
		res, err = decodeQuery(body)
		return err
	})
	return res, err
}

// queryMore fetches the page at a nextRecordsUrl.
func (c *Connector) queryMore(ctx context.Context, next string) (*queryResult, error) {
	if !strings.HasPrefix(next, "/services/data/") || strings.ContainsAny(next, "?#\\") || strings.Contains(next, "..") {
		return nil, fmt.Errorf("unexpected nextRecordsUrl %q", next)
	}
	var res *queryResult
	err := c.get(ctx, next, nil, nil, func(body []byte) (err error) {
		res, err = decodeQuery(body)
		return err
	})
	return res, err
}

// decodeQuery splits a query answer into its records, without copying
// them: they are decoded one by one later.
func decodeQuery(body []byte) (*queryResult, error) {
	var res queryResult
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, fmt.Errorf("query answer: %w", explain(body, errors.New("not a JSON object")))
	}
	end, err := eachMember(body, i, 0, func(key, value []byte) error {
		switch string(key) {
		case "totalSize":
			return json.Unmarshal(value, &res.TotalSize)
		case "done":
			return json.Unmarshal(value, &res.Done)
		case "nextRecordsUrl":
			return json.Unmarshal(value, &res.NextRecordsURL)
		case "records":
			return arrayElements(value, func(rec []byte) { res.Records = append(res.Records, rec) })
		}
		return nil
	})
	if err == nil && skipSpace(body, end) != len(body) {
		err = errSyntax
	}
	if err != nil {
		return nil, fmt.Errorf("query answer: %w", explain(body, err))
	}
	if !res.Done && res.NextRecordsURL == "" {
		return nil, errors.New("query answer not done but without nextRecordsUrl")
	}
	return &res, nil
}

// explain returns encoding/json's account of what is wrong with a body
// that is not JSON ("unexpected end of JSON input" for a truncated one,
// "invalid character '<'..." for an HTML page), else err. It reads the
// body again, but only once decoding failed.
func explain(body []byte, err error) error {
	if jerr := json.Unmarshal(body, new(json.RawMessage)); jerr != nil {
		return jerr
	}
	return err
}

// deleted lists the records of sobject deleted between start and end.
func (c *Connector) deleted(ctx context.Context, sobject string, start, end time.Time) (*deletedResult, error) {
	q := url.Values{"start": {start.UTC().Format(replicationLayout)}, "end": {end.UTC().Format(replicationLayout)}}
	var res *deletedResult
	err := c.get(ctx, c.dataPath("/sobjects/"+sobject+"/deleted/"), q, nil, func(body []byte) error {
		res = new(deletedResult)
		if err := json.Unmarshal(body, res); err != nil {
			return fmt.Errorf("deleted answer: %w", err)
		}
		return nil
	})
	return res, err
}
