package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/app"
)

// TestReportCommand runs the demo's pass on the real Redis, then the
// monthly review of October 2026 in each format.
func TestReportCommand(t *testing.T) {
	path, cfg := demoOnRedis(t)
	runDemoPass(t, cfg)

	code, stdout, stderr := runCLI(t, "report", "-c", path, "--month", "2026-10")
	if code != exitOK {
		t.Fatalf("table: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Monthly review 2026-10: figures at 2026-11-01 00:00 CET", "revenue at risk", "RFM grid",
		"Evolution", "2026-09", "Class migration", "At risk now, by owner", "Outcomes per rule"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}

	m := reportJSON(t, path, "--month", "2026-10")
	abc := 0
	for _, c := range m.Portfolio.ABC {
		abc += c.Accounts
	}
	atRisk, atRiskRevenue := 0, 0.0
	for _, g := range m.AtRisk {
		atRisk += len(g.Accounts)
		atRiskRevenue += g.Revenue
	}
	if m.Month != "2026-10" || m.Portfolio.Accounts == 0 || abc != m.Portfolio.Accounts || len(m.Evolution) != 2 ||
		atRisk == 0 || atRisk != m.Portfolio.AtRisk || math.Abs(atRiskRevenue-m.Portfolio.RevenueAtRisk) > 0.01 {
		t.Errorf("json: month %s, %d accounts (%d by class), %d months, %d at risk (figures: %d)",
			m.Month, m.Portfolio.Accounts, abc, len(m.Evolution), atRisk, m.Portfolio.AtRisk)
	}

	owner := m.AtRisk[0].Email
	mine := reportJSON(t, path, "--month", "2026-10", "--owner", owner)
	if len(mine.AtRisk) != 1 || mine.AtRisk[0].Email != owner || mine.Portfolio.Accounts >= m.Portfolio.Accounts {
		t.Errorf("--owner %s: %d accounts of %d, at risk %+v", owner, mine.Portfolio.Accounts, m.Portfolio.Accounts, mine.AtRisk)
	}

	code, stdout, stderr = runCLI(t, "report", "-c", path, "--month", "2026-10", "--format", "csv")
	if code != exitOK {
		t.Fatalf("csv: exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{{"section", "item", "measure", "value"}, {"portfolio", "", "accounts", strconv.Itoa(m.Portfolio.Accounts)},
		{"evolution", "2026-10", "buyers", strconv.Itoa(m.Evolution[1].Buyers)}, {"migration", "2026-10", "A_to_B", strconv.Itoa(m.Evolution[1].Migration[0][1])}} {
		if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, want) }) {
			t.Errorf("csv lacks row %q", want)
		}
	}

	for _, args := range [][]string{{"--month", "2026-13"}, {"--format", "xml"}, {"--month", "2999-01"}} {
		if code, _, stderr := runCLI(t, append([]string{"report", "-c", path}, args...)...); code != exitUsage {
			t.Errorf("report %v: exit %d, want 2: %s", args, code, stderr)
		}
	}
}

// reportJSON runs crmsync report --format json with args.
func reportJSON(t *testing.T, path string, args ...string) app.Monthly {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"report", "-c", path, "--format", "json"}, args...)...)
	if code != exitOK {
		t.Fatalf("json: exit %d: %s", code, stderr)
	}
	var m app.Monthly
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("json: %v\n%s", err, stdout)
	}
	return m
}
