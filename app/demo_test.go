package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/workers"
)

// demoConfig writes the demo (the bundled sample, the example rules, the
// outbox) into a temporary folder, appends extra YAML to its config and
// loads it. Its store is embedded unless extra holds a `redis:` line
// (redistest.ConfigLine, or demoOnRedis).
func demoConfig(t testing.TB, extra string) *config.Config {
	t.Helper()
	path, err := PrepareDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if extra != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, extra...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return loadConfig(t, path)
}

// demoOnRedis is demoConfig on a fresh namespace of the real Redis.
func demoOnRedis(t testing.TB, extra string) *config.Config {
	t.Helper()
	return demoConfig(t, redistest.ConfigLine(t)+extra)
}

// loadConfig loads the config at path.
func loadConfig(t testing.TB, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newApp builds the app of cfg, its workers not started, logging nowhere
// unless opts.Logger says otherwise; it is closed when the test ends.
func newApp(t testing.TB, cfg *config.Config, opts Options) *App {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a, err := New(t.Context(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// startApp builds the app of cfg and starts its workers.
func startApp(t testing.TB, cfg *config.Config) *App {
	t.Helper()
	a := newApp(t, cfg, Options{TaskCheckInterval: 10 * time.Millisecond})
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	return a
}

// startDemo starts the demo's app in an embedded store.
func startDemo(t *testing.T) *App {
	t.Helper()
	return startApp(t, demoConfig(t, ""))
}

// runDemo runs the demo's given number of passes, the first at the
// sample's date.
func runDemo(t *testing.T, a *App, passes int) (*DemoResult, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := a.Demo(ctx, DemoOptions{Now: examples.SampleAsOf, Passes: passes}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if len(res.Passes) != passes {
		t.Fatalf("demo ran %d passes, want %d", len(res.Passes), passes)
	}
	return res, out.String()
}

// allWritten gathers the messages every pass of res wrote.
func allWritten(res *DemoResult) map[notify.Channel][]notify.Message {
	out := map[notify.Channel][]notify.Message{}
	for _, p := range res.Passes {
		for ch, msgs := range p.Written {
			out[ch] = append(out[ch], msgs...)
		}
	}
	return out
}

func TestDemoEndToEnd(t *testing.T) {
	testDemo(t, startDemo(t))
}

func TestDemoEndToEndOnRealRedis(t *testing.T) {
	testDemo(t, startApp(t, demoOnRedis(t, "")))
}

func testDemo(t *testing.T, a *App) {
	res, out := runDemo(t, a, 1)
	t.Log("\n" + out)

	st := res.Sync["sample"]
	if st.Accounts < 2500 || st.Contacts == 0 || st.Deals == 0 || st.Owners == 0 {
		t.Fatalf("sync stats %+v: want the whole sample", st)
	}
	if st.Rejects == 0 || !strings.Contains(out, "records set aside") {
		t.Errorf("the sample's bad rows were not reported as set aside:\n%s", out)
	}
	first := res.Passes[0]
	r := first.Report
	if r.Accounts != st.Accounts {
		t.Errorf("evaluated %d accounts, synced %d", r.Accounts, st.Accounts)
	}
	if r.Flags["inactive-90-days"] == 0 || r.Flags["high-value-churning"] == 0 {
		t.Fatalf("flags = %v: both preset rules should flag part of the sample", r.Flags)
	}
	emails, slacks := first.Written[notify.Email], first.Written[notify.Slack]
	if len(emails) == 0 || len(slacks) == 0 {
		t.Fatalf("wrote %d emails and %d Slack messages, want some of each", len(emails), len(slacks))
	}
	for _, want := range []string{"class", "inactive-90-days", "high-value-churning", "emails written", "deferred", "held back",
		"Slack messages per rep", "Messages written to the outbox", a.Outbox.Path(notify.Email)} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	checkDelivery(t, first)
	checkPerPassCaps(t, a, first)
	checkNeverTwice(t, first.Written)
	checkNoOptedOut(t, emails)
	checkHostileNamesStayText(t, first.Written)
	checkInhibition(t, first.Written)
	checkNoCriticalForRecentBuyers(t, a, first.Written)

	// The same process state again, at the same time: what the cap
	// deferred goes out, nothing else.
	res2, out2 := runDemo(t, a, 1)
	second := res2.Passes[0]
	if n, want := len(second.Written[notify.Email]), r.Deferred[notify.Email]; n != want {
		t.Errorf("second pass wrote %d emails, want the %d the first pass deferred:\n%s", n, want, out2)
	}
	both := allWritten(&DemoResult{Passes: []DemoPass{first, second}})
	checkNeverTwice(t, both)
	checkInhibition(t, both)
	// And once more: nothing is left, nothing is sent twice.
	res3, out3 := runDemo(t, a, 1)
	if n := len(res3.Passes[0].Written[notify.Email]) + len(res3.Passes[0].Written[notify.Slack]); n != 0 {
		t.Fatalf("third demo run wrote %d new messages, want 0:\n%s", n, out3)
	}
	if !strings.Contains(out3, "nothing new") {
		t.Errorf("third run's summary should say nothing new was sent:\n%s", out3)
	}
}

// checkDelivery: what the pass reports written is what the outbox got,
// every message accounted for, and the ledger says written, not sent.
func checkDelivery(t *testing.T, p DemoPass) {
	t.Helper()
	d := p.Delivery
	if !d.Writes || d.Verb() != "written" {
		t.Errorf("outbox mode: delivery verb %q, want written", d.Verb())
	}
	for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
		if got, want := d.Total(ch, OutcomeDelivered), len(p.Written[ch]); got != want {
			t.Errorf("%s: the pass counts %d written, the outbox got %d", ch, got, want)
		}
		if enq := p.Report.Enqueued[ch]; d.Total(ch, OutcomeDelivered)+d.Total(ch, OutcomeHeld) != enq {
			t.Errorf("%s: %d written and %d held back at send time, but %d enqueued", ch, d.Total(ch, OutcomeDelivered), d.Total(ch, OutcomeHeld), enq)
		}
		for _, o := range []Outcome{OutcomeFailed, OutcomeUnknown, OutcomePending, OutcomeQuiet} {
			if n := d.Total(ch, o); n != 0 {
				t.Errorf("%s: %d messages %s, want none in the demo", ch, n, o)
			}
		}
	}
}

// checkPerPassCaps: limits.per_pass holds: at most 200 emails, at most 5
// separate nudges per rep (digests aside), and the excess deferred.
func checkPerPassCaps(t *testing.T, a *App, p DemoPass) {
	t.Helper()
	caps := a.Config.Limits.PerPass
	if n := len(p.Written[notify.Email]); n > caps.Emails {
		t.Errorf("wrote %d emails in one pass, cap %d", n, caps.Emails)
	}
	if p.Report.Deferred[notify.Email] == 0 {
		t.Errorf("the sample flags more emails than the cap (%d); none was deferred", caps.Emails)
	}
	nudges := map[string]int{}
	for _, m := range p.Written[notify.Slack] {
		if isRep(m.To) && !strings.HasPrefix(m.AccountID, "digest:") {
			nudges[strings.ToLower(m.To)]++
		}
	}
	for rep, n := range nudges {
		if n > caps.SlackPerRep {
			t.Errorf("%s got %d nudges in one pass, cap %d", rep, n, caps.SlackPerRep)
		}
	}
	most, _, reps := perRep(p.PerRep)
	if reps == 0 || most > caps.SlackPerRep+len(a.Rules.Rules) {
		t.Errorf("Slack per rep: max %d over %d reps; want at most %d nudges and a digest per rule", most, reps, caps.SlackPerRep)
	}
}

// TestDemoPasses: `demo --passes 2` runs the second pass at the next tick
// of evaluate.schedule, and it sends what the first deferred.
func TestDemoPasses(t *testing.T) {
	a := startDemo(t)
	res, out := runDemo(t, a, 2)
	t.Log("\n" + out)
	first, second := res.Passes[0], res.Passes[1]
	next, err := NextPass(a.Config.Evaluate.Schedule, a.Config.Location(), examples.SampleAsOf)
	if err != nil || !second.Report.Now.Equal(next) {
		t.Fatalf("second pass at %v, want the next tick %v (%v)", second.Report.Now, next, err)
	}
	if first.Report.Deferred[notify.Email] == 0 || len(second.Written[notify.Email]) < first.Report.Deferred[notify.Email] {
		t.Errorf("first pass deferred %d emails, the second wrote %d: want them all", first.Report.Deferred[notify.Email], len(second.Written[notify.Email]))
	}
	checkNeverTwice(t, allWritten(res))
	for _, want := range []string{"Passes compared", "Slack per rep (max)", "Pass " + second.Report.Pass} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

// checkNeverTwice: no message (rule, account, channel, recipient) is
// written twice, whatever the passes.
func checkNeverTwice(t *testing.T, written map[notify.Channel][]notify.Message) {
	t.Helper()
	seen := map[string]bool{}
	for _, msgs := range written {
		for _, m := range msgs {
			if strings.HasPrefix(m.AccountID, "digest:") {
				continue // a digest per pass is the point
			}
			k := m.Rule + "|" + m.AccountID + "|" + string(m.Channel) + "|" + strings.ToLower(m.To)
			if seen[k] {
				t.Errorf("message %s written twice", k)
			}
			seen[k] = true
		}
	}
}

// checkNoOptedOut reads the sample's contacts and checks that no opted-out
// address received an email.
func checkNoOptedOut(t *testing.T, emails []notify.Message) {
	t.Helper()
	rows, col := sampleCSV(t, "contacts.csv")
	optedOut := map[string]bool{}
	for _, row := range rows[1:] {
		if len(row) == len(rows[0]) && row[col["opt_out"]] == "true" {
			optedOut[strings.ToLower(row[col["email"]])] = true
		}
	}
	if len(optedOut) == 0 {
		t.Fatal("the sample has no opted-out contact to check against")
	}
	for _, m := range emails {
		if optedOut[strings.ToLower(m.To)] {
			t.Errorf("opted-out contact %s was emailed", m.To)
		}
	}
}

func checkHostileNamesStayText(t *testing.T, written map[notify.Channel][]notify.Message) {
	t.Helper()
	hostile := 0
	for _, m := range written[notify.Slack] {
		if strings.Contains(m.Text, "<!channel>") || strings.Contains(string(m.Blocks), "<!channel>") {
			t.Errorf("a Slack message carries a live <!channel>: %s", m.Text)
		}
		if strings.Contains(m.Text, "&lt;!channel&gt;") {
			hostile++
		}
	}
	for _, m := range written[notify.Email] {
		if strings.Contains(m.HTML, "<script>") {
			t.Errorf("an email's HTML carries a live <script>: %s", m.LedgerKey)
		}
	}
	if hostile == 0 {
		t.Log("no flagged account with a <!channel> name in this sample run")
	}
}

// checkInhibition: an account flagged by both presets gets the urgent Slack
// nudge only, and its email still goes.
func checkInhibition(t *testing.T, written map[notify.Channel][]notify.Message) {
	t.Helper()
	byAccount := map[string]map[string]bool{}
	for ch, msgs := range written {
		for _, m := range msgs {
			if byAccount[m.AccountID] == nil {
				byAccount[m.AccountID] = map[string]bool{}
			}
			byAccount[m.AccountID][m.Rule+"/"+string(ch)] = true
		}
	}
	for id, got := range byAccount {
		if got["high-value-churning/slack"] && got["inactive-90-days/slack"] {
			t.Errorf("account %s got both Slack nudges; high-value-churning inhibits the other", id)
		}
	}
}

// recentBuyWindow is how recent a purchase must be to rule out a critical
// alert (issue 9: a client that just bought is not slipping away).
const recentBuyWindow = 60 * 24 * time.Hour

// recentBuyers reads the sample's deals and returns the accounts (by
// internal id) with a won deal closed in the recentBuyWindow before
// examples.SampleAsOf, with the days since that deal.
func recentBuyers(t *testing.T) map[string]int {
	t.Helper()
	rows, col := sampleCSV(t, "deals.csv")
	out := map[string]int{}
	for _, row := range rows[1:] {
		closed, err := time.Parse(time.RFC3339, row[col["closed_at"]])
		age := examples.SampleAsOf.Sub(closed)
		if err != nil || row[col["won"]] != "true" || age < 0 || age >= recentBuyWindow {
			continue
		}
		id := "sample:" + row[col["account_id"]]
		if d, ok := out[id]; !ok || int(age/(24*time.Hour)) < d {
			out[id] = int(age / (24 * time.Hour))
		}
	}
	if len(out) == 0 {
		t.Fatal("the sample has no recent buyer to check against")
	}
	return out
}

// checkNoCriticalForRecentBuyers: no critical alert goes to an account
// with a won deal in the last 60 days.
func checkNoCriticalForRecentBuyers(t *testing.T, a *App, written map[notify.Channel][]notify.Message) {
	t.Helper()
	buyers, seen := recentBuyers(t), map[string]bool{}
	for _, msgs := range written {
		for _, m := range msgs {
			r := a.Rules.Rule(m.Rule)
			d, ok := buyers[m.AccountID]
			if ok && r != nil && r.Severity == rules.SeverityCritical && !seen[m.Rule+"|"+m.AccountID] {
				seen[m.Rule+"|"+m.AccountID] = true
				t.Errorf("critical %s alert to %s, which bought %d days ago", m.Rule, m.AccountID, d)
			}
		}
	}
}

func TestPrepareDemoWritesALoadableConfig(t *testing.T) {
	dir := t.TempDir()
	path, err := PrepareDemo(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"crmsync.yaml", "rules.yaml", "sample/accounts.csv", "sample/contacts.csv", "sample/deals.csv", "sample/owners.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("demo folder lacks %s: %v", f, err)
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadRules(cfg); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkDemo measures the whole flow on the bundled sample with embedded
// Redis: sync of 20,348 records through the queue, one evaluation pass over
// 3,000 accounts and delivery of its messages (a few hundred, under
// limits.per_pass) to the outbox.
func BenchmarkDemo(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var msgs int
	for b.Loop() {
		b.StopTimer()
		cfg := demoConfig(b, "")
		a, err := New(b.Context(), cfg, Options{Logger: log, TaskCheckInterval: 10 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Start(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := a.Demo(b.Context(), DemoOptions{Now: examples.SampleAsOf}, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		written := res.Passes[0].Written
		msgs = len(written[notify.Email]) + len(written[notify.Slack])
		a.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(msgs), "messages/op")
}

// TestPreviewListsWhatDemoActsOn: a preview changes nothing, and the pass
// that follows flags the same accounts and sends exactly the messages the
// preview rendered.
func TestPreviewListsWhatDemoActsOn(t *testing.T) {
	a := startDemo(t)
	ctx := t.Context()
	for _, s := range a.Config.Sources {
		if _, err := a.Handlers.Sync.Sync(ctx, s.Name, false); err != nil {
			t.Fatal(err)
		}
	}
	flags, err := a.Handlers.Evaluate.Preview(ctx, examples.SampleAsOf, workers.PreviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	counted := &workers.Report{Flags: map[string]int{}, Skipped: map[string]map[string]int{}}
	previewed := map[string]bool{}
	for _, f := range flags {
		countFlag(counted, f)
		for _, m := range f.Messages {
			previewed[m.Rule+"|"+m.AccountID+"|"+string(m.Channel)+"|"+m.To] = true
		}
	}
	buyers := recentBuyers(t)
	for _, f := range flags {
		if d, ok := buyers[f.AccountID]; ok && f.Severity == rules.SeverityCritical {
			t.Errorf("preview: critical %s flag on %s, which bought %d days ago", f.Rule, f.AccountID, d)
		}
	}
	res, _ := runDemo(t, a, 1) // the preview left no cooldown or ledger entry behind
	pass := res.Passes[0]
	if !maps.Equal(counted.Flags, pass.Report.Flags) {
		t.Fatalf("preview flags %v, the pass flagged %v", counted.Flags, pass.Report.Flags)
	}
	sent := map[string]bool{}
	for _, msgs := range pass.Written {
		for _, m := range msgs {
			sent[m.Rule+"|"+m.AccountID+"|"+string(m.Channel)+"|"+m.To] = true
		}
	}
	if len(sent) == 0 || !maps.Equal(previewed, sent) {
		t.Fatalf("preview rendered %d messages, the pass sent %d; they must be the same", len(previewed), len(sent))
	}
	// After the pass, a preview shows the cooldown holding every flag back.
	after, err := a.Handlers.Evaluate.Preview(ctx, examples.SampleAsOf, workers.PreviewFilter{Rule: "high-value-churning"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range after {
		cooling := slices.ContainsFunc(f.HeldBack, func(r string) bool { return strings.HasPrefix(r, "cooldown until") })
		if len(f.Messages) != 0 || !cooling {
			t.Fatalf("after the pass, %s on %s: held back %v with %d messages; want the cooldown", f.Rule, f.AccountID, f.HeldBack, len(f.Messages))
		}
	}
}

// sampleCSV reads one of the bundled sample's files: its rows (the header
// first) and the index of each column by name.
func sampleCSV(t *testing.T, name string) (rows [][]string, col map[string]int) {
	t.Helper()
	f, err := examples.Sample.Open("sample/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err = csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col = map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	return rows, col
}
