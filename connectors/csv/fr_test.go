package csv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/golden"
	"github.com/crmsync/crmsync/model"
)

// frExport is the fixture of a French CRM export: ';'-delimited
// Windows-1252 files with CRLF line endings, DD/MM/YYYY dates and amounts
// such as 1.234,56 and 12 345,00 (a no-break space between thousands).
const frExport = "testdata/fr-export"

// format parses a Format or fails the test.
func format(t *testing.T, delimiter, encoding, dateFormat, decimal string) Format {
	t.Helper()
	f, err := ParseFormat(delimiter, encoding, dateFormat, decimal)
	if err != nil {
		t.Fatalf("ParseFormat: %v", err)
	}
	return f
}

// pullWith pulls fsys from scratch with format f and returns every record
// and reject.
func pullWith(t *testing.T, fsys map[string]string, f Format) (connectors.Page, error) {
	t.Helper()
	c := New("s", files(fsys), nil)
	c.Format = f
	pages, err := pull(t, c, nil)
	return merge(pages), err
}

// TestPullFrenchExport reads the French export and compares its records
// and rejects with testdata/fr-export.json.golden (go test -update
// rewrites it). Every way of writing the same settings reads the same.
func TestPullFrenchExport(t *testing.T) {
	settings := [][4]string{
		{";", "windows-1252", "DD/MM/YYYY", ","},
		{"auto", "cp1252", "DD/MM/YYYY", ","},
		{"", "latin1", "DD/MM/YYYY", ","},
	}
	var first connectors.Page
	for i, s := range settings {
		c := New("fr", os.DirFS(frExport), nil)
		c.Format = format(t, s[0], s[1], s[2], s[3])
		pages, err := pull(t, c, nil)
		if err != nil {
			t.Fatalf("Pull with %q: %v", s, err)
		}
		all := merge(pages)
		if i == 0 {
			first = all
			golden.Assert(t, "fr-export.json", exportJSON(t, all))
			continue
		}
		if !reflect.DeepEqual(all.Batch, first.Batch) || !reflect.DeepEqual(all.Rejects, first.Rejects) {
			t.Errorf("settings %q read differently from %q", s, settings[0])
		}
	}
	if n := len(first.Owners) + len(first.Accounts) + len(first.Contacts) + len(first.Deals); n != 14 || len(first.Rejects) != 3 {
		t.Errorf("got %d records and %d rejects, want 14 and 3", n, len(first.Rejects))
	}
}

