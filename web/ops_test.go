package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/web/auth"
)

// opsFake serves a fixed Ops and records the resends asked for.
type opsFake struct {
	fakeData
	ops *Ops

	mu     sync.Mutex
	resent []string // queue/id
}

func (d *opsFake) Ops(context.Context) (*Ops, error) { return d.ops, nil }

func (d *opsFake) ResendDead(_ context.Context, queue, id string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.resent = append(d.resent, queue+"/"+id)
	if id == "gone" {
		return "", errors.New("task gone: no such task")
	}
	return "queued to run again", nil
}

const hostile = "<script>alert(1)</script>"

// sampleOps: one source synced 90 minutes before now, paused by its CRM,
// with two rejects (one hostile); one failing with a full sync in
// progress; two queues; the email channel paused; one dead delivery task
// with an unknown message and one dead sync task.
func sampleOps() *Ops {
	return &Ops{
		Now: pageNow,
		Sources: []SourceOps{
			{Name: "hub", Type: "hubspot", Ready: true, LastSuccess: pageNow.Add(-90 * time.Minute), Accounts: 1234,
				PausedUntil: pageNow.Add(3 * time.Hour), PauseReason: "daily API limit spent",
				RejectsTotal: 1502, Rejects: []model.Reject{
					{Source: "hub", Entity: "account", Where: "hub:77", Reason: hostile, At: pageNow.Add(-2 * time.Hour)},
					{Source: "hub", Entity: "deal", Where: "hub:d9", Reason: "amount is not a number", At: pageNow.Add(-3 * time.Hour)},
				}},
			{Name: "sf", Type: "salesforce", FullKind: "first", FullSince: pageNow.Add(-time.Hour), Progress: 5000,
				LastError: "salesforce: 401 INVALID_SESSION_ID", FailingSince: pageNow.Add(-20 * time.Minute)},
		},
		Queues: []QueueOps{
			{Name: "email", Size: 7, Pending: 3, Active: 1, Scheduled: 0, Retry: 2, Archived: 1, Latency: 42 * time.Second, Processed: 120, Failed: 9},
			{Name: "sync"},
		},
		Channels: []ChannelOps{{Channel: "email", Paused: true, Reason: "sendgrid: 401 " + hostile, Since: pageNow.Add(-time.Hour), Queued: 5}},
		Dead: []DeadTask{
			{Queue: "email", ID: "ns:deliver:abc", Type: "deliver:email", LastErr: "sendgrid: 503", LastFailed: pageNow.Add(-time.Hour), Retried: 8,
				Messages: map[string]int{"dead": 40, "unknown": 2}, Action: DeadResend},
			{Queue: "email", ID: "ns:deliver:done", Type: "deliver:email", LastErr: "boom", Messages: map[string]int{"dead": 50}},
			{Queue: "sync", ID: "ns:sync:hub@1", Type: "sync:source", LastErr: hostile, Retried: 25, Action: DeadRun},
		},
	}
}

