package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/hubspotfake"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/salesforcefake"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

const hubspotToken = "pat-na1-SECRET-0000-token"

// crmConfig writes a config syncing a HubSpot and a Salesforce fake into
// a real Redis.
func crmConfig(t *testing.T, hs *hubspotfake.Server, sf *salesforcefake.Server) (path string, st *store.Store) {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "salesforce.key")
	if err := os.WriteFile(key, salesforcefake.PrivateKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := filepath.Abs(filepath.Join("..", "..", "examples", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	redisURL, ns := redistest.URL(t), redistest.Namespace(t)
	cfg := fmt.Sprintf(`redis: {url: %q, namespace: %s}
sources:
  - name: hs
    type: hubspot
    base_url: %s
    auth: {token: %s}
  - name: sf
    type: salesforce
    login_url: %s
    auth: {client_id: %s, username: %s, private_key_file: %s}
notify: {outbox: outbox}
rule_files: [%q]
`, redisURL, ns, hs.URL(), hubspotToken, sf.URL(), salesforcefake.DefaultClientID, salesforcefake.DefaultUsername, key, rules)
	path = filepath.Join(dir, "crmsync.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(t.Context(), redisURL, ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return path, st
}

func countAccounts(t *testing.T, st *store.Store) int64 {
	t.Helper()
	n, err := st.Records.CountAccounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSyncCRMs runs `crmsync sync` against both vendor fakes: a first
// full sync, an incremental one that sees deletions, and a HubSpot sync
// stopped by the daily allocation that says so and exits 1.
func TestSyncCRMs(t *testing.T) {
	hs := hubspotfake.New(hubspotfake.Options{PrivateToken: hubspotToken})
	defer hs.Close()
	hs.Seed(20, 2, 1)
	sf := salesforcefake.New(salesforcefake.Options{})
	defer sf.Close()
	sf.Seed(15, 2, 1)
	cfg, st := crmConfig(t, hs, sf)

	code, stdout, stderr := runCLI(t, "sync", "-c", cfg, "--log-level", "error")
	if code != exitOK {
		t.Fatalf("first sync: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"hs: ", "sf: ", "requests"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("first sync output lacks %q:\n%s", want, stdout)
		}
	}
	if n := countAccounts(t, st); n != 35 {
		t.Fatalf("%d accounts after the first sync, want 35", n)
	}

	companies := hs.IDs(hubspotfake.Companies)
	hs.Merge(hubspotfake.Companies, companies[1], companies[0])
	if !sf.Delete("Account", sf.IDs("Account")[0]) {
		t.Fatal("fake refused the delete")
	}
	// HubSpot reports a merged-away company to an incremental sync (its
	// archived lists are read hourly; the connector's tests cover them).
	// Salesforce's delete log is only read two minutes after the last
	// check (the connector's tests cover it); a full sync's sweep removes
	// the deleted account at once.
	code, stdout, stderr = runCLI(t, "sync", "-c", cfg, "--source", "hs", "--log-level", "error")
	if code != exitOK || !strings.Contains(stdout, "1 deleted") {
		t.Fatalf("incremental sync: exit %d, want 0 and 1 deleted\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "sync", "-c", cfg, "--source", "sf", "--full", "--log-level", "error")
	if code != exitOK || !strings.Contains(stdout, "1 deleted") {
		t.Fatalf("full sync: exit %d, want 0 and 1 deleted (swept)\n%s\n%s", code, stdout, stderr)
	}
	if n := countAccounts(t, st); n != 33 {
		t.Fatalf("%d accounts after deletions, want 33\n%s", n, stdout)
	}

	hs.SetDailyUsed(250_000 - 10)
	code, stdout, stderr = runCLI(t, "sync", "-c", cfg, "--source", "hs", "--log-level", "error")
	if code != exitFailure || !strings.Contains(stderr, "resumes where this one stopped") {
		t.Fatalf("sync on a spent allocation: exit %d, want %d with a resume note\n%s\n%s", code, exitFailure, stdout, stderr)
	}
	pem := string(salesforcefake.PrivateKeyPEM())
	keyLine := strings.Split(strings.TrimSpace(pem), "\n")[1]
	for _, secret := range []string{hubspotToken, keyLine} {
		if strings.Contains(stdout+stderr, secret) {
			t.Fatalf("output shows a secret:\n%s\n%s", stdout, stderr)
		}
	}
}

func TestProgressLine(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	st := workers.SyncStats{
		Pages: 12, Accounts: 1000, Contacts: 150, Rejects: 2, Deleted: 3, Requests: 14,
		Waits: 2, Waited: 9500 * time.Millisecond, Expected: 4600, Started: t0,
		WaitingFor: "rate limit 100/10s", WaitUntil: t0.Add(11 * time.Second),
	}
	got := progressLine("hubspot", st, t0.Add(10*time.Second))
	want := "hubspot: 1150 of ~4600 records, 12 pages, 2 set aside, 3 deleted, 14 requests, waited 9.5s in 2 waits, ETA 30s (waiting 1s: rate limit 100/10s)"
	if got != want {
		t.Errorf("progressLine =\n%s\nwant\n%s", got, want)
	}
}
