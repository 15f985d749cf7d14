package sellsy

import (
	"net/http"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/sellsyfake"
)

// TestDailyQuotaStopsAndResumes: when X-Quota-Remaining-By-Day falls to
// the reserve, the pull stops before a 429 with a StopError resuming the
// next day; every page before it carried its watermark, and the next pull
// resumes there rather than from the start.
func TestDailyQuotaStopsAndResumes(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{DayQuota: 20})
	opts := fakeOptions(s)
	opts.DailyReserve = 2
	c := newConnector(t, opts)
	first, err := conntest.Pull(c, nil)
	stop, ok := connectors.AsStop(err)
	if !ok {
		t.Fatalf("pull = %v, want a StopError", err)
	}
	tomorrow := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	if !stop.Resume.Equal(tomorrow) || s.Throttled() != 0 {
		t.Errorf("stop %v with %d 429s; want a resume at %s and no 429", stop, s.Throttled(), tomorrow)
	}
	if n := apiRequests(s); n != 18 {
		t.Errorf("%d requests before the stop, want 18 (20 less the reserve of 2)", n)
	}
	if _, err := conntest.Pull(c, first.Last()); err == nil {
		t.Error("a pull before the resume time succeeded")
	} else if again, ok := connectors.AsStop(err); !ok || !again.Resume.Equal(stop.Resume) {
		t.Errorf("a pull before the resume time = %v, want the same stop", err)
	}
	if n := apiRequests(s); n != 18 {
		t.Errorf("a pull before the resume time sent %d requests", n-18)
	}
	// The next day: a new quota, a new process.
	s.SetQuotas(0, 0, 1e6)
	s.ResetLog()
	rest, err := conntest.Pull(newConnector(t, opts), first.Last())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, got := range []*conntest.Collected{first, rest} {
		for _, a := range got.Batch.Accounts {
			seen[a.ID] = true
		}
	}
	if len(seen) != fakeCompanies+fakeIndividuals {
		t.Errorf("the two pulls handed %d distinct accounts, want %d", len(seen), fakeCompanies+fakeIndividuals)
	}
	full, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Batch.Accounts) >= len(full.Batch.Accounts) && len(rest.Batch.Contacts) >= len(full.Batch.Contacts) {
		t.Errorf("the resumed pull read everything again (%d accounts, %d contacts)", len(rest.Batch.Accounts), len(rest.Batch.Contacts))
	}
}

// TestQuotaPacing: with the fake enforcing per-second and per-minute
// quotas (windows shortened alike on both sides), the headers keep the
// pull under them: no 429.
func TestQuotaPacing(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{SecondQuota: 6, MinuteQuota: 20, Second: 10 * time.Millisecond, Minute: 100 * time.Millisecond})
	opts := fakeOptions(s)
	opts.Second, opts.Minute = 10*time.Millisecond, 100*time.Millisecond
	got, err := conntest.Pull(newConnector(t, opts), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFull(t, got)
	if n := s.Throttled(); n != 0 {
		t.Errorf("%d requests answered 429, want none", n)
	}
}

// TestQuota429Waits: when another integration has spent the minute's
// quota, the first request answers 429; the pull waits for the next
// window, retries and goes on paced by the headers.
func TestQuota429Waits(t *testing.T) {
	const minute = 300 * time.Millisecond
	s := seededFake(t, sellsyfake.Options{SecondQuota: 1e6, MinuteQuota: 30, Minute: minute})
	opts := fakeOptions(s)
	opts.Minute = minute
	// The other integration spends a window from its start (refused
	// requests count), so that the pull's first request falls in that
	// window whatever the machine's load: the fake counts calendar
	// windows of its clock, and one that ended in between would let it
	// through.
	time.Sleep(time.Until(time.Now().Truncate(minute).Add(minute)))
	for spent := false; !spent; {
		resp, err := s.Client().Get(s.URL() + "/v2/staffs")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		spent = resp.StatusCode == http.StatusTooManyRequests
	}
	s.ResetLog()
	got, err := conntest.Pull(newConnector(t, opts), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFull(t, got)
	throttled := 0
	for _, r := range s.Requests() {
		if r.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled != 1 {
		t.Errorf("%d of the pull's requests answered 429, want the first one only", throttled)
	}
}
