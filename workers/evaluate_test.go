package workers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/waitfor"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/email"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
)

// taskRecorder is an enqueuer that keeps what it is given.
type taskRecorder struct {
	mu    sync.Mutex
	tasks []recordedTask
}

type recordedTask struct {
	payload   DeliverPayload
	typ       string
	processAt time.Time
}

func (r *taskRecorder) EnqueueContext(_ context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := recordedTask{typ: t.Type()}
	if err := json.Unmarshal(t.Payload(), &rt.payload); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if o.Type() == asynq.ProcessAtOpt {
			rt.processAt = o.Value().(time.Time)
		}
	}
	r.tasks = append(r.tasks, rt)
	return &asynq.TaskInfo{}, nil
}

func (r *taskRecorder) messages() []notify.Message {
	var out []notify.Message
	for _, t := range r.tasks {
		out = append(out, t.payload.Messages...)
	}
	return out
}

const testRules = `
rules:
  - name: quiet
    when: days_inactive >= 90
    cooldown: 30d
    actions:
      - email: {to: primary_contact, template: reengage-90d}
      - slack: {to: owner}
  - name: also-quiet
    when: days_inactive >= 90
    cooldown: 30d
    inhibits: [quiet]
    actions:
      - email: {to: primary_contact, template: high-value-checkin}
`

var evalNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) // a Tuesday, 11:00 in Paris

func newEvaluator(t *testing.T, s *store.Store, q *taskRecorder, p *Planner) *Evaluator {
	t.Helper()
	return newEvaluatorRules(t, s, q, p, testRules)
}

