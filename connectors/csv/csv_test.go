package csv

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

var errStop = errors.New("stop")

// pull runs c.Pull from wm and returns the pages it delivered, with the
// rejects' At cleared so they compare.
func pull(t *testing.T, c *Connector, wm connectors.Watermark) ([]connectors.Page, error) {
	t.Helper()
	var pages []connectors.Page
	err := c.Pull(t.Context(), wm, func(_ context.Context, p connectors.Page) error {
		for i := range p.Rejects {
			if p.Rejects[i].At.IsZero() {
				t.Errorf("reject %s has no At", p.Rejects[i].Where)
			}
			p.Rejects[i].At = time.Time{}
		}
		pages = append(pages, p)
		return nil
	})
	return pages, err
}

// merge returns the records and rejects of pages together.
func merge(pages []connectors.Page) connectors.Page {
	var all connectors.Page
	for _, p := range pages {
		all.Accounts = append(all.Accounts, p.Accounts...)
		all.Contacts = append(all.Contacts, p.Contacts...)
		all.Deals = append(all.Deals, p.Deals...)
		all.Owners = append(all.Owners, p.Owners...)
		all.Rejects = append(all.Rejects, p.Rejects...)
	}
	return all
}

func files(m map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range m {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPullMapsEveryColumn(t *testing.T) {
	fsys := files(map[string]string{
		"owners.csv": "\uFEFFId,Name,Email\nU1,Eve <!channel>,eve@example.com\n",
		"accounts.csv": " URL ,ID,name,Owner_ID,lifecycle,domain,timezone,created_at,last_activity_at,primary_contact_id,Industry,Language\n" +
			"https://crm.example.com/a/1,A1,\"<script>alert(1)</script> \"\"Q\"\" GmbH\",U1,former,acme.example,Europe/Paris,2024-01-02,2026-03-04T10:00:00+02:00,C1,Retail,de_AT\n" +
			",A2,Müller & Söhne,,,,,2025-05-06T07:08:09Z,,,,\n",
		"contacts.csv": "id,account_id,first_name,last_name,email,phone,title,timezone,language,opt_out,primary,last_activity_at,ignored\n" +
			"C1,A1,Zoë,*Bold*,zoe@acme.example,+33 1 02,CEO,Asia/Tokyo, Français ,yes,1,2026-01-01,x\n" +
			"C2,A2,,,,,,,,,,,\n",
		"deals.csv": "won,closed_at,amount,currency,name,account_id,id\n" +
			"true,2026-02-03,1234.50,EUR,Renewal,A1,D1\n" +
			"no,,0,,,A2,D2\n",
	})
	pages, err := pull(t, New("src", fsys, nil), nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	want := connectors.Page{Batch: model.Batch{
		Owners: []model.Owner{{Ref: model.NewRef("src", "U1"), Name: "Eve <!channel>", Email: "eve@example.com"}},
		Accounts: []model.Account{{
			Ref: model.NewRef("src", "A1"), Name: `<script>alert(1)</script> "Q" GmbH`, Domain: "acme.example",
			OwnerID: "src:U1", PrimaryContactID: "src:C1", Lifecycle: model.Former, TimeZone: "Europe/Paris", Language: "de-AT",
			URL: "https://crm.example.com/a/1", CreatedAt: day("2024-01-02T00:00:00Z"),
			LastActivityAt: day("2026-03-04T08:00:00Z"), Extra: map[string]string{"industry": "Retail"},
		}, {
			Ref: model.NewRef("src", "A2"), Name: "Müller & Söhne", Lifecycle: model.Customer,
			CreatedAt: day("2025-05-06T07:08:09Z"), Extra: map[string]string{"industry": ""},
		}},
		Contacts: []model.Contact{{
			Ref: model.NewRef("src", "C1"), AccountID: "src:A1", FirstName: "Zoë", LastName: "*Bold*",
			Email: "zoe@acme.example", Phone: "+33 1 02", Title: "CEO", TimeZone: "Asia/Tokyo", Language: "fr",
			OptOut: true, Primary: true, LastActivityAt: day("2026-01-01T00:00:00Z"),
		}, {Ref: model.NewRef("src", "C2"), AccountID: "src:A2"}},
		Deals: []model.Deal{{
			Ref: model.NewRef("src", "D1"), AccountID: "src:A1", Name: "Renewal", Amount: 1234.5,
			Currency: "EUR", Won: true, ClosedAt: day("2026-02-03T00:00:00Z"),
		}, {Ref: model.NewRef("src", "D2"), AccountID: "src:A2"}},
	}}
	got := merge(pages)
	if !reflect.DeepEqual(got.Batch, want.Batch) || len(got.Rejects) != 0 {
		t.Errorf("records:\n got %+v\nwant %+v\nrejects %+v", got.Batch, want.Batch, got.Rejects)
	}
	// The owners, then the accounts with their contacts and deals.
	if len(pages) != 2 || len(pages[0].Owners) != 1 || pages[0].Len() != 1 || len(pages[1].Owners) != 0 || pages[1].Len() != 6 {
		t.Errorf("got %d pages (%v), want the owners' then the accounts'", len(pages), pageSizes(pages))
	}
}

func TestPullPagesResume(t *testing.T) {
	fsys := files(map[string]string{
		"accounts.csv": "id,name,created_at\nA1,a,2026-01-01\nA2,b,2026-01-01\nA3,c,2026-01-01\nA4,d,2026-01-01\nA5,e,2026-01-01\n",
		"contacts.csv": "id,account_id\nC1,A1\nC2,A1\nC3,A2\n",
	})
	c := New("s", fsys, nil)
	c.PageSize = 2
	var first []connectors.Page
	err := c.Pull(t.Context(), nil, func(_ context.Context, p connectors.Page) error {
		first = append(first, p)
		if len(first) == 2 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) || len(first) != 2 {
		t.Fatalf("Pull = %v after %d pages, want errStop after 2", err, len(first))
	}
	rest, err := pull(t, c, first[1].Watermark)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	// A1 C1 | C2 A2 | C3 A3 | A4 A5: accounts with their contacts.
	if got, want := pageSizes(append(first, rest...)), []int{2, 2, 2, 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("page sizes = %v, want %v", got, want)
	}
	if got, want := ids(append(first, rest...)), "A1 A2 A3 A4 A5 C1 C2 C3"; got != want {
		t.Errorf("ids over both pulls = %q, want each once: %q", got, want)
	}
	again, err := pull(t, c, rest[len(rest)-1].Watermark)
	if err != nil || len(again) != 0 {
		t.Errorf("pull of unchanged files = %d pages, %v; want none", len(again), err)
	}
}

func pageSizes(pages []connectors.Page) []int {
	var n []int
	for _, p := range pages {
		n = append(n, p.Len()+len(p.Rejects))
	}
	return n
}

func ids(pages []connectors.Page) string {
	all := merge(pages)
	var out []string
	for _, a := range all.Accounts {
		out = append(out, a.ExternalID)
	}
	for _, c := range all.Contacts {
		out = append(out, c.ExternalID)
	}
	for _, d := range all.Deals {
		out = append(out, d.ExternalID)
	}
	return strings.Join(out, " ")
}

func TestPullChangedFile(t *testing.T) {
	fsys := files(map[string]string{
		"accounts.csv": "id,name,created_at\nA1,a,2026-01-01\n",
		"deals.csv":    "id,account_id,amount,won\nD1,A1,1,false\n",
	})
	c := New("s", fsys, nil)
	pages, err := pull(t, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	wm := pages[len(pages)-1].Watermark
	if len(wm) != 2 || !strings.HasSuffix(wm["deals.csv"], ":1") || len(wm["deals.csv"]) != 64+2 {
		t.Errorf("watermark = %v, want sha:rows per file", wm)
	}
	fsys["deals.csv"].Data = []byte("id,account_id,amount,won\nD1,A1,2,false\nD2,A1,3,false\n")
	pages, err = pull(t, c, wm)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages); got != "D1 D2" || len(pages) != 1 {
		t.Errorf("after change got %d pages with %q, want the whole deals.csv only", len(pages), got)
	}
	if pages[0].Watermark["accounts.csv"] != wm["accounts.csv"] {
		t.Errorf("watermark of unchanged accounts.csv moved: %v", pages[0].Watermark)
	}
}

func TestPullRejects(t *testing.T) {
	const accounts = "id,name,lifecycle,timezone,created_at\n"
	const contacts = "id,account_id,email,opt_out,primary\n"
	const deals = "id,account_id,amount,won,closed_at\n"
	tests := []struct {
		name, file, header, bad, where, reason, raw string
	}{
		{"wrong field count", "accounts.csv", accounts, "A9,x,customer", "accounts.csv:3",
			"wrong number of fields (header has 5)", "A9,x,customer"},
		{"bare quote", "accounts.csv", accounts, `A9,x"y,,,2026-01-01`, "accounts.csv:3",
			`malformed row: bare " in non-quoted-field`, `A9,x"y,,,2026-01-01`},
		{"bad date", "accounts.csv", accounts, "A9,x,,,2026-13-01", "accounts.csv:3",
			`created_at: invalid date "2026-13-01" (want YYYY-MM-DD or RFC 3339)`, "A9,x,,,2026-13-01"},
		{"missing required value", "accounts.csv", accounts, "A9,,,,2026-01-01", "accounts.csv:3",
			"name: required value is empty", "A9,,,,2026-01-01"},
		{"missing required date", "accounts.csv", accounts, "A9,x,,, ", "accounts.csv:3",
			"created_at: required value is empty", "A9,x,,, "},
		{"unknown lifecycle", "accounts.csv", accounts, "A9,x,lead,,2026-01-01", "accounts.csv:3",
			`lifecycle: unknown value "lead" (want prospect, customer, former or other)`, "A9,x,lead,,2026-01-01"},
		{"bad time zone", "accounts.csv", accounts, "A9,x,,Mars/Base,2026-01-01", "accounts.csv:3",
			`timezone: unknown time zone "Mars/Base" (want an IANA name such as Europe/Paris)`, "A9,x,,Mars/Base,2026-01-01"},
		{"duplicate id", "accounts.csv", accounts, "A1,again,,,2026-01-01", "accounts.csv:3",
			`id: duplicate id "A1" (first on line 2)`, "A1,again,,,2026-01-01"},
		{"bad email", "contacts.csv", contacts, "C9,A1,jane@@example.com,,", "contacts.csv:3",
			`email: invalid address "jane@@example.com"`, "C9,A1,jane@@example.com,,"},
		{"email with a name", "contacts.csv", contacts, "C9,A1,Jane <jane@example.com>,,", "contacts.csv:3",
			`email: invalid address "Jane <jane@example.com>"`, "C9,A1,Jane <jane@example.com>,,"},
		{"bad boolean", "contacts.csv", contacts, "C9,A1,,maybe,", "contacts.csv:3",
			`opt_out: invalid boolean "maybe" (want true/false, yes/no, oui/non or 1/0)`, "C9,A1,,maybe,"},
		{"missing account", "contacts.csv", contacts, "C9,,,,", "contacts.csv:3",
			"account_id: required value is empty", "C9,,,,"},
		{"bad number", "deals.csv", deals, "D9,A1,\"1.234,56\",true,2026-01-01", "deals.csv:3",
			`amount: invalid number "1.234,56" (want digits with an optional '.' decimal separator)`, "D9,A1,1.234,56,true,2026-01-01"},
		{"exponent", "deals.csv", deals, "D9,A1,1e5,true,2026-01-01", "deals.csv:3",
			`amount: invalid number "1e5" (want digits with an optional '.' decimal separator)`, "D9,A1,1e5,true,2026-01-01"},
		{"negative amount", "deals.csv", deals, "D9,A1,-5,true,2026-01-01", "deals.csv:3",
			`amount: negative amount "-5"`, "D9,A1,-5,true,2026-01-01"},
		{"won without close date", "deals.csv", deals, "D9,A1,5,true,", "deals.csv:3",
			"closed_at: required when won is true", "D9,A1,5,true,"},
		{"missing won", "deals.csv", deals, "D9,A1,5,,", "deals.csv:3",
			"won: required value is empty", "D9,A1,5,,"},
		{"long raw", "deals.csv", deals, "D9,A1,x" + strings.Repeat("é", 150) + ",true,2026-01-01", "deals.csv:3",
			`amount: invalid number "x` + strings.Repeat("é", 150) + `" (want digits with an optional '.' decimal separator)`,
			"D9,A1,x" + strings.Repeat("é", 96)},
	}
	good := map[string]string{
		"accounts.csv": "A1,a,,,2026-01-01\n%s\nA2,b,,,2026-01-01\n",
		"contacts.csv": "C1,A1,,,\n%s\nC2,A1,,,\n",
		"deals.csv":    "D1,A1,1,false,\n%s\nD2,A1,2,false,\n",
	}
	wantIDs := map[string]string{
		"accounts.csv": "A1 A2",
		"contacts.csv": "A1 A2 C1 C2",
		"deals.csv":    "A1 A2 D1 D2",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{"accounts.csv": accounts + "A1,a,,,2026-01-01\nA2,b,,,2026-01-01\n"}
			m[tt.file] = tt.header + strings.Replace(good[tt.file], "%s", tt.bad, 1)
			pages, err := pull(t, New("s", files(m), nil), nil)
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			all := merge(pages)
			entity := strings.TrimSuffix(strings.TrimSuffix(tt.file, ".csv"), "s")
			want := []model.Reject{{Source: "s", Entity: entity, Where: tt.where, Reason: tt.reason, Raw: tt.raw}}
			if !reflect.DeepEqual(all.Rejects, want) {
				t.Errorf("rejects:\n got %+v\nwant %+v", all.Rejects, want)
			}
			if got := ids(pages); got != wantIDs[tt.file] {
				t.Errorf("kept %q, want the good rows %q", got, wantIDs[tt.file])
			}
		})
	}
}
