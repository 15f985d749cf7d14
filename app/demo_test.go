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

// startDemo prepares the demo in a temporary folder, optionally pointed at
// a real Redis (the `redis:` line of its config), and starts its workers.
func startDemo(t *testing.T, redisLine string) *App {
	t.Helper()
	dir := t.TempDir()
	path, err := PrepareDemo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if redisLine != "" {
		b, _ := os.ReadFile(path)
		b = append([]byte(redisLine), b...)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return startApp(t, path)
}

// startApp loads the config at path, builds the app and starts its
// workers; it is closed when the test ends.
func startApp(t *testing.T, path string) *App {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(t.Context(), cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TaskCheckInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	return a
}

func runDemo(t *testing.T, a *App) (*DemoResult, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := a.Demo(ctx, examples.SampleAsOf, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	return res, out.String()
}

func TestDemoEndToEnd(t *testing.T) {
	testDemo(t, startDemo(t, ""))
}

func TestDemoEndToEndOnRealRedis(t *testing.T) {
	testDemo(t, startDemo(t, redistest.ConfigLine(t)))
}

func testDemo(t *testing.T, a *App) {
	res, out := runDemo(t, a)
	t.Log("\n" + out)

	st := res.Sync["sample"]
	if st.Accounts < 2500 || st.Contacts == 0 || st.Deals == 0 || st.Owners == 0 {
		t.Fatalf("sync stats %+v: want the whole sample", st)
	}
	if st.Rejects == 0 || !strings.Contains(out, "records set aside") {
		t.Errorf("the sample's bad rows were not reported as set aside:\n%s", out)
	}
	r := res.Report
	if r.Accounts != st.Accounts {
		t.Errorf("evaluated %d accounts, synced %d", r.Accounts, st.Accounts)
	}
	if r.Flags["inactive-90-days"] == 0 || r.Flags["high-value-churning"] == 0 {
		t.Fatalf("flags = %v: both preset rules should flag part of the sample", r.Flags)
	}
	emails, slacks := res.Written[notify.Email], res.Written[notify.Slack]
	if len(emails) == 0 || len(slacks) == 0 {
		t.Fatalf("wrote %d emails and %d Slack messages, want some of each", len(emails), len(slacks))
	}
	for _, want := range []string{"class", "inactive-90-days", "high-value-churning", "Messages written to the outbox", a.Outbox.Path(notify.Email)} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	checkNeverTwice(t, res)
	checkNoOptedOut(t, emails)
	checkHostileNamesStayText(t, res)
	checkInhibition(t, res)
	checkNoCriticalForRecentBuyers(t, a, res)

	// The same process state again: nothing new is sent.
	res2, out2 := runDemo(t, a)
	if n := len(res2.Written[notify.Email]) + len(res2.Written[notify.Slack]); n != 0 {
		t.Fatalf("second demo run wrote %d new messages, want 0:\n%s", n, out2)
	}
	if !strings.Contains(out2, "nothing new") {
		t.Errorf("second run's summary should say nothing new was sent:\n%s", out2)
	}
}

func checkNeverTwice(t *testing.T, res *DemoResult) {
	t.Helper()
	seen := map[string]bool{}
	for _, msgs := range res.Written {
		for _, m := range msgs {
			if seen[m.LedgerKey] {
				t.Errorf("message %s written twice", m.LedgerKey)
			}
			seen[m.LedgerKey] = true
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

func checkHostileNamesStayText(t *testing.T, res *DemoResult) {
	t.Helper()
	hostile := 0
	for _, m := range res.Written[notify.Slack] {
		if strings.Contains(m.Text, "<!channel>") || strings.Contains(string(m.Blocks), "<!channel>") {
			t.Errorf("a Slack message carries a live <!channel>: %s", m.Text)
		}
		if strings.Contains(m.Text, "&lt;!channel&gt;") {
			hostile++
		}
	}
	for _, m := range res.Written[notify.Email] {
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
func checkInhibition(t *testing.T, res *DemoResult) {
	t.Helper()
	byAccount := map[string]map[string]bool{}
	for ch, msgs := range res.Written {
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
func checkNoCriticalForRecentBuyers(t *testing.T, a *App, res *DemoResult) {
	t.Helper()
	buyers, seen := recentBuyers(t), map[string]bool{}
	for _, msgs := range res.Written {
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
// 3,000 accounts and delivery of about a thousand messages to the outbox.
func BenchmarkDemo(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var msgs int
	for b.Loop() {
		b.StopTimer()
		path, err := PrepareDemo(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		cfg, err := config.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		a, err := New(b.Context(), cfg, Options{Logger: log, TaskCheckInterval: 10 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Start(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := a.Demo(b.Context(), examples.SampleAsOf, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		msgs = len(res.Written[notify.Email]) + len(res.Written[notify.Slack])
		a.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(msgs), "messages/op")
}

// TestPreviewListsWhatDemoActsOn: a preview changes nothing, and the pass
// that follows flags the same accounts and sends exactly the messages the
// preview rendered.
func TestPreviewListsWhatDemoActsOn(t *testing.T) {
	a := startDemo(t, "")
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
	perRule := map[string]int{}
	previewed := map[string]bool{}
	for _, f := range flags {
		perRule[f.Rule]++
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
	res, _ := runDemo(t, a) // the preview left no cooldown or ledger entry behind
	if !maps.Equal(perRule, res.Report.Flags) {
		t.Fatalf("preview flags %v, the pass flagged %v", perRule, res.Report.Flags)
	}
	sent := map[string]bool{}
	for _, msgs := range res.Written {
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
