package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/locale"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// TestDashboardOps: after the demo's pass on real Redis, the queues and
// sources page shows the sample source ready with its accounts and
// rejects as the store holds them, and the queues' counters; two tasks
// are then archived, a delivery task holding a message of unknown outcome
// and a sync: the page lists both, Resend writes the message to the outbox
// once (the ledger records it) and puts the sync back in its queue.
func TestDashboardOps(t *testing.T) {
	a := startApp(t, demoOnRedis(t, ""))
	res, _ := runDemo(t, a, 1)
	ctx := t.Context()
	srv := httptest.NewServer(a.HTTPHandler())
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	num := func(n int64) string { return locale.For(a.Config.Locale).Number(float64(n)) }

	page := opsGet(t, c, srv.URL+"/ops")
	src := a.Config.Sources[0]
	accounts, err := a.Store.Records.CountAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, rejects, err := a.Store.Records.Rejects(ctx, src.Name, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<td>" + src.Name + "</td><td>" + src.Type + `</td><td class="good">ready</td>`,
		`<td class="n">` + num(accounts) + `</td><td class="n">` + num(rejects) + `</td>`,
		`<td>email</td><td class="n">`, "no dead messages", "(admin)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("ops page lacks %q", want)
		}
	}

	// A message claimed by a delivery task that then gave up: unknown.
	m := res.Passes[0].Written[notify.Email][0]
	m.LedgerKey = "test:ops:unknown"
	body, _ := json.Marshal(m)
	e := store.Entry{Key: m.LedgerKey, Rule: m.Rule, AccountID: m.AccountID, Recipient: strings.ToLower(m.To), Channel: string(m.Channel), Pass: m.Pass}
	token := string(a.ns()) + ":test-dead-deliver"
	if _, err := a.Store.Ledger.Claim(ctx, e, token, time.Minute, time.Now()); err != nil {
		t.Fatal(err)
	}
	if st, err := a.Store.Ledger.Abandon(ctx, e, token, "sendgrid: 503", body, time.Now()); err != nil || st != store.StatusUnknown {
		t.Fatalf("abandon: %q %v", st, err)
	}
	deliver, err := workers.NewDeliverTask(a.ns(), notify.Email, workers.DeliverPayload{Messages: []notify.Message{m}}, a.ns().TaskID("test-dead-deliver"), asynq.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sync, err := workers.NewSyncTask(a.ns(), workers.SyncPayload{Source: src.Name}, a.ns().TaskID("test-dead-sync"), asynq.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range []*asynq.Task{deliver, sync} {
		info, err := a.client.EnqueueContext(ctx, task)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.inspector.ArchiveTask(info.Queue, info.ID); err != nil {
			t.Fatal(err)
		}
	}

	page = opsGet(t, c, srv.URL+"/ops")
	for _, want := range []string{"1 unknown<br>", `value="` + token + `"`, `value="` + string(a.ns()) + `:test-dead-sync"`} {
		if !strings.Contains(page, want) {
			t.Errorf("ops page lacks %q", want)
		}
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatal("no resend form")
	}
	done := opsPost(t, c, srv.URL+"/ops/resend", url.Values{"csrf": {csrf[1]}, "queue": {"email"}, "id": {token}})
	if !strings.Contains(done, token+": 1 "+workers.ResentWritten) {
		t.Errorf("resend of the delivery task did not say it wrote the message:\n%s", done)
	}
	if e, err := a.Store.Ledger.Entry(ctx, m.LedgerKey); err != nil || e.Status != store.StatusWritten {
		t.Errorf("ledger entry after the resend: %+v %v", e, err)
	}
	again := opsPost(t, c, srv.URL+"/ops/resend", url.Values{"csrf": {csrf[1]}, "queue": {"email"}, "id": {token}})
	if !strings.Contains(again, "no message of unknown outcome left") {
		t.Errorf("a second resend did not say nothing was left:\n%s", again)
	}
	syncID := string(a.ns()) + ":test-dead-sync"
	opsPost(t, c, srv.URL+"/ops/resend", url.Values{"csrf": {csrf[1]}, "queue": {"sync"}, "id": {syncID}})
	if info, err := a.inspector.GetTaskInfo(a.ns().Queue(workers.QueueSync), syncID); err == nil && info.State == asynq.TaskStateArchived {
		t.Error("the archived sync was not run again")
	}
}

func opsGet(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	return opsBody(t, resp, err)
}

func opsPost(t *testing.T, c *http.Client, u string, v url.Values) string {
	t.Helper()
	resp, err := c.PostForm(u, v)
	return opsBody(t, resp, err)
}

func opsBody(t *testing.T, resp *http.Response, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", resp.Request.URL, resp.StatusCode, b)
	}
	return string(b)
}