// newEvaluatorRules is newEvaluator with the rule file src.
func newEvaluatorRules(t testing.TB, s *store.Store, q *taskRecorder, p *Planner, src string) *Evaluator {
	t.Helper()
	rs, err := rules.Parse("rules.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r, err := email.NewRenderer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Email, p.Suppressions, p.Ledger = r, s.Suppressions, s.Ledger
	return &Evaluator{Records: s.Records, Passes: s.Passes, Syncs: s.Syncs, Rules: rs, Planner: p, Queue: q, Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
}

// storeBatch stores b as a page of the source "crm".
func storeBatch(t testing.TB, s *store.Store, b model.Batch) {
	t.Helper()
	if err := s.Records.StorePage(context.Background(), "crm", b, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// storeClient stores one quiet account with a contact and an owner.
func storeClient(t testing.TB, s *store.Store, id, contactEmail, tz string) {
	t.Helper()
	acct := model.Account{Ref: model.NewRef("crm", id), Name: "Acme " + id, Lifecycle: model.Customer, OwnerID: "crm:o1", CreatedAt: evalNow.AddDate(-2, 0, 0)}
	b := model.Batch{
		Accounts: []model.Account{acct},
		Contacts: []model.Contact{{Ref: model.NewRef("crm", "c"+id), AccountID: acct.ID, FirstName: "Ann", Email: contactEmail, TimeZone: tz, Primary: true}},
		Owners:   []model.Owner{{Ref: model.NewRef("crm", "o1"), Name: "Rep", Email: "rep@example.com"}},
	}
	storeBatch(t, s, b)
}

func TestEvaluateCapsEmailsPerContact(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "ann@example.com", "")
	storeClient(t, s, "2", "bob@example.com", "")
	// bob already got an email from another rule within the window.
	if _, err := s.Ledger.Claim(ctx, store.Entry{Key: "earlier", Rule: "x", AccountID: "crm:2", Recipient: "bob@example.com", Channel: "email"}, "t0", time.Minute, evalNow.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	q := &taskRecorder{}
	e := newEvaluator(t, s, q, &Planner{Cap: FrequencyCap{Max: 1, Per: 30 * 24 * time.Hour}})
	rep, err := e.Evaluate(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range q.messages() {
		if m.Channel == notify.Email {
			to = append(to, m.To+"/"+m.Rule)
		}
	}
	// Two rules email ann: the cap of 1 lets only the first through. bob is at his cap.
	if !slices.Equal(to, []string{"ann@example.com/quiet"}) {
		t.Fatalf("emails = %v, want one to ann", to)
	}
	if got := rep.Skipped["also-quiet"][string(SkipCapped)] + rep.Skipped["quiet"][string(SkipCapped)]; got != 3 {
		t.Fatalf("capped = %v, want 3 (ann's second, bob's two)", rep.Skipped)
	}
	if rep.Skipped["quiet"][string(SkipInhibited)] != 2 {
		t.Fatalf("inhibited = %v, want quiet's Slack nudge inhibited on both accounts", rep.Skipped)
	}
}

func TestEvaluateDelaysEmailsInQuietHours(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "tokyo@example.com", "Asia/Tokyo")   // 19:00 in Tokyo: quiet
	storeClient(t, s, "2", "paris@example.com", "Europe/Paris") // 11:00 in Paris: allowed
	q := &taskRecorder{}
	quiet := &QuietHours{From: 19 * time.Hour, To: 8*time.Hour + 30*time.Minute, Weekends: true}
	e := newEvaluator(t, s, q, &Planner{Quiet: quiet, Location: time.UTC})
	if _, err := e.Evaluate(ctx, "p1", evalNow); err != nil {
		t.Fatal(err)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	want := map[string]time.Time{
		"tokyo@example.com": time.Date(2026, 11, 25, 8, 30, 0, 0, tokyo),
		"paris@example.com": evalNow,
	}
	n := 0
	for _, tk := range q.tasks {
		for _, m := range tk.payload.Messages {
			if m.Channel != notify.Email {
				continue
			}
			n++
			due := tk.processAt
			if due.IsZero() {
				due = evalNow
			}
			if !due.Equal(want[m.To]) || !m.NotBefore.Equal(want[m.To]) {
				t.Errorf("%s: task due %v, message not before %v; want %v", m.To, due, m.NotBefore, want[m.To])
			}
		}
	}
	if n != 4 {
		t.Fatalf("%d emails planned, want 4 (two rules, two contacts; no cap configured)", n)
	}
}

func TestEvaluateHonoursCooldownAcrossPasses(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "ann@example.com", "")
	q := &taskRecorder{}
	e := newEvaluator(t, s, q, &Planner{})
	if _, err := e.Evaluate(ctx, "p1", evalNow); err != nil {
		t.Fatal(err)
	}
	first := len(q.messages())
	// The same pass retried plans the same messages (same ledger keys).
	if _, err := e.Evaluate(ctx, "p1", evalNow); err != nil {
		t.Fatal(err)
	}
	if got := len(q.messages()); got != 2*first {
		t.Fatalf("a retried pass planned %d messages, want the same %d again", got-first, first)
	}
	// The next pass, inside the cooldown, plans nothing.
	rep, err := e.Evaluate(ctx, "p2", evalNow.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(q.messages()); got != 2*first {
		t.Fatalf("a pass inside the cooldown planned %d new messages", got-2*first)
	}
	if rep.Flags["quiet"] != 1 || rep.Skipped["quiet"][string(SkipCooldown)] != 1 {
		t.Fatalf("report = flags %v skipped %v; want the flag counted and held back by the cooldown", rep.Flags, rep.Skipped)
	}
}

// storeQuietClients stores n quiet accounts with revenue spread so that
// ABC classes differ.
func storeQuietClients(t *testing.T, s *store.Store, n int) {
	t.Helper()
	var b model.Batch
	for i := range n {
		id := fmt.Sprintf("%03d", i)
		b.Accounts = append(b.Accounts, model.Account{Ref: model.NewRef("crm", id), Name: "Acme " + id, Lifecycle: model.Customer, CreatedAt: evalNow.AddDate(-2, 0, 0)})
		b.Contacts = append(b.Contacts, model.Contact{Ref: model.NewRef("crm", "c"+id), AccountID: "crm:" + id, Email: "c" + id + "@example.com", Primary: true})
		b.Deals = append(b.Deals, model.Deal{Ref: model.NewRef("crm", "d"+id), AccountID: "crm:" + id, Amount: float64(1 + i*i), Won: true, ClosedAt: evalNow.AddDate(0, -4, 0)})
	}
	storeBatch(t, s, b)
}

func TestEvaluateShardSizeDoesNotChangeTheResult(t *testing.T) {
	var reports []*Report
	for _, size := range []int{1, 3, 1000} {
		s := testStore(t)
		storeQuietClients(t, s, 10)
		e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
		e.ShardSize = size
		rep, err := e.Evaluate(context.Background(), "p1", evalNow)
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, rep)
	}
	for i, r := range reports {
		// Two rules email each account (no frequency cap here).
		if r.Accounts != 10 || r.Flags["quiet"] != 10 || r.Flags["also-quiet"] != 10 || r.Enqueued[notify.Email] != 20 {
			t.Fatalf("shard size #%d: accounts %d flags %v enqueued %v; want every account once", i, r.Accounts, r.Flags, r.Enqueued)
		}
		if r.ABC["A"].Accounts != reports[0].ABC["A"].Accounts || !maps.Equal(r.Flags, reports[0].Flags) {
			t.Fatalf("shard size #%d changed the result: %+v vs %+v", i, r, reports[0])
		}
	}
}

func TestPassesNeverOverlap(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeQuietClients(t, s, 3)
	q := &taskRecorder{}
	e := newEvaluator(t, s, q, &Planner{})
	e.ShardSize = 1
	if err := e.Start(ctx, "p1", evalNow); err != nil {
		t.Fatal(err)
	}
	if len(q.tasks) != 3 {
		t.Fatalf("p1 enqueued %d shard tasks, want 3", len(q.tasks))
	}
	// p1's shards have not run: p2 must wait its turn, and is skipped.
	if err := e.Start(ctx, "p2", evalNow); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Passes.PassPlan(ctx, "p2"); !errors.Is(err, store.ErrNotFound) || len(q.tasks) != 3 {
		t.Fatalf("p2 was planned (%v) or enqueued shards (%d tasks) while p1 ran", err, len(q.tasks))
	}
	// A retried coordinator of p1 keeps its plan: same shards, same tasks.
	if err := e.Start(ctx, "p1", evalNow); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Evaluate(ctx, "p2", evalNow); err == nil {
		t.Fatal("an inline pass ran while p1 held the lock")
	}
}

// TestShardedPassOnRealRedis runs a pass through asynq on real Redis with
// two servers: every account is evaluated once, every message enqueued
// once, each message delivered once, and the last shard writes the report
// and frees the lock.
func TestShardedPassOnRealRedis(t *testing.T) {
	rdb := redistest.Client(t)
	ns := redistest.Namespace(t)
	s := store.New(rdb, ns)
	ctx := t.Context()
	storeQuietClients(t, s, 50)
	client := asynq.NewClientFromRedisClient(rdb)
	e := newEvaluator(t, s, nil, &Planner{})
	e.Queue, e.NS, e.ShardSize = client, Namespace(ns), 7
	snd := &recordingSender{}
	h := Handlers{Evaluate: e, Email: newDeliverer(s, snd), Slack: newDeliverer(s, snd), Sync: &Syncer{}}
	for range 2 {
		cfg := ServerConfig(e.NS, 3, testLogger(), h.DeadLetter)
		cfg.TaskCheckInterval = 10 * time.Millisecond
		srv := asynq.NewServerFromRedisClient(rdb, cfg)
		if err := srv.Start(h.Mux()); err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown()
	}
	task, err := NewEvaluateTask(e.NS, EvaluatePayload{Pass: "p1", Now: evalNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	var rep Report
	waitfor.Until(t, time.Minute, "the pass's report", func() (bool, string) {
		b, err := s.Passes.Report(ctx, "p1")
		return err == nil && json.Unmarshal(b, &rep) == nil, fmt.Sprint(err)
	})
	if rep.Accounts != 50 || rep.Flags["quiet"] != 50 || rep.Enqueued[notify.Email] != 100 {
		t.Fatalf("report: accounts %d flags %v enqueued %v; want each of 50 accounts once", rep.Accounts, rep.Flags, rep.Enqueued)
	}
	waitfor.Until(t, time.Minute, "100 emails delivered", func() (bool, string) {
		n := len(snd.sentKeys())
		return n >= 100, fmt.Sprintf("%d delivered", n)
	})
	for k, n := range snd.sent {
		if n != 1 {
			t.Fatalf("%s delivered %d times", k, n)
		}
	}
	if ok, _, err := s.Passes.LockPass(ctx, "p2", time.Minute); !ok || err != nil {
		t.Fatalf("the next pass cannot run after p1 finished: %v", err)
	}
}

const forTestRules = `
rules:
  - name: quiet
    when: days_inactive >= 90
    for: 2d
    cooldown: 30d
    on_resolve:
      slack: {to: owner, text: "{{ .Account.Name }} re-engaged"}
    actions:
      - slack: {to: owner}
`

// TestForWaitsThenFiresThenResolves walks one account through a rule with
// for and on_resolve: pending for two days, firing once, resolved when the
// client re-engages, with the note to the rep and the history entry.
func TestForWaitsThenFiresThenResolves(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "ann@example.com", "")
	q := &taskRecorder{}
	e := newEvaluator(t, s, q, &Planner{})
	rs, err := rules.Parse("rules.yaml", []byte(forTestRules))
	if err != nil {
		t.Fatal(err)
	}
	e.Rules = rs
	day := 24 * time.Hour
	steps := []struct {
		at                          time.Duration
		reengage                    bool
		flags, pending, resolved, n int // n: messages enqueued by the pass
	}{
		{at: 0, pending: 1},
		{at: day, pending: 1},
		{at: 2 * day, flags: 1, n: 1},
		{at: 3 * day, flags: 1},                          // still firing, in its cooldown: nothing new
		{at: 4 * day, reengage: true, resolved: 1, n: 1}, // the on_resolve note
		{at: 5 * day, reengage: true},                    // nothing left to resolve
	}
	for i, st := range steps {
		now := evalNow.Add(st.at)
		if st.reengage {
			c, _, _ := s.Records.Client(ctx, "crm:1")
			c.Account.LastActivityAt = evalNow.Add(4 * day)
			if err := s.Records.StorePage(ctx, "crm", model.Batch{Accounts: []model.Account{c.Account}}, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		before := len(q.messages())
		rep, err := e.Evaluate(ctx, fmt.Sprintf("p%d", i), now)
		if err != nil {
			t.Fatal(err)
		}
		msgs := q.messages()[before:]
		if rep.Flags["quiet"] != st.flags || rep.Skipped["quiet"][string(SkipPending)] != st.pending || rep.Resolved["quiet"] != st.resolved || len(msgs) != st.n {
			t.Fatalf("step %d: flags %v pending %v resolved %v messages %d; want %d %d %d %d",
				i, rep.Flags, rep.Skipped["quiet"][string(SkipPending)], rep.Resolved, len(msgs), st.flags, st.pending, st.resolved, st.n)
		}
		if st.resolved == 1 && (!strings.Contains(msgs[0].Text, "Acme 1 re-engaged") || msgs[0].To != "rep@example.com") {
			t.Fatalf("resolution note = %+v", msgs[0])
		}
	}
	hist, err := s.Ledger.History(ctx, "crm:1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(hist, func(e store.Entry) bool { return e.Status == store.StatusResolved && e.Rule == "quiet" }) {
		t.Fatalf("history %+v lacks the resolution", hist)
	}
}

func TestPreviewShowsPendingRules(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "ann@example.com", "")
	e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
	rs, err := rules.Parse("rules.yaml", []byte(forTestRules))
	if err != nil {
		t.Fatal(err)
	}
	e.Rules = rs
	flags, err := e.Preview(ctx, evalNow, PreviewFilter{})
	if err != nil || len(flags) != 1 || len(flags[0].Messages) != 0 || !strings.HasPrefix(flags[0].HeldBack[0], "pending until 2026-11-26 10:00") {
		t.Fatalf("preview before any pass = %+v, %v; want quiet pending for two days", flags, err)
	}
	if _, err := e.Evaluate(ctx, "p1", evalNow); err != nil { // the condition starts holding
		t.Fatal(err)
	}
	flags, err = e.Preview(ctx, evalNow.Add(48*time.Hour), PreviewFilter{})
	if err != nil || len(flags) != 1 || len(flags[0].Messages) != 1 || len(flags[0].HeldBack) != 0 {
		t.Fatalf("preview two days later = %+v, %v; want quiet firing with its nudge", flags, err)
	}
}

func TestDynamicTemplatesCarryTheirData(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "ann@example.com", "")
	q := &taskRecorder{}
	e := newEvaluator(t, s, q, &Planner{From: Address{Email: "success@example.com"}})
	rs, err := rules.Parse("rules.yaml", []byte("rules:\n  - name: quiet\n    when: days_inactive >= 90\n    actions:\n      - email: {to: primary_contact, template: d-0123456789abcdef}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.Rules = rs
	if _, err := e.Evaluate(ctx, "p1", evalNow); err != nil {
		t.Fatal(err)
	}
	msgs := q.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	contact, _ := m.TemplateData["contact"].(map[string]any)
	account, _ := m.TemplateData["account"].(map[string]any)
	if m.TemplateID != "d-0123456789abcdef" || m.Subject != "" || m.HTML != "" || contact["first_name"] != "Ann" || account["name"] != "Acme 1" || m.TemplateData["days_inactive"] == nil {
		t.Fatalf("message = %+v", m)
	}
}

// TestButtonsSnoozeAndMarkContacted runs the tasks behind a nudge's two
// buttons and checks their effect on the next passes.
func TestButtonsSnoozeAndMarkContacted(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "ann@example.com", "")
	q := &taskRecorder{}
	e := newEvaluator(t, s, q, &Planner{})
	h := &Actions{Passes: s.Passes, Records: s.Records, Logger: testLogger()}
	click := func(kind string, at time.Time) {
		t.Helper()
		task, err := NewActionTask("test", ActionPayload{Kind: kind, AccountID: "crm:1", Rule: "quiet", UserID: "U1", At: at})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.ProcessTask(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	click(ActionSnooze, time.Now())
	rep, err := e.Evaluate(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped["quiet"][string(SkipSnoozed)] != 1 || rep.Enqueued[notify.Email] != 1 {
		// also-quiet (not snoozed) still emails; quiet's messages are held back
		t.Fatalf("snoozed pass: skipped %v enqueued %v", rep.Skipped, rep.Enqueued)
	}
	flags, err := e.Preview(ctx, evalNow, PreviewFilter{Rule: "quiet"})
	if err != nil || len(flags) != 1 || !strings.HasPrefix(flags[0].HeldBack[len(flags[0].HeldBack)-1], "snoozed until") {
		t.Fatalf("preview = %+v, %v; want quiet snoozed", flags, err)
	}

	click(ActionContacted, evalNow)
	rep, err = e.Evaluate(ctx, "p2", evalNow.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Flags["quiet"] != 0 || rep.Flags["also-quiet"] != 0 || rep.Resolved["also-quiet"] != 1 {
		t.Fatalf("after mark as contacted: flags %v resolved %v; want nothing flagged, also-quiet resolved", rep.Flags, rep.Resolved)
	}
	bad, _ := NewActionTask("test", ActionPayload{Kind: "frobnicate", AccountID: "crm:1"})
	if err := h.ProcessTask(ctx, bad); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("unknown action: %v, want SkipRetry", err)
	}
}

// TestDigestsGatherARepsAccountsAcrossShards: with digest: true, the rep
// gets one message per pass listing every flagged account of theirs,
// whatever shard evaluated it.
func TestDigestsGatherARepsAccountsAcrossShards(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for i := range 20 {
		storeClient(t, s, fmt.Sprintf("%02d", i), fmt.Sprintf("c%d@example.com", i), "")
	}
	q := &taskRecorder{}
	e := newEvaluator(t, s, q, &Planner{})
	rs, err := rules.Parse("rules.yaml", []byte("rules:\n  - name: quiet\n    when: days_inactive >= 90\n    actions:\n      - slack: {to: owner, digest: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.Rules, e.ShardSize = rs, 6 // four shards
	rep, err := e.Evaluate(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	msgs := q.messages()
	// 20 accounts, one rep: two messages of at most 15 accounts, each naming the total.
	if len(msgs) != 2 || rep.Enqueued[notify.Slack] != 2 || rep.Flags["quiet"] != 20 {
		t.Fatalf("%d messages (report: %v, flags %v), want 2 digest parts", len(msgs), rep.Enqueued, rep.Flags)
	}
	accounts := 0
	for _, m := range msgs {
		if m.To != "rep@example.com" || !strings.Contains(m.Text, "20 of your clients need attention") {
			t.Errorf("digest message = %+v", m)
		}
		accounts += strings.Count(string(m.Blocks), `"action_id":"account_menu"`) // one menu per account
	}
	if accounts != 20 {
		t.Fatalf("the digests list %d accounts, want 20", accounts)
	}
	if msgs[0].LedgerKey == msgs[1].LedgerKey {
		t.Fatal("two digest parts share a ledger key")
	}
}

func TestPreviewRendersDigests(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for i := range 3 {
		storeClient(t, s, fmt.Sprint(i), fmt.Sprintf("c%d@example.com", i), "")
	}
	e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
	rs, err := rules.Parse("rules.yaml", []byte("rules:\n  - name: quiet\n    when: days_inactive >= 90\n    actions:\n      - slack: {to: owner, digest: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.Rules = rs
	flags, err := e.Preview(ctx, evalNow, PreviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// Three flags (no message of their own) and the rep's digest.
	if len(flags) != 4 || flags[3].AccountID != "digest:rep@example.com" || len(flags[3].Messages) != 1 || !strings.Contains(flags[3].Messages[0].Text, "3 of your clients") {
		t.Fatalf("preview = %+v", flags)
	}
}

// TestPlanReadsRangesAtOnce: a portfolio large enough to be planned in
// planParts id ranges read at once gets the thresholds, ABC counts and
// shards that one read of it in order gives (rules.ScorePortfolio).
func TestPlanReadsRangesAtOnce(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	n := planParts*wonBatch + 1
	var b model.Batch
	var clients []model.Client
	for i := range n {
		a := model.Account{Ref: model.Ref{ID: model.ID("crm", fmt.Sprintf("a%05d", i)), Source: "crm", ExternalID: fmt.Sprintf("a%05d", i)}, Name: "A", Lifecycle: model.Customer, CreatedAt: evalNow.AddDate(-3, 0, 0)}
		c := model.Client{Account: a}
		if i%3 != 0 {
			d := model.Deal{Ref: model.Ref{ID: model.ID("crm", fmt.Sprintf("d%05d", i)), Source: "crm", ExternalID: fmt.Sprintf("d%05d", i)}, AccountID: a.ID, Won: true, Amount: float64(i%97) * 100, ClosedAt: evalNow.AddDate(0, 0, -(i % 400))}
			b.Deals = append(b.Deals, d)
			c.Deals = []model.Deal{d}
		}
		b.Accounts = append(b.Accounts, a)
		clients = append(clients, c)
	}
	storeBatch(t, s, b)
	e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
	doc, err := e.plan(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	want := rules.ScorePortfolio(evalNow, clients, e.Rules.Segmentation)
	abc := map[string]int{}
	for _, f := range want {
		abc[f.ABC]++
	}
	if doc.Accounts != n || doc.ABC["A"].Accounts != abc["A"] || doc.ABC["B"].Accounts != abc["B"] || doc.ABC["C"].Accounts != abc["C"] {
		t.Errorf("plan: %d accounts, ABC %d/%d/%d; want %d, %v", doc.Accounts, doc.ABC["A"].Accounts, doc.ABC["B"].Accounts, doc.ABC["C"].Accounts, n, abc)
	}
	for i := range clients {
		f := rules.Compute(evalNow, &clients[i])
		doc.Segmenter.Apply(clients[i].Account.ID, &f)
		if f.ABC != want[i].ABC || f.RFM != want[i].RFM {
			t.Fatalf("%s: ABC %s RFM %v from the plan, want %s %v", clients[i].Account.ID, f.ABC, f.RFM, want[i].ABC, want[i].RFM)
		}
	}
	if !slices.IsSorted(doc.Bounds) || doc.Bounds[0] != clients[0].Account.ID || len(doc.Bounds) < n/DefaultShardSize || !slices.Contains(doc.Bounds, clients[n/planParts].Account.ID) {
		t.Errorf("shard bounds %v: want sorted, from the first account, one at each range's start", doc.Bounds)
	}
}

// TestCompactPassReadsAccountExtraWhenRulesDo: a pass that reads
// summaries leaves accounts' extra fields out only when no rule reads
// account; a rule on account.extra still sees them.
func TestCompactPassReadsAccountExtraWhenRulesDo(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for _, id := range []string{"1", "2"} {
		storeClient(t, s, id, "c"+id+"@example.com", "")
	}
	gold := model.Account{Ref: model.NewRef("crm", "1"), Name: "Acme 1", Lifecycle: model.Customer, OwnerID: "crm:o1",
		CreatedAt: evalNow.AddDate(-2, 0, 0), Extra: map[string]string{"tier": "gold"}}
	if err := s.Records.StorePage(ctx, "crm", model.Batch{Accounts: []model.Account{gold}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	e := newEvaluatorRules(t, s, &taskRecorder{}, &Planner{},
		"rules:\n  - name: gold\n    when: account.extra.tier == \"gold\" && days_inactive >= 90\n    actions:\n      - slack: {to: owner}\n")
	rep, err := e.Evaluate(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	if !e.compact(&passDoc{}) || rep.Flags["gold"] != 1 {
		t.Errorf("compact %v, flags %v; want a compact pass flagging crm:1 only", e.compact(&passDoc{}), rep.Flags)
	}
}

// TestPassFromFeaturesRecords: a pass whose rules read no more of an
// account than its features record (store.FeatureRange) flags the same
// accounts and enqueues the same messages, word for word, as one whose
// rules make it read the accounts' bundles, on a random portfolio.
func TestPassFromFeaturesRecords(t *testing.T) {
	const src = `rules:
  - name: quiet
    when: account.lifecycle == "customer" && days_inactive >= 90%s
    actions:
      - slack: {to: owner, text: "{{ .Account.Name }} is quiet"}
  - name: churning
    when: abc == "A" && days_since_purchase >= 60 && days_since(account.created_at) > 30%s
    actions:
      - slack: {to: owner, channel: "#key-accounts"}
`
	run := func(bundles bool) (*Report, []notify.Message) {
		ctx := context.Background()
		s := testStore(t)
		storeRandomPortfolio(t, s, 80)
		more := ""
		if bundles {
			more = ` && account.name == account.name` // reads the record: bundles
		}
		q := &taskRecorder{}
		e := newEvaluatorRules(t, s, q, &Planner{}, fmt.Sprintf(src, more, more))
		if e.Rules.ReadsAccountRecord() != bundles {
			t.Fatalf("ReadsAccountRecord() = %v, want %v", e.Rules.ReadsAccountRecord(), bundles)
		}
		rep, err := e.Evaluate(ctx, "p1", evalNow)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []notify.Message
		for _, task := range q.tasks {
			for _, m := range task.payload.Messages {
				m.CreatedAt, m.Expression = time.Time{}, ""
				msgs = append(msgs, m)
			}
		}
		slices.SortFunc(msgs, func(a, b notify.Message) int { return cmp.Compare(a.LedgerKey, b.LedgerKey) })
		return rep, msgs
	}
	feat, featMsgs := run(false)
	full, fullMsgs := run(true)
	if feat.Flags["quiet"] == 0 || feat.Flags["churning"] == 0 {
		t.Fatalf("flags %v: want both rules to fire on the portfolio", feat.Flags)
	}
	if !reflect.DeepEqual(feat.Flags, full.Flags) || !reflect.DeepEqual(feat.Enqueued, full.Enqueued) || !reflect.DeepEqual(feat.ABC, full.ABC) {
		t.Errorf("from features records: flags %v, enqueued %v; from bundles: %v, %v", feat.Flags, feat.Enqueued, full.Flags, full.Enqueued)
	}
	if len(featMsgs) != len(fullMsgs) {
		t.Fatalf("%d messages from features records, %d from bundles", len(featMsgs), len(fullMsgs))
	}
	for i := range featMsgs {
		if g, w := featMsgs[i], fullMsgs[i]; !reflect.DeepEqual(g, w) {
			t.Fatalf("message %d from features records:\n%s %s %v\nfrom bundles:\n%s %s %v", i, g.LedgerKey, g.Text, g.Features, w.LedgerKey, w.Text, w.Features)
		}
	}
}

// storeRandomPortfolio stores n accounts with random lifecycles, dates,
// contacts, deals and owners (a fixed seed).
func storeRandomPortfolio(t *testing.T, s *store.Store, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	ago := func(maxDays int) time.Time { return evalNow.Add(-time.Duration(rng.IntN(maxDays*24)) * time.Hour) }
	b := model.Batch{Owners: []model.Owner{
		{Ref: model.NewRef("crm", "o1"), Name: "Rita Rep", Email: "rita@example.com"},
		{Ref: model.NewRef("crm", "o2"), Name: "Sam Rep", Email: "sam@example.com"},
	}}
	lifecycles := []model.Lifecycle{model.Customer, model.Customer, model.Lifecycle("lead")}
	for i := range n {
		a := model.Account{Ref: model.NewRef("crm", strconv.Itoa(i)), Name: fmt.Sprintf("Acme %d", i), Lifecycle: lifecycles[i%3],
			OwnerID: fmt.Sprintf("crm:o%d", 1+i%2), CreatedAt: ago(900), URL: fmt.Sprintf("https://crm.example/%d", i)}
		if rng.IntN(2) == 0 {
			a.LastActivityAt = ago(400)
		}
		b.Accounts = append(b.Accounts, a)
		for c := range rng.IntN(4) {
			ct := model.Contact{Ref: model.NewRef("crm", fmt.Sprintf("c%d-%d", i, c)), AccountID: a.ID, FirstName: "Ann", Email: fmt.Sprintf("c%d-%d@example.com", i, c), Primary: c == 0}
			if rng.IntN(3) > 0 {
				ct.LastActivityAt = ago(300)
			}
			b.Contacts = append(b.Contacts, ct)
		}
		for d := range rng.IntN(6) {
			deal := model.Deal{Ref: model.NewRef("crm", fmt.Sprintf("d%d-%d", i, d)), AccountID: a.ID, Amount: float64(100 + rng.IntN(20000)), Won: rng.IntN(4) > 0}
			if rng.IntN(5) > 0 {
				deal.ClosedAt = ago(800)
			}
			b.Deals = append(b.Deals, deal)
		}
	}
	storeBatch(t, s, b)
}

// TestLoadFullKeepsOwners: loading whole records keeps the owner a
// summary had, without reading it again, and reads the owner of an
// account that changed owner since its summary was read.
func TestLoadFullKeepsOwners(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "ann@example.com", "")
	storeClient(t, s, "2", "bob@example.com", "")
	moved := model.Account{Ref: model.NewRef("crm", "2"), Name: "Acme 2", Lifecycle: model.Customer, OwnerID: "crm:o2", CreatedAt: evalNow.AddDate(-2, 0, 0)}
	b := model.Batch{Accounts: []model.Account{moved}, Owners: []model.Owner{{Ref: model.NewRef("crm", "o2"), Name: "New Rep", Email: "new@example.com"}}}
	storeBatch(t, s, b)
	kept := &model.Owner{Ref: model.NewRef("crm", "o1"), Name: "Rep as the summary had it"}
	batch := []scored{
		{c: model.Client{Account: model.Account{Ref: model.Ref{ID: "crm:1"}, OwnerID: "crm:o1"}, Owner: kept}, light: true},
		{c: model.Client{Account: model.Account{Ref: model.Ref{ID: "crm:2"}, OwnerID: "crm:o1"}, Owner: kept}, light: true},
	}
	e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
	if err := e.loadFull(ctx, batch, func(int) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if batch[0].light || batch[0].c.Account.Name != "Acme 1" || batch[0].c.Owner != kept {
		t.Errorf("crm:1: light %v, name %q, owner %+v; want its record with the summary's owner", batch[0].light, batch[0].c.Account.Name, batch[0].c.Owner)
	}
	if o := batch[1].c.Owner; batch[1].light || o == nil || o.Email != "new@example.com" {
		t.Errorf("crm:2: light %v, owner %+v; want its record with its new owner", batch[1].light, o)
	}
}
