package browser

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/slackoidcfake"
)

// hostile is a CRM value that must render as text on every page.
const hostile = `<script>alert(1)</script>`

const (
	clientID   = "25259531569.1115258246291"
	secret     = "e1b9e11dfcd19c1982d5de12921e17e8c"
	adminEmail = "boss@example.com"
)

// person is someone of the sample who signs in.
type person struct {
	ID, Name, Email string
}

// site is the app as `crmsync run` serves it, after one demo pass over
// the sample, behind Sign in with Slack (fake).
type site struct {
	URL   string
	slack *slackoidcfake.Server
	app   *app.App
	// rep and other are two reps of the sample; hostileOwner had their
	// name replaced by hostile in owners.csv.
	rep, other, hostileOwner person
	// repAccount and otherAccount are accounts of rep and other;
	// hostileAccount is rep's account named hostile in accounts.csv.
	repAccount, otherAccount, hostileAccount string
}

// startSite writes the demo into a temporary folder, renames one owner
// and one account to hostile, adds the real Redis and the web section,
// starts the app, runs one demo pass at the sample's date and serves the
// app's HTTP handler.
func startSite(t *testing.T) *site {
	t.Helper()
	dir := t.TempDir()
	path, err := app.PrepareDemo(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{
		rep:          person{ID: "U002", Name: "Ivan Kim", Email: "ivan.kim@example.com"},
		other:        person{ID: "U003", Name: "Vera Weber", Email: "vera.weber@example.com"},
		hostileOwner: person{ID: "U004"},
	}
	editCSV(t, filepath.Join(dir, "sample", "owners.csv"), func(row []string) {
		if row[0] == s.hostileOwner.ID {
			s.hostileOwner.Email, row[1] = row[2], hostile
		}
	})
	editCSV(t, filepath.Join(dir, "sample", "accounts.csv"), func(row []string) {
		switch {
		case row[2] == s.rep.ID && s.hostileAccount == "" && row[3] == "customer":
			s.hostileAccount, row[1] = row[0], hostile
		case row[2] == s.rep.ID && s.repAccount == "":
			s.repAccount = row[0]
		case row[2] == s.other.ID && s.otherAccount == "":
			s.otherAccount = row[0]
		}
	})
	if s.hostileOwner.Email == "" || s.hostileAccount == "" || s.repAccount == "" || s.otherAccount == "" {
		t.Fatalf("the sample lacks the owners or accounts the tests need: %+v", s)
	}

	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	s.URL = "http://" + srv.Listener.Addr().String()
	s.slack = slackoidcfake.New(t, clientID, secret)
	web := fmt.Sprintf(`web:
  public_url: %q
  session_key: "0123456789abcdef0123456789abcdef"
  admins: [%s]
  signin:
    slack: {client_id: %q, client_secret: %q, issuer_url: %q}
`, s.URL, adminEmail, clientID, secret, s.slack.URL())
	appendFile(t, path, redistest.ConfigLine(t)+web)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(t.Context(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler), TaskCheckInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := a.Demo(ctx, app.DemoOptions{Now: examples.SampleAsOf, Passes: 1}, io.Discard); err != nil {
		t.Fatalf("demo: %v", err)
	}
	s.app = a
	srv.Config.Handler = a.HTTPHandler()
	srv.Start()
	return s
}

// editCSV rewrites the CSV file at path, each data row through edit.
func editCSV(t *testing.T, path string, edit func(row []string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, row := range rows[1:] {
		edit(row)
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(out)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// appendFile appends text to the file at path.
func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