func opsServer(t testing.TB, d *opsFake) *Server {
	t.Helper()
	a, err := auth.New(auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Data: d, Auth: a, Locale: "en", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOpsPage checks each figure of the page against sampleOps: the lag
// is now − last success (1h30m0s), the counters as given, CRM text
// escaped, a Resend form (with the CSRF field) only on tasks with
// something to resend.
func TestOpsPage(t *testing.T) {
	s := opsServer(t, &opsFake{ops: sampleOps()})
	w := get(t, s, s.ops, "/ops", auth.User{Email: "boss@example.com", Admin: true})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	tests := []struct{ name, want string }{
		{"source type", `<td>hub</td><td>hubspot</td>`},
		{"paused state", `<td class="bad">paused</td>`},
		{"last success", `<td>2026-11-30 10:30:00 UTC</td><td class="n">1h30m0s</td>`},
		{"accounts and rejects total", `<td class="n">1,234</td><td class="n">1,502</td>`},
		{"rate-limit pause", `stopped until 2026-11-30 15:00:00 UTC: daily API limit spent`},
		{"full sync in progress", `full sync in progress (first since 2026-11-30 11:00:00 UTC, 5,000 records read)`},
		{"never synced", `<td>never</td><td class="n">–</td>`},
		{"last error", `salesforce: 401 INVALID_SESSION_ID`},
		{"rejects heading", `Rejects of hub: the 2 latest of 1,502`},
		{"reject row", `<td>account</td><td>hub:77</td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td>`},
		{"queue counters", `<td>email</td><td class="n">7</td><td class="n">3</td><td class="n">1</td><td class="n">0</td><td class="n">2</td><td class="n">1</td><td class="n">42s</td><td class="n">120</td><td class="n">9</td>`},
		{"channel pause", `paused since 2026-11-30 11:00:00 UTC: sendgrid: 401 &lt;script&gt;`},
		{"dead messages by status", `40 dead<br>2 unknown<br>`},
		{"resend form", `<input type="hidden" name="queue" value="email"><input type="hidden" name="id" value="ns:deliver:abc"><button>Resend</button>`},
		{"run form", `name="id" value="ns:sync:hub@1"><button>Resend</button>`},
		{"nothing to resend", `nothing to resend`},
		{"what dead means", `tasks asynq archived after their last retry`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(body, tt.want) {
				t.Errorf("page lacks %q", tt.want)
			}
		})
	}
	if strings.Contains(body, hostile) {
		t.Error("a CRM value was not escaped")
	}
	if n := strings.Count(body, `<button>Resend</button>`); n != 2 {
		t.Errorf("%d Resend buttons, want 2 (the task with nothing left has none)", n)
	}
	if n := strings.Count(body, `name="csrf"`); n != 2 {
		t.Errorf("%d csrf fields, want one per form", n)
	}
}

// TestOpsAdminsOnly: a rep gets 403 on the page and on the resend, and
// nothing is resent.
func TestOpsAdminsOnly(t *testing.T) {
	d := &opsFake{ops: sampleOps()}
	s := opsServer(t, d)
	rep := auth.User{Email: "ann@example.com", Via: auth.ViaSlack}
	tests := []struct {
		name string
		h    http.HandlerFunc
		req  *http.Request
	}{
		{"page", s.ops, httptest.NewRequest("GET", "/ops", nil)},
		{"resend", s.resend, postForm("/ops/resend", url.Values{"queue": {"sync"}, "id": {"x"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tt.h(w, tt.req.WithContext(auth.WithUser(tt.req.Context(), rep)))
			if w.Code != http.StatusForbidden {
				t.Errorf("status %d, want 403", w.Code)
			}
		})
	}
	if len(d.resent) != 0 {
		t.Errorf("a rep resent %v", d.resent)
	}
}

func postForm(path string, v url.Values) *http.Request {
	r := httptest.NewRequest("POST", path, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// TestOpsResend: the resend asks Data for the task and goes back to the
// page saying what it did, or why not; a form without a task is refused.
func TestOpsResend(t *testing.T) {
	tests := []struct {
		name     string
		form     url.Values
		code     int
		location string
	}{
		{"runs", url.Values{"queue": {"sync"}, "id": {"ns:sync:hub@1"}}, http.StatusSeeOther, "/ops?done=ns%3Async%3Ahub%401%3A+queued+to+run+again"},
		{"fails", url.Values{"queue": {"sync"}, "id": {"gone"}}, http.StatusSeeOther, "/ops?done=gone%3A+not+resent%3A+task+gone%3A+no+such+task"},
		{"no id", url.Values{"queue": {"sync"}}, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &opsFake{ops: sampleOps()}
			s := opsServer(t, d)
			r := postForm("/ops/resend", tt.form)
			w := httptest.NewRecorder()
			s.resend(w, r.WithContext(auth.WithUser(r.Context(), auth.User{Admin: true})))
			if w.Code != tt.code || w.Header().Get("Location") != tt.location {
				t.Fatalf("%d %q, want %d %q", w.Code, w.Header().Get("Location"), tt.code, tt.location)
			}
			if tt.code == http.StatusSeeOther && (len(d.resent) != 1 || d.resent[0] != "sync/"+tt.form.Get("id")) {
				t.Errorf("resent %v", d.resent)
			}
		})
	}
}

// TestOpsResendForm goes through the routes and the auth middleware on
// loopback (an admin): a POST without the CSRF field is refused, the
// page's own form is accepted, and the page then shows what was done.
func TestOpsResendForm(t *testing.T) {
	d := &opsFake{ops: sampleOps()}
	srv := httptest.NewServer(opsServer(t, d).Handler())
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	page := fetch(t, c, "GET", srv.URL+"/ops", nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field on the page")
	}
	form := url.Values{"queue": {"sync"}, "id": {"ns:sync:hub@1"}}
	resp, err := c.PostForm(srv.URL+"/ops/resend", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(d.resent) != 0 {
		t.Fatalf("without csrf: status %d, resent %v; want 403 and nothing", resp.StatusCode, d.resent)
	}
	form.Set("csrf", m[1])
	done := fetch(t, c, "POST", srv.URL+"/ops/resend", form)
	if len(d.resent) != 1 || !strings.Contains(done, `<p class="panel" id="done">ns:sync:hub@1: queued to run again</p>`) {
		t.Errorf("resent %v; page after the resend:\n%s", d.resent, done)
	}
}

// fetch does a request (a form POST when v is not nil), follows
// redirects, and returns the body of a 200.
func fetch(t *testing.T, c *http.Client, method, u string, v url.Values) string {
	t.Helper()
	var resp *http.Response
	var err error
	if method == "POST" {
		resp, err = c.PostForm(u, v)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
	}
	return string(b)
}

func TestSourceState(t *testing.T) {
	tests := []struct {
		s    SourceOps
		want string
	}{
		{SourceOps{Ready: true}, "ready"},
		{SourceOps{}, "not ready"},
		{SourceOps{Ready: true, Stale: true}, "stale"},
		{SourceOps{Ready: true, Stale: true, FailingSince: pageNow}, "failing"},
		{SourceOps{Ready: true, FullKind: "full", FailingSince: pageNow}, "full sync in progress"},
		{SourceOps{Ready: true, FullKind: "full", PausedUntil: pageNow}, "paused"},
	}
	for _, tt := range tests {
		if got := tt.s.State(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.s, got, tt.want)
		}
	}
}

// BenchmarkOpsPage renders the page with 10 sources of 20 rejects each and
// 4 queues of 20 dead tasks: what it shows does not grow with the
// portfolio (accounts per source are counted by the app from the book).
func BenchmarkOpsPage(b *testing.B) {
	o := sampleOps()
	for i := range 10 {
		src := o.Sources[0]
		src.Name = fmt.Sprintf("src%d", i)
		for range RejectsShown - len(src.Rejects) {
			src.Rejects = append(src.Rejects, src.Rejects[1])
		}
		o.Sources = append(o.Sources, src)
	}
	for i := range 4 * DeadShown {
		dt := o.Dead[0]
		dt.ID = fmt.Sprintf("ns:deliver:%d", i)
		o.Dead = append(o.Dead, dt)
	}
	s := opsServer(b, &opsFake{ops: o})
	u := auth.User{Admin: true}
	for b.Loop() {
		if w := get(b, s, s.ops, "/ops", u); w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
