package csv

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

func TestPullFileErrors(t *testing.T) {
	const okAccounts = "id,name,created_at\nA1,a,2026-01-01\n"
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"missing required column", map[string]string{"accounts.csv": "id,created_at\nA1,2026-01-01\n"},
			`accounts.csv:1: missing required column "name" (read the header with delimiter "," (detected); it has 2 columns: "id", "created_at")`},
		{"missing column in deals", map[string]string{"accounts.csv": okAccounts, "deals.csv": "id,account_id,won\n"},
			`deals.csv:1: missing required column "amount" (read the header with delimiter "," (detected); it has 3 columns: "id", "account_id", "won")`},
		{"missing column in owners", map[string]string{"accounts.csv": okAccounts, "owners.csv": "ID, Name\n"},
			`owners.csv:1: missing required column "email" (read the header with delimiter "," (detected); it has 2 columns: "ID", " Name")`},
		{"duplicate column", map[string]string{"accounts.csv": "id,name,Name,created_at\n"},
			`accounts.csv:1: duplicate column "name"`},
		{"empty file", map[string]string{"accounts.csv": okAccounts, "contacts.csv": ""},
			"contacts.csv:1: missing header row"},
		{"missing accounts.csv", map[string]string{"owners.csv": "id,name,email\n"},
			"read accounts.csv: open accounts.csv: file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pull(t, New("s", files(tt.files), nil), nil)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Pull error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestPullOptionalFilesAbsent(t *testing.T) {
	var logs bytes.Buffer
	c := New("s", files(map[string]string{"accounts.csv": "id,name,created_at\nA1,a,2026-01-01\n"}),
		slog.New(slog.NewTextHandler(&logs, nil)))
	for range 2 {
		if _, err := pull(t, c, nil); err != nil {
			t.Fatalf("Pull: %v", err)
		}
	}
	for _, f := range []string{"owners.csv", "contacts.csv", "deals.csv"} {
		if n := strings.Count(logs.String(), "file="+f); n != 1 {
			t.Errorf("%s reported absent %d times, want once:\n%s", f, n, logs.String())
		}
	}
}

func TestPullLineNumbersAfterMultilineField(t *testing.T) {
	fsys := files(map[string]string{
		"accounts.csv": "id,name,created_at\r\n" +
			"A1,\"Smith & Sons\r\nsecond line\r\nthird\",2026-01-01\r\n" +
			"\r\n" +
			"A2,b,yesterday\r\n" +
			"A3,\"x\ny\",bad\n",
	})
	pages, err := pull(t, New("s", fsys, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	all := merge(pages)
	var where []string
	for _, r := range all.Rejects {
		where = append(where, r.Where)
	}
	if want := []string{"accounts.csv:6", "accounts.csv:7"}; !reflect.DeepEqual(where, want) {
		t.Errorf("rejects at %v, want %v", where, want)
	}
	if len(all.Accounts) != 1 || all.Accounts[0].Name != "Smith & Sons\nsecond line\nthird" {
		t.Errorf("accounts = %+v, want A1 with its three-line name", all.Accounts)
	}
}

func TestPullContextCancelled(t *testing.T) {
	fsys := files(map[string]string{"accounts.csv": "id,name,created_at\nA1,a,2026-01-01\nA2,b,2026-01-01\nA3,c,2026-01-01\n"})
	c := New("s", fsys, nil)
	c.PageSize = 1
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := c.Pull(ctx, nil, func(context.Context, connectors.Page) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("Pull = %v after %d pages, want context.Canceled after 1", err, calls)
	}
	err = c.Pull(ctx, nil, func(context.Context, connectors.Page) error {
		t.Error("page delivered on a cancelled context")
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Pull on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestPullHostileContentVerbatim(t *testing.T) {
	names := []string{"<!channel> Corp", "<script>alert(1)</script> GmbH", `"Quoted" SA`, "*Bold* Ltd", "Smith & Sons <b>", "Müller & Söhne", "名古屋 株式会社"}
	var b strings.Builder
	b.WriteString("id,name,created_at\n")
	for i, n := range names {
		b.WriteString("A" + string(rune('a'+i)) + `,"` + strings.ReplaceAll(n, `"`, `""`) + "\",2026-01-01\n")
	}
	pages, err := pull(t, New("s", files(map[string]string{"accounts.csv": b.String()}), nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range merge(pages).Accounts {
		got = append(got, a.Name)
	}
	if !reflect.DeepEqual(got, names) {
		t.Errorf("names = %q, want %q", got, names)
	}
}

func TestResumeAt(t *testing.T) {
	const sha = "abc"
	tests := []struct {
		name string
		v    string
		want int
	}{
		{"no watermark", "", 0},
		{"same file", "abc:42", 42},
		{"changed file", "abd:42", 0},
		{"malformed count", "abc:x", 0},
		{"negative count", "abc:-1", 0},
		{"no separator", "abc", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resumeAt(tt.v, sha); got != tt.want {
				t.Errorf("resumeAt(%q) = %d, want %d", tt.v, got, tt.want)
			}
		})
	}
}

func TestPullRejectsDuplicateAcrossResume(t *testing.T) {
	fsys := files(map[string]string{
		"owners.csv":   "id,name,email\nU1,a,a@example.com\nU2,b,b@example.com\nU1,c,c@example.com\n",
		"accounts.csv": "id,name,created_at\n",
	})
	c := New("s", fsys, nil)
	c.PageSize = 2
	all, err := pull(t, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := pull(t, c, all[0].Watermark)
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Reject{{Source: "s", Entity: "owner", Where: "owners.csv:4",
		Reason: `id: duplicate id "U1" (first on line 2)`, Raw: "U1,c,c@example.com"}}
	if len(rest) != 1 || !reflect.DeepEqual(rest[0].Rejects, want) || len(rest[0].Owners) != 0 {
		t.Errorf("resumed pull = %+v, want only the duplicate rejected", rest)
	}
}
