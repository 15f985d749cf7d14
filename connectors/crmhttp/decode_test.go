package crmhttp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
)

// answer is one scripted response: status (default 200) and body; cut
// announces the whole body but closes the connection after half of it.
type answer struct {
	status int
	body   string
	cut    bool
}

const goodBody = `{"results":[{"id":"1"},{"id":"2"}]}`

// Bodies that do not decode.
var (
	truncated = goodBody[:len(goodBody)/2]
	proxyPage = "<html><body><h1>502 Bad Gateway</h1></body></html>"
)

// answering serves the answers in order, then goodBody.
func answering(t *testing.T, answers ...answer) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		a := answer{body: goodBody}
		if i < len(answers) {
			a = answers[i]
		}
		if a.cut {
			w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
			a.body = a.body[:len(a.body)/2]
		}
		w.WriteHeader(max(a.status, http.StatusOK))
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// listing is the envelope the tests decode.
type listing struct {
	Results []json.RawMessage `json:"results"`
}

func TestClientDoDecode(t *testing.T) {
	tests := []struct {
		name      string
		answers   []answer
		maxBody   int64
		wantErr   string // prefix
		wantCalls int32
		wantWaits []string
	}{
		{name: "ok", wantCalls: 1},
		{name: "truncated body retried", answers: []answer{{body: truncated}},
			wantCalls: 2, wantWaits: []string{"malformed 200 body: unexpected end of JSON input"}},
		{name: "proxy page retried", answers: []answer{{body: proxyPage}},
			wantCalls: 2, wantWaits: []string{"malformed 200 body: invalid character '<' looking for beginning of value"}},
		{name: "empty body retried", answers: []answer{{body: ""}},
			wantCalls: 2, wantWaits: []string{"malformed 200 body: unexpected end of JSON input"}},
		{name: "wrong envelope retried", answers: []answer{{body: `{"results":{}}`}},
			wantCalls: 2, wantWaits: []string{"malformed 200 body: json: cannot unmarshal object into Go struct field listing.results of type []json.RawMessage"}},
		{name: "body cut mid-stream retried", answers: []answer{{body: goodBody, cut: true}},
			wantCalls: 2, wantWaits: []string{"network error: read 200 body: unexpected EOF"}},
		{name: "same budget as a 5xx", answers: []answer{{status: 500, body: "{}"}, {body: truncated}},
			wantCalls: 3, wantWaits: []string{"500", "malformed 200 body: unexpected end of JSON input"}},
		{name: "attempts run out", answers: []answer{{body: truncated}, {status: 503}, {body: proxyPage}},
			wantCalls: 3, wantErr: "gave up after 3 attempts: malformed 200 body: invalid character '<'",
			wantWaits: []string{"malformed 200 body: unexpected end of JSON input", "503"}},
		{name: "refusal not decoded", answers: []answer{{status: 400, body: proxyPage}},
			wantCalls: 1, wantErr: "status 400: <html>"},
		{name: "body over MaxBody fails at once", answers: []answer{{body: goodBody}}, maxBody: 10,
			wantCalls: 1, wantErr: "response too large: 200 answer over 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := answering(t, tt.answers...)
			var waits []string
			ctx := connectors.WithTrace(context.Background(), &connectors.Trace{Wait: func(reason string, _ time.Duration) {
				waits = append(waits, reason)
			}})
			c := &Client{HTTP: srv.Client(), Classify: classify, Attempts: 3, MaxBody: tt.maxBody,
				BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}
			var got listing
			decodes := 0
			resp, err := c.DoDecode(ctx, getter(srv.URL), func(body []byte) error {
				decodes++
				var l listing
				if err := json.Unmarshal(body, &l); err != nil {
					return err
				}
				got = l
				return nil
			})
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("DoDecode error = %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("DoDecode: %v", err)
			case string(resp.Body) != goodBody || len(got.Results) != 2:
				t.Fatalf("body %q decoded to %d results; want the good body's 2", resp.Body, len(got.Results))
			case decodes != countMalformed(tt.wantWaits)+1:
				t.Errorf("decoded %d bodies, want each malformed one and the good one", decodes)
			}
			if n := calls.Load(); n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
			if strings.Join(waits, "|") != strings.Join(tt.wantWaits, "|") {
				t.Errorf("waits = %q, want %q", waits, tt.wantWaits)
			}
		})
	}
}

// countMalformed counts the waits that followed a body decoded in vain.
func countMalformed(waits []string) int {
	n := 0
	for _, w := range waits {
		if strings.HasPrefix(w, "malformed") {
			n++
		}
	}
	return n
}

func TestClientDoDecodeErrorNamesTheMalformedBody(t *testing.T) {
	srv, _ := answering(t, answer{body: truncated}, answer{body: truncated})
	c := &Client{HTTP: srv.Client(), Classify: classify, Attempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	_, err := c.DoDecode(context.Background(), getter(srv.URL), func(body []byte) error {
		return json.Unmarshal(body, new(listing))
	})
	var m *MalformedError
	if !errors.As(err, &m) || m.Status != http.StatusOK {
		t.Fatalf("DoDecode = %v, want a *MalformedError for a 200", err)
	}
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		t.Errorf("DoDecode = %v, want the decoding error in its chain", err)
	}
	if _, stop := connectors.AsStop(err); stop || errors.Is(err, connectors.ErrAuth) {
		t.Errorf("DoDecode = %v: a malformed body is neither a stop nor refused credentials", err)
	}
}

func TestClientRoundTripRetriesAndReplaysTheBody(t *testing.T) {
	var got []string
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, string(b))
		switch n.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			io.WriteString(w, truncated)
		default:
			io.WriteString(w, goodBody)
		}
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client(), Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
		Classify: func(resp *http.Response, body []byte) Verdict {
			if resp.StatusCode < 300 && !json.Valid(body) {
				return Malformed(resp.StatusCode, errors.New("not JSON"))
			}
			return classify(resp, body)
		}}
	resp, err := (&http.Client{Transport: c}).Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader("grant_type=x"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != goodBody || resp.ContentLength != int64(len(goodBody)) {
		t.Errorf("body = %q (length %d), want the third answer's", body, resp.ContentLength)
	}
	if strings.Join(got, "|") != "grant_type=x|grant_type=x|grant_type=x" {
		t.Errorf("request bodies = %q, want the form three times", got)
	}
}
