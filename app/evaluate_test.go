package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/waitfor"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/workers"
)

func TestNextPass(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		schedule string
		loc      *time.Location
		after    string
		want     string
	}{
		{"weekday morning, before 07:00", "0 7 * * 1-5", paris, "2026-12-07T05:59:00Z", "2026-12-07T07:00:00+01:00"},
		{"Friday after 07:00: Monday", "0 7 * * 1-5", paris, "2026-12-04T09:00:00Z", "2026-12-07T07:00:00+01:00"},
		{"exactly at a tick: the next one", "0 7 * * 1-5", paris, "2026-12-07T06:00:00Z", "2026-12-08T07:00:00+01:00"},
		{"summer time", "0 7 * * 1-5", paris, "2026-06-01T04:00:00Z", "2026-06-01T07:00:00+02:00"},
		{"no location: UTC", "30 6 * * *", nil, "2026-12-07T07:00:00Z", "2026-12-08T06:30:00Z"},
		{"@every aligned to the epoch", "@every 15m", time.UTC, "2026-12-07T07:01:00Z", "2026-12-07T07:15:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after, _ := time.Parse(time.RFC3339, tt.after)
			got, err := NextPass(tt.schedule, tt.loc, after)
			if err != nil {
				t.Fatal(err)
			}
			if got.Format(time.RFC3339) != tt.want {
				t.Fatalf("NextPass(%q, %s) = %s, want %s", tt.schedule, tt.after, got.Format(time.RFC3339), tt.want)
			}
		})
	}
	if _, err := NextPass("every day", time.UTC, time.Now()); err == nil || !strings.Contains(err.Error(), `evaluate.schedule "every day"`) {
		t.Fatalf("bad schedule: err = %v, want one naming evaluate.schedule", err)
	}
}

// TestRunLogsPlan: at start, run says when the next pass is due and that
// it only writes to the outbox.
func TestRunLogsPlan(t *testing.T) {
	cfg := demoConfig(t, "")
	var logs bytes.Buffer
	a := newApp(t, cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	a.logPlan(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)) // a Friday
	for _, want := range []string{
		`msg="next evaluation pass" at=2026-12-07T07:00:00+01:00 evaluate.schedule="0 7 * * 1-5"`,
		`msg="outbox mode: messages are written to files, nothing is sent" dir=` + a.Outbox.Dir(),
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("start-up logs lack %s:\n%s", want, logs.String())
		}
	}
}

func TestManualPassNeverATick(t *testing.T) {
	at := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
	if got, tick := ManualPass(at), workers.TickID("evaluate", at); got == tick || !strings.HasPrefix(got, "manual@") {
		t.Fatalf("ManualPass = %q, the scheduler's tick %q: they must differ", got, tick)
	}
	if ManualPass(at) == ManualPass(at.Add(time.Millisecond)) {
		t.Fatal("two manual passes a millisecond apart share a name")
	}
}

// TestPrintReport prints a pass with every kind of outcome.
func TestPrintReport(t *testing.T) {
	quiet := time.Date(2026, 12, 8, 7, 30, 0, 0, time.UTC)
	res := &PassResult{
		Report: &workers.Report{
			Pass: "manual@1", Now: time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC), Accounts: 10, Duration: 1500 * time.Millisecond,
			Flags:    map[string]int{"quiet": 4, "upsell": 1},
			Messages: map[string]map[notify.Channel]int{"quiet": {notify.Email: 3, notify.Slack: 2}, workers.DigestRule: {notify.Slack: 1}},
			Deferred: map[notify.Channel]int{notify.Email: 230},
			Skipped:  map[string]map[string]int{"quiet": {"deferred": 230, "opted_out": 1, "cooldown": 2}},
		},
		Delivery: &Delivery{Writes: false, Quiet: map[time.Time]int{quiet: 1}},
		PerRep:   map[string]int{"ann@x.io": 2, "bob@x.io": 1},
	}
	d := res.Delivery
	d.add("quiet", notify.Email, OutcomeDelivered, 1)
	d.add("quiet", notify.Email, OutcomeQuiet, 1)
	d.add("quiet", notify.Email, OutcomeFailed, 1)
	d.add("quiet", notify.Slack, OutcomeDelivered, 2)
	d.add(workers.DigestRule, notify.Slack, OutcomeUnknown, 1)
	var out bytes.Buffer
	if err := PrintReport(&out, res, ReportOptions{Rules: []string{"quiet", "upsell", "never"}, Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"Pass manual@1 as of Mon 2026-12-07 22:00 UTC: 10 accounts evaluated in 1.5s",
		"emails sent", "Slack sent",
		"quiet   4        1            2           230       2 cooldown, 1 opted out",
		"never   0",
		"digest  -",
		"total   5        1            2           230",
		"deferred 230 emails to later passes (limits.per_pass)",
		"1 email scheduled for Tue 2026-12-08 07:30 UTC (quiet hours)",
		"1 email failed",
		"1 Slack message of unknown outcome",
		"Slack messages per rep: max 2, average 1.5 over 2 reps",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "upsell") > strings.Index(got, "never") || strings.Index(got, "never") > strings.Index(got, "digest") {
		t.Errorf("rules out of order (configured, then digests):\n%s", got)
	}
}

// TestRunEvaluateNow: run --evaluate-now runs one pass at start, once the
// start-up sync let it, although the schedule's next tick is far.
func TestRunEvaluateNow(t *testing.T) {
	cfg := demoOnRedis(t, "evaluate: {schedule: \"0 7 1 1 *\"}\nhttp: {listen: \"127.0.0.1:0\"}\n")
	a := newApp(t, cfg, Options{TaskCheckInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.RunWith(ctx, RunOptions{EvaluateNow: true}) }()
	waitfor.Until(t, time.Minute, "the start-up pass's report", func() (bool, string) {
		pass, _, err := a.Store.Passes.LatestReport(ctx)
		return err == nil && strings.HasPrefix(pass, "evaluate-start@"), fmt.Sprintf("latest pass %q (%v)", pass, err)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v on shutdown", err)
	}
}
