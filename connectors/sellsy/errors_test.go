package sellsy

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/sellsyfake"
)

// TestErrorBodies: each documented error status, in Sellsy's envelope,
// fails, retries or refreshes as it should.
func TestErrorBodies(t *testing.T) {
	for _, tc := range []struct {
		status   int
		times    int
		ok       bool   // the pull succeeds after the failures
		auth     bool   // the error wraps ErrAuth
		contains string // in the error
	}{
		{status: http.StatusBadRequest, times: 1, contains: "HTTP 400 validation_error: Validation error"},
		{status: http.StatusPaymentRequired, times: 1, contains: "plan_quota_reached"},
		{status: http.StatusForbidden, times: 1, auth: true, contains: "read scopes"},
		{status: http.StatusNotFound, times: 1, contains: "HTTP 404 not_found"},
		{status: http.StatusConflict, times: 1, contains: "HTTP 409 conflict"},
		{status: http.StatusRequestEntityTooLarge, times: 1, contains: "HTTP 413 payload_too_large"},
		{status: http.StatusUnauthorized, times: 1, ok: true},
		{status: http.StatusUnauthorized, times: 2, auth: true, contains: "authentication_error"},
		{status: http.StatusInternalServerError, times: 2, ok: true},
		{status: http.StatusServiceUnavailable, times: 4, contains: "gave up after 4 attempts"},
		{status: http.StatusTooManyRequests, times: 1, ok: true},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			// A 429 waits for the next minute: shorten the windows.
			s := seededFake(t, sellsyfake.Options{Second: 10 * time.Millisecond, Minute: 20 * time.Millisecond})
			opts := fakeOptions(s)
			opts.Minute, opts.Second = 20*time.Millisecond, 10*time.Millisecond
			s.FailNext(tc.times, tc.status)
			got, err := conntest.Pull(newConnector(t, opts), nil)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("pull = %v, want success", err)
			case tc.ok:
				checkFull(t, got)
			case err == nil:
				t.Fatal("pull succeeded, want an error")
			case errors.Is(err, connectors.ErrAuth) != tc.auth || !strings.Contains(err.Error(), tc.contains):
				t.Errorf("pull = %v; want ErrAuth %v and %q", err, tc.auth, tc.contains)
			}
		})
	}
}

func TestMissingScope(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	s.Deny(sellsyfake.KindActivities)
	_, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "activities.read") {
		t.Errorf("pull = %v; want ErrAuth naming activities.read", err)
	}
}

// TestCutBodies: answers cut short or closed mid-body are retried.
func TestCutBodies(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	s.TruncateEvery(3)
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFull(t, got)
	if s.Truncated() == 0 {
		t.Error("no answer was cut")
	}
}

// TestOffsetExpiredMidRead: a seek offset Sellsy refuses mid-read
// restarts the stream from its filter; nothing is lost.
func TestOffsetExpiredMidRead(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	s.OnRequest(func(kind string, n int) {
		if kind == sellsyfake.KindCompanies && n == 2 {
			s.ExpireOffsets()
		}
	})
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if distinct := distinctAccounts(got); distinct != fakeCompanies+fakeIndividuals || len(got.Rejects) != 0 {
		t.Errorf("%d distinct accounts, %d rejects; want %d, 0", distinct, len(got.Rejects), fakeCompanies+fakeIndividuals)
	}
	refused := 0
	for _, r := range s.Requests() {
		if r.Kind == sellsyfake.KindCompanies && r.Status == http.StatusBadRequest {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d refused company pages, want 1", refused)
	}
}

// TestOffsetExpiredOnResume: a pull stopped mid-read keeps the seek
// offset; when Sellsy no longer honours it, the resumed pull reads that
// stream again and completes.
func TestOffsetExpiredOnResume(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	c := newConnector(t, fakeOptions(s))
	stop := errors.New("stop")
	var wm connectors.Watermark
	err := c.Pull(context.Background(), nil, func(_ context.Context, p connectors.Page) error {
		wm = p.Watermark
		if len(p.Accounts) > 0 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || wm["companies.offset"] == "" {
		t.Fatalf("pull = %v, watermark %v; want a stop with a kept offset", err, wm)
	}
	s.ExpireOffsets()
	got, err := conntest.Pull(c, wm)
	if err != nil {
		t.Fatal(err)
	}
	if distinct := distinctAccounts(got); distinct != fakeCompanies+fakeIndividuals {
		t.Errorf("resumed pull handed %d distinct accounts, want all %d", distinct, fakeCompanies+fakeIndividuals)
	}
	if off := got.Last()["companies.offset"]; off != "" {
		t.Errorf("final watermark keeps offset %q", off)
	}
}

func distinctAccounts(got *conntest.Collected) int {
	seen := map[string]bool{}
	for _, a := range got.Batch.Accounts {
		seen[a.ID] = true
	}
	return len(seen)
}
