package csv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/crmsync/crmsync/connectors"
)

// rows returns n data rows made from format and the numbers first to
// first+n-1, each ended by eol.
func rows(format string, first, n int, eol string) string {
	var b strings.Builder
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, format, i)
		b.WriteString(eol)
	}
	return b.String()
}

// numbered returns the ids made from prefix and the numbers first to
// first+n-1, separated by spaces.
func numbered(prefix string, first, n int) string {
	var ids []string
	for i := first; i < first+n; i++ {
		ids = append(ids, fmt.Sprintf("%s%d", prefix, i))
	}
	return strings.Join(ids, " ")
}

func TestPullMalformedRowKeepsTheRowsAfterIt(t *testing.T) {
	const (
		accountsHdr = "id,name,created_at\n"
		contactsHdr = "id,account_id,email\n"
		dealsHdr    = "id,account_id,amount,won,closed_at\n"
		account     = "A%d,a,2026-01-01"
		contact     = "C%d,A1,c@example.com"
		deal        = "D%d,A1,10,true,2026-01-01"
		okAccounts  = accountsHdr + "A1,a,2026-01-01\n"
	)
	type reject struct{ where, reason, raw string }
	tests := []struct {
		name    string
		file    string
		data    string
		ids     string // of every record stored, accounts first
		rejects []reject
	}{
		{
			name: "unterminated quote in accounts.csv",
			file: "accounts.csv",
			data: accountsHdr + "A0,a,2026-01-01\n" + "A99,\"Broken, Inc,2026-01-01\n" + rows(account, 1, 20, "\n"),
			ids:  "A0 " + numbered("A", 1, 20),
			rejects: []reject{{"accounts.csv:3", "malformed row: unterminated quoted field; the row runs over lines 3-23, " +
				"to the end of the file, so only line 3 is set aside and parsing resumed at line 4", `A99,"Broken, Inc,2026-01-01`}},
		},
		{
			name: "unterminated quote in contacts.csv",
			file: "contacts.csv",
			data: contactsHdr + "C99,A1,\"c@example.com\n" + rows(contact, 1, 20, "\n"),
			ids:  "A1 " + numbered("C", 1, 20),
			rejects: []reject{{"contacts.csv:2", "malformed row: unterminated quoted field; the row runs over lines 2-22, " +
				"to the end of the file, so only line 2 is set aside and parsing resumed at line 3", `C99,A1,"c@example.com`}},
		},
		{
			name: "unterminated quote in deals.csv",
			file: "deals.csv",
			data: dealsHdr + rows(deal, 1, 5, "\n") + "D99,A1,\"10,true,2026-01-01\n" + rows(deal, 6, 20, "\n"),
			ids:  "A1 " + numbered("D", 1, 25),
			rejects: []reject{{"deals.csv:7", "malformed row: unterminated quoted field; the row runs over lines 7-27, " +
				"to the end of the file, so only line 7 is set aside and parsing resumed at line 8", `D99,A1,"10,true,2026-01-01`}},
		},
		{
			name: "quote left open until a stray quote further down",
			file: "accounts.csv",
			data: accountsHdr + "A99,\"Broken,2026-01-01\n" + rows(account, 1, 3, "\n") + "A98,\"Quoted\" SA,2026-01-01\n" +
				rows(account, 4, 2, "\n"),
			ids: numbered("A", 1, 5),
			rejects: []reject{
				{"accounts.csv:2", `malformed row: extraneous or missing " in quoted-field; the row runs over lines 2-6, ` +
					"so only line 2 is set aside and parsing resumed at line 3", `A99,"Broken,2026-01-01`},
				{"accounts.csv:6", `malformed row: extraneous or missing " in quoted-field`, `A98,"Quoted" SA,2026-01-01`},
			},
		},
		{
			name: "bare quote mid-file",
			file: "accounts.csv",
			data: accountsHdr + rows(account, 1, 3, "\n") + "A99,Joe\"s Bar,2026-01-01\n" + rows(account, 4, 3, "\n"),
			ids:  numbered("A", 1, 6),
			rejects: []reject{
				{"accounts.csv:5", `malformed row: bare " in non-quoted-field`, `A99,Joe"s Bar,2026-01-01`},
			},
		},
		{
			name: "bare quote after a quote left open",
			file: "accounts.csv",
			data: accountsHdr + "A99,\"Broken,2026-01-01\n" + rows(account, 1, 2, "\n") + "A98\",x\"y,2026-01-01\n" +
				rows(account, 3, 2, "\n"),
			ids: numbered("A", 1, 4),
			rejects: []reject{
				{"accounts.csv:2", `malformed row: bare " in non-quoted-field; the row runs over lines 2-5, ` +
					"so only line 2 is set aside and parsing resumed at line 3", `A99,"Broken,2026-01-01`},
				{"accounts.csv:5", `malformed row: bare " in non-quoted-field`, `A98",x"y,2026-01-01`},
			},
		},
		{
			name: "quote left open until a closing quote makes too many fields",
			file: "accounts.csv",
			data: accountsHdr + "A99,\"Broken,2026-01-01\n" + rows(account, 1, 2, "\n") + "A98\",x,2026-01-01\n" +
				rows(account, 3, 2, "\n"),
			ids: numbered("A", 1, 4),
			rejects: []reject{
				{"accounts.csv:2", "wrong number of fields (header has 3); the row runs over lines 2-5, " +
					"so only line 2 is set aside and parsing resumed at line 3", `A99,"Broken,2026-01-01`},
				{"accounts.csv:5", `malformed row: bare " in non-quoted-field`, `A98",x,2026-01-01`},
			},
		},
		{
			name: "quoted field over several lines is one row",
			file: "accounts.csv",
			data: accountsHdr + "A1,\"Smith & Sons\nsecond line\n\nfourth, \"\"quoted\"\"\",2026-01-01\n" + rows(account, 2, 2, "\n"),
			ids:  numbered("A", 1, 3),
		},
		{
			name: "unterminated quote on the last line",
			file: "accounts.csv",
			data: accountsHdr + rows(account, 1, 3, "\n") + "A99,\"Broken,2026-01-01\n",
			ids:  numbered("A", 1, 3),
			rejects: []reject{
				{"accounts.csv:5", "malformed row: unterminated quoted field", `A99,"Broken,2026-01-01`},
			},
		},
		{
			name: "unterminated quote on the last line without a line ending",
			file: "accounts.csv",
			data: accountsHdr + rows(account, 1, 3, "\n") + "A99,\"Broken,2026-01-01",
			ids:  numbered("A", 1, 3),
			rejects: []reject{
				{"accounts.csv:5", "malformed row: unterminated quoted field", `A99,"Broken,2026-01-01`},
			},
		},
		{
			name: "CRLF line endings",
			file: "accounts.csv",
			data: "id,name,created_at\r\n" + rows(account, 1, 2, "\r\n") + "A3,\"two\r\nlines\",2026-01-01\r\n" +
				"A99,\"Broken,2026-01-01\r\n\r\n" + rows(account, 4, 2, "\r\n") + "A98,x,bad\r\n",
			ids: numbered("A", 1, 5),
			rejects: []reject{
				{"accounts.csv:6", "malformed row: unterminated quoted field; the row runs over lines 6-10, " +
					"to the end of the file, so only line 6 is set aside and parsing resumed at line 7", `A99,"Broken,2026-01-01`},
				{"accounts.csv:10", `created_at: invalid date "bad" (want YYYY-MM-DD or RFC 3339)`, "A98,x,bad"},
			},
		},
		{
			name: "lines of a field left open are rows of their own",
			file: "accounts.csv",
			data: accountsHdr + "A99,\"Smith & Sons\nsecond line,2026-01-01\n" + rows(account, 1, 2, "\n"),
			ids:  numbered("A", 1, 2),
			rejects: []reject{
				{"accounts.csv:2", "malformed row: unterminated quoted field; the row runs over lines 2-5, " +
					"to the end of the file, so only line 2 is set aside and parsing resumed at line 3", `A99,"Smith & Sons`},
				{"accounts.csv:3", "wrong number of fields (header has 3)", "second line,2026-01-01"},
			},
		},
		{
			name: "long broken line",
			file: "accounts.csv",
			data: accountsHdr + "A99,\"" + strings.Repeat("é", 150) + "\n" + rows(account, 1, 1, "\n"),
			ids:  "A1",
			rejects: []reject{{"accounts.csv:2", "malformed row: unterminated quoted field; the row runs over lines 2-3, " +
				"to the end of the file, so only line 2 is set aside and parsing resumed at line 3", `A99,"` + strings.Repeat("é", 97)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{"accounts.csv": okAccounts, tt.file: tt.data}
			pages, err := pull(t, New("s", files(m), nil), nil)
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			all := merge(pages)
			var got []reject
			for _, r := range all.Rejects {
				got = append(got, reject{r.Where, r.Reason, r.Raw})
			}
			if !reflect.DeepEqual(got, tt.rejects) {
				t.Errorf("rejects:\n got %q\nwant %q", got, tt.rejects)
			}
			if got := allIDs(all); got != tt.ids {
				t.Errorf("stored %q, want %q", got, tt.ids)
			}
		})
	}
}

func allIDs(all connectors.Page) string {
	return strings.TrimSpace(ids([]connectors.Page{all}))
}

func TestPullMalformedRowIncremental(t *testing.T) {
	fsys := files(map[string]string{
		"accounts.csv": "id,name,created_at\n" + rows("A%d,a,2026-01-01", 1, 3, "\n") + "A99,\"Broken,2026-01-01\n" +
			rows("A%d,a,2026-01-01", 4, 5, "\n"),
	})
	c := New("s", fsys, nil)
	c.PageSize = 3
	var first []connectors.Page
	err := c.Pull(t.Context(), nil, func(_ context.Context, p connectors.Page) error {
		first = append(first, p)
		if len(first) == 2 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Pull = %v, want errStop", err)
	}
	rest, err := pull(t, c, first[1].Watermark)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	all := merge(append(first, rest...))
	if got, want := allIDs(all), numbered("A", 1, 8); got != want || len(all.Rejects) != 1 || all.Rejects[0].Where != "accounts.csv:5" {
		t.Errorf("over both pulls stored %q and rejected %+v, want %q and line 5 once", got, all.Rejects, want)
	}
	again, err := pull(t, c, rest[len(rest)-1].Watermark)
	if err != nil || len(again) != 0 {
		t.Errorf("pull of the unchanged file = %d pages, %v; want none", len(again), err)
	}
}

func TestRecordsWindowLines(t *testing.T) {
	const data = "ab\n\ncd\r\nef"
	starts := []int{0, 3, 4, 8, len(data), len(data)} // lines 1 to 6
	rs := newRecords(iotest.OneByteReader(strings.NewReader(data)), ',')
	for _, n := range []int{1, 4, 2, 6, 3, 1, 5} {
		if got := rs.start(n); got != starts[n-1] {
			t.Errorf("start(%d) = %d, want %d", n, got, starts[n-1])
		}
	}
	lines := []int{1, 1, 1, 2, 3, 3, 3, 3, 4, 4} // of each byte
	for _, off := range []int{9, 0, 5, 2, 8, 3, 7, 1, 4, 6} {
		if got := rs.lineOf(off); got != lines[off] {
			t.Errorf("lineOf(%d) = %d, want %d", off, got, lines[off])
		}
	}
}

// FuzzRecordsLoseNoLine checks that, whatever the content, every line of a
// file after its header is blank, in a record (which starts where the
// previous one ended) or set aside, and that a pull stores or rejects each.
func FuzzRecordsLoseNoLine(f *testing.F) {
	for _, s := range []string{
		"A1,a,2026-01-01\n",
		"A1,\"a\nb\",2026-01-01\nA2,b,2026-01-01\n",
		"A1,\"a,2026-01-01\nA2,b,2026-01-01\nA3,\"c\" d,x\n",
		"A1,a\"b,c\r\n\r\nA2,\"b\r\nc\",d\r\n",
		"\"\",\",\n\"\"\"\n,,\"\n\"",
		"A1,\"a,b\nA2,\"\",c\nA3\",d,e,f\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		data := "id,name,created_at\n" + body
		lines := strings.Split(data, "\n")
		rs := newRecords(strings.NewReader(data), ',')
		if _, _, err := rs.header(); err != nil {
			t.Fatalf("header: %v", err)
		}
		n, last := 0, 1
		for ; ; n++ {
			_, start, err := rs.next()
			if errors.Is(err, io.EOF) {
				break
			}
			var bad *badRecord
			end := start
			switch {
			case err == nil:
				end = rs.end()
			case !errors.As(err, &bad):
				t.Fatalf("next: %v", err)
			case bad.raw != truncate(strings.TrimSuffix(lines[start-1], "\r")):
				t.Errorf("line %d set aside as %q, want its text", start, bad.raw)
			}
			checkBlank(t, lines, last+1, start-1)
			if start <= last || end < start {
				t.Fatalf("row %d: lines %d-%d after line %d", n, start, end, last)
			}
			last = end
		}
		checkBlank(t, lines, last+1, len(lines))
		pages, err := pull(t, New("s", files(map[string]string{"accounts.csv": data}), nil), nil)
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		if all := merge(pages); len(all.Accounts)+len(all.Rejects) != n {
			t.Errorf("stored %d and rejected %d of %d rows", len(all.Accounts), len(all.Rejects), n)
		}
	})
}

// checkBlank fails unless lines from to to (from 1) are blank.
func checkBlank(t *testing.T, lines []string, from, to int) {
	t.Helper()
	for n := from; n <= to; n++ {
		if strings.TrimSuffix(lines[n-1], "\r") != "" {
			t.Errorf("line %d %q is in no row", n, lines[n-1])
		}
	}
}