// exportJSON renders the records and rejects of a pull for a golden file.
func exportJSON(t *testing.T, p connectors.Page) string {
	t.Helper()
	out := struct {
		Owners   []model.Owner   `json:"owners"`
		Accounts []model.Account `json:"accounts"`
		Contacts []model.Contact `json:"contacts"`
		Deals    []model.Deal    `json:"deals"`
		Rejects  []model.Reject  `json:"rejects"`
	}{p.Owners, p.Accounts, p.Contacts, p.Deals, p.Rejects}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestPullFrenchExportWithWrongSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings [4]string
		wantErr  string
	}{
		{"comma delimiter", [4]string{",", "windows-1252", "DD/MM/YYYY", ","},
			`owners.csv:1: missing required column "id" (read the header with delimiter ","; it has 1 column "id;name;email"; set delimiter: ";"?)`},
		{"tab delimiter", [4]string{"tab", "windows-1252", "", ","},
			`owners.csv:1: missing required column "id" (read the header with delimiter "\t"; it has 1 column "id;name;email"; set delimiter: ";"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New("fr", os.DirFS(frExport), nil)
			c.Format = format(t, tt.settings[0], tt.settings[1], tt.settings[2], tt.settings[3])
			_, err := pull(t, c, nil)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Pull error = %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}

// TestPullFrenchExportAsUTF8 reads the export without its settings: the
// delimiter is detected, but the dates and amounts are rejects that say
// what they want, and the log says the files are not UTF-8.
func TestPullFrenchExportAsUTF8(t *testing.T) {
	var logs bytes.Buffer
	c := New("fr", os.DirFS(frExport), slog.New(slog.NewTextHandler(&logs, nil)))
	pages, err := pull(t, c, nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	all := merge(pages)
	reasons := map[string]string{}
	for _, r := range all.Rejects {
		reasons[r.Where] = r.Reason
	}
	for where, want := range map[string]string{
		"accounts.csv:2": `created_at: invalid date "31/12/2024" (want YYYY-MM-DD or RFC 3339)`,
		"deals.csv:2":    `amount: invalid number "1.234,56" (want digits with an optional '.' decimal separator)`,
	} {
		if reasons[where] != want {
			t.Errorf("reject at %s = %q, want %q", where, reasons[where], want)
		}
	}
	if n := strings.Count(logs.String(), "not valid UTF-8"); n != 4 {
		t.Errorf("%d warnings about UTF-8, want one per file:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "file=deals.csv line=2") || !strings.Contains(logs.String(), "set encoding: windows-1252") {
		t.Errorf("the warning does not name the first bad line and the setting:\n%s", logs.String())
	}
	logs.Reset()
	if _, err := pull(t, c, nil); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Errorf("an unchanged file warned again:\n%s", logs.String())
	}
}

func TestPullDelimiters(t *testing.T) {
	tests := []struct {
		name      string
		delimiter string
		accounts  string
	}{
		{"semicolon", ";", "id;name;created_at\nA1;\"Société; Générale\";2026-01-01\n"},
		{"tab", "tab", "id\tname\tcreated_at\nA1\tSociété; Générale\t2026-01-01\n"},
		{"tab escape", `\t`, "id\tname\tcreated_at\nA1\tSociété; Générale\t2026-01-01\n"},
		{"pipe", "|", "id|name|created_at\nA1|Société; Générale|2026-01-01\n"},
		{"comma", ",", "id,name,created_at\nA1,Société; Générale,2026-01-01\n"},
		{"auto semicolon", "auto", "id;name;created_at\nA1;\"Société; Générale\";2026-01-01\n"},
		{"auto tab", "", "id\tname\tcreated_at\nA1\tSociété; Générale\t2026-01-01\n"},
		{"auto pipe", "", "id|name|created_at\nA1|Société; Générale|2026-01-01\n"},
		{"auto comma", "", "id,name,created_at\nA1,Société; Générale,2026-01-01\n"},
		{"auto after a bom and blank lines", "", "\uFEFF\r\n\r\nid;name;created_at\r\nA1;\"Société; Générale\";2026-01-01\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := pullWith(t, map[string]string{"accounts.csv": tt.accounts}, format(t, tt.delimiter, "", "", ""))
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if len(all.Accounts) != 1 || all.Accounts[0].Name != "Société; Générale" || len(all.Rejects) != 0 {
				t.Errorf("got %+v, rejects %+v", all.Accounts, all.Rejects)
			}
		})
	}
}

func TestPullHeaderErrors(t *testing.T) {
	tests := []struct {
		name      string
		delimiter string
		accounts  string
		wantErr   string
	}{
		{"semicolon file read with comma", ",", "id;name;owner_id\nA1;a;U1\n",
			`accounts.csv:1: missing required column "id" (read the header with delimiter ","; it has 1 column "id;name;owner_id"; set delimiter: ";"?)`},
		{"pipe file read with semicolon", ";", "id|name|created_at\n",
			`accounts.csv:1: missing required column "id" (read the header with delimiter ";"; it has 1 column "id|name|created_at"; set delimiter: "|"?)`},
		{"comma file read with tab", "tab", "id,name,created_at\n",
			`accounts.csv:1: missing required column "id" (read the header with delimiter "\t"; it has 1 column "id,name,created_at"; set delimiter: ","?)`},
		{"one column, no delimiter", "", "identifier\n",
			`accounts.csv:1: missing required column "id" (read the header with delimiter "," (detected); it has 1 column "identifier")`},
		{"detected, column missing", "", "id;nom;created_at\n",
			`accounts.csv:1: missing required column "name" (read the header with delimiter ";" (detected); it has 3 columns: "id", "nom", "created_at")`},
		{"many columns", "", "id;c1;c2;c3;c4;c5;c6;c7;c8;c9\n",
			`accounts.csv:1: missing required column "name" (read the header with delimiter ";" (detected); it has 10 columns: "id", "c1", "c2", "c3", "c4", "c5", "c6", "c7" and 2 more)`},
		{"long column", ",", "id;" + strings.Repeat("é", 40) + "\n",
			`accounts.csv:1: missing required column "id" (read the header with delimiter ","; it has 1 column "id;` + strings.Repeat("é", 28) + `…"; set delimiter: ";"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pullWith(t, map[string]string{"accounts.csv": tt.accounts}, format(t, tt.delimiter, "", "", ""))
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Pull error = %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}

func TestPullEncodings(t *testing.T) {
	const want = "Société Générale – Œuvres €"
	tests := []struct {
		name, encoding, accounts string
	}{
		{"utf-8", "utf-8", "id,name,created_at\nA1," + want + ",2026-01-01\n"},
		{"utf-8 with bom", "", "\xEF\xBB\xBFid,name,created_at\nA1," + want + ",2026-01-01\n"},
		{"windows-1252", "windows-1252", "id,name,created_at\nA1,Soci\xe9t\xe9 G\xe9n\xe9rale \x96 \x8cuvres \x80,2026-01-01\n"},
		{"utf-8 with bom, windows-1252 set", "windows-1252", "\xEF\xBB\xBFid,name,created_at\nA1," + want + ",2026-01-01\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := pullWith(t, map[string]string{"accounts.csv": tt.accounts}, format(t, "", tt.encoding, "", ""))
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if len(all.Accounts) != 1 || all.Accounts[0].Name != want {
				t.Errorf("got %+v, rejects %+v; want the name %q", all.Accounts, all.Rejects, want)
			}
		})
	}
}

func TestPullDateFormat(t *testing.T) {
	accounts := "id,name,created_at,last_activity_at\n" +
		"A1,a,31/12/2024,2026-01-02\n" +
		"A2,b,2024-12-31,2026-01-02T10:00:00+01:00\n" +
		"A3,c,12/31/2024,\n" +
		"A4,d,31.12.2024,\n"
	all, err := pullWith(t, map[string]string{"accounts.csv": accounts}, format(t, "", "", "DD/MM/YYYY", ""))
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if len(all.Accounts) != 2 || !all.Accounts[0].CreatedAt.Equal(day("2024-12-31T00:00:00Z")) ||
		!all.Accounts[1].CreatedAt.Equal(day("2024-12-31T00:00:00Z")) || !all.Accounts[1].LastActivityAt.Equal(day("2026-01-02T09:00:00Z")) {
		t.Errorf("accounts %+v", all.Accounts)
	}
	want := []model.Reject{
		{Source: "s", Entity: "account", Where: "accounts.csv:4", Reason: `created_at: invalid date "12/31/2024" (want DD/MM/YYYY, YYYY-MM-DD or RFC 3339)`, Raw: "A3,c,12/31/2024,"},
		{Source: "s", Entity: "account", Where: "accounts.csv:5", Reason: `created_at: invalid date "31.12.2024" (want DD/MM/YYYY, YYYY-MM-DD or RFC 3339)`, Raw: "A4,d,31.12.2024,"},
	}
	if !reflect.DeepEqual(all.Rejects, want) {
		t.Errorf("rejects\n got %+v\nwant %+v", all.Rejects, want)
	}
}

func TestPullDecimalComma(t *testing.T) {
	deals := "id;account_id;amount;won\n" +
		"D1;A1;1.234,56;no\n" +
		"D2;A1;1 234,56;no\n" +
		"D3;A1;1\u00a0234,56;no\n" +
		"D4;A1;1\u202f234,56;no\n" +
		"D5;A1;1234,56;no\n" +
		"D6;A1;1234;no\n" +
		"D7;A1;1234.56;no\n" +
		"D8;A1;1.23,4;no\n" +
		"D9;A1;-5,00;no\n" +
		"D10;A1;12,5 €;no\n"
	all, err := pullWith(t, map[string]string{"accounts.csv": "id;name;created_at\nA1;a;2026-01-01\n", "deals.csv": deals},
		format(t, ";", "", "", ","))
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	var got []float64
	for _, d := range all.Deals {
		got = append(got, d.Amount)
	}
	if want := []float64{1234.56, 1234.56, 1234.56, 1234.56, 1234.56, 1234}; !reflect.DeepEqual(got, want) {
		t.Errorf("amounts %v, want %v", got, want)
	}
	const help = ` (decimal separator ","; want e.g. 1234,56, 1.234,56 or 1 234,56)`
	want := map[string]string{
		"deals.csv:8":  `amount: invalid number "1234.56": thousands must be grouped by 3 digits` + help,
		"deals.csv:9":  `amount: invalid number "1.23,4": thousands must be grouped by 3 digits` + help,
		"deals.csv:10": `amount: negative amount "-5,00"`,
		"deals.csv:11": `amount: invalid number "12,5 €": a thousands separator after the decimal ","` + help,
	}
	if len(all.Rejects) != len(want) {
		t.Errorf("got %d rejects, want %d: %+v", len(all.Rejects), len(want), all.Rejects)
	}
	for _, r := range all.Rejects {
		if r.Reason != want[r.Where] {
			t.Errorf("reject at %s = %q, want %q", r.Where, r.Reason, want[r.Where])
		}
		if !strings.Contains(r.Raw, ";A1;") {
			t.Errorf("reject raw %q is not joined with the file's delimiter", r.Raw)
		}
	}
}

// TestPullDefaultFormatKeepsWatermarks checks that the default Format
// keeps the watermark of earlier versions (the SHA-256 of the file), and
// that other settings read an unchanged file again.
func TestPullDefaultFormatKeepsWatermarks(t *testing.T) {
	accounts := "id,name,created_at\nA1,a,2026-01-01\n"
	sum := sha256.Sum256([]byte(accounts))
	fsys := files(map[string]string{"accounts.csv": accounts})
	c := New("s", fsys, nil)
	pages, err := pull(t, c, nil)
	if err != nil || len(pages) != 1 {
		t.Fatalf("Pull = %d pages, %v", len(pages), err)
	}
	wm := pages[0].Watermark
	if want := hex.EncodeToString(sum[:]) + ":1"; wm["accounts.csv"] != want {
		t.Errorf("watermark %q, want %q", wm["accounts.csv"], want)
	}
	if pages, _ := pull(t, c, wm); len(pages) != 0 {
		t.Errorf("unchanged file read again: %d pages", len(pages))
	}
	c.Format = format(t, ",", "", "DD/MM/YYYY", "")
	if pages, _ := pull(t, c, wm); len(pages) != 1 {
		t.Errorf("unchanged file read with new settings: %d pages, want 1", len(pages))
	}
}

func TestPullBooleansInFrench(t *testing.T) {
	contacts := "id,account_id,opt_out,primary\nC1,A1,Oui,NON\nC2,A1,vrai,Faux\nC3,A1,si,\n"
	all, err := pullWith(t, map[string]string{"accounts.csv": "id,name,created_at\nA1,a,2026-01-01\n", "contacts.csv": contacts}, Format{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Contacts) != 2 || !all.Contacts[0].OptOut || all.Contacts[0].Primary || !all.Contacts[1].OptOut || all.Contacts[1].Primary {
		t.Errorf("contacts %+v", all.Contacts)
	}
	if len(all.Rejects) != 1 || all.Rejects[0].Reason != `opt_out: invalid boolean "si" (want true/false, yes/no, oui/non or 1/0)` {
		t.Errorf("rejects %+v", all.Rejects)
	}
}

func TestPullRefusesAnInvalidFormat(t *testing.T) {
	for _, f := range []Format{{Delimiter: ':'}, {Delimiter: '"'}, {Encoding: 7}, {Decimal: ';'}} {
		if _, err := pullWith(t, map[string]string{"accounts.csv": "id,name,created_at\n"}, f); err == nil {
			t.Errorf("Pull with %+v succeeded; want an error", f)
		}
	}
}

// TestPullExcelSepLine reads files that start with Excel's "sep=;" line:
// it names the delimiter unless the Format has one, and the header is the
// next line.
func TestPullExcelSepLine(t *testing.T) {
	accounts := "sep=;\r\nid;name;created_at\r\nA1;\"a, b\";31/12/2024\r\nA2;b;31/13/2024\r\n"
	all, err := pullWith(t, map[string]string{"accounts.csv": accounts}, format(t, "", "", "DD/MM/YYYY", ""))
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if len(all.Accounts) != 1 || all.Accounts[0].Name != "a, b" {
		t.Errorf("accounts %+v", all.Accounts)
	}
	if len(all.Rejects) != 1 || all.Rejects[0].Where != "accounts.csv:4" {
		t.Errorf("rejects %+v, want one at accounts.csv:4", all.Rejects)
	}

	tests := []struct {
		name, delimiter, accounts, wantErr string
	}{
		{"missing column", "", "sep=;\nid;nom;created_at\n",
			`accounts.csv:2: missing required column "name" (read the header with delimiter ";" (from the sep= line); it has 3 columns: "id", "nom", "created_at")`},
		{"the format wins", ",", "sep=;\nid;name;created_at\n",
			`accounts.csv:2: missing required column "id" (read the header with delimiter ","; it has 1 column "id;name;created_at"; set delimiter: ";"?)`},
		{"only the sep line", "", "sep=|\n", "accounts.csv:1: missing header row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pullWith(t, map[string]string{"accounts.csv": tt.accounts}, format(t, tt.delimiter, "", "", ""))
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Pull error = %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}
