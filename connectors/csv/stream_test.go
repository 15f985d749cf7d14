package csv

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestPullDuplicateIDsInAndOutOfOrder(t *testing.T) {
	const hdr = "id,name,created_at\n"
	tests := []struct {
		name string
		rows string
		want []string // rejects: where and reason
		ids  string   // accounts stored
	}{
		{"in order", "A1,a,2026-01-01\nA2,b,2026-01-01\nA10,c,2026-01-01\n", nil, "A1 A2 A10"},
		{"repeated next", "A1,a,2026-01-01\nA1,b,2026-01-01\n",
			[]string{`accounts.csv:3 id: duplicate id "A1" (first on line 2)`}, "A1"},
		{"out of order then repeated", "A2,a,2026-01-01\nA1,b,2026-01-01\nA3,c,2026-01-01\nA2,d,2026-01-01\nA1,e,2026-01-01\n",
			[]string{`accounts.csv:5 id: duplicate id "A2" (first on line 2)`, `accounts.csv:6 id: duplicate id "A1" (first on line 3)`}, "A2 A1 A3"},
		{"shorter sorts first", "A9,a,2026-01-01\nA10,b,2026-01-01\nA9,c,2026-01-01\n",
			[]string{`accounts.csv:4 id: duplicate id "A9" (first on line 2)`}, "A9 A10"},
		{"a rejected row's id is free", "A1,a,31/12/2024\nA1,b,2026-01-01\nA1,c,2026-01-01\n",
			[]string{`accounts.csv:2 created_at: invalid date "31/12/2024" (want YYYY-MM-DD or RFC 3339)`,
				`accounts.csv:4 id: duplicate id "A1" (first on line 3)`}, "A1"},
		{"rows over several lines and broken rows before", "A1,\"a\nb\",2026-01-01\nA2,\"b,2026-01-01\nA3,c,2026-01-01\nA1,d,2026-01-01\n",
			[]string{`accounts.csv:4 malformed row: unterminated quoted field; the row runs over lines 4-6, to the end of the file, so only line 4 is set aside and parsing resumed at line 5`,
				`accounts.csv:6 id: duplicate id "A1" (first on line 2)`}, "A1 A3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{1, 2, PageSize} {
				c := New("s", files(map[string]string{"accounts.csv": hdr + tt.rows}), nil)
				c.PageSize = size
				pages, err := pull(t, c, nil)
				if err != nil {
					t.Fatal(err)
				}
				all := merge(pages)
				var got []string
				for _, r := range all.Rejects {
					got = append(got, r.Where+" "+r.Reason)
				}
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Errorf("page size %d: rejects\n%s\nwant\n%s", size, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				}
				if ids := allIDs(all); ids != tt.ids {
					t.Errorf("page size %d: stored %q, want %q", size, ids, tt.ids)
				}
			}
		})
	}
}

// changingFS serves a file whose content changes after it is first read
// whole.
type changingFS struct {
	fstest.MapFS
	opens int
}

func (c *changingFS) Open(name string) (fs.File, error) {
	if name == "accounts.csv" {
		c.opens++
		if c.opens > 1 {
			c.MapFS[name].Data = []byte("id,name,created_at\nA1,changed,2026-01-01\n")
		}
	}
	return c.MapFS.Open(name)
}

func TestPullFailsWhenAFileChangesWhileRead(t *testing.T) {
	fsys := &changingFS{MapFS: files(map[string]string{"accounts.csv": "id,name,created_at\nA1,a,2026-01-01\n"})}
	_, err := pull(t, New("s", fsys, nil), nil)
	if err == nil || err.Error() != "csv: accounts.csv changed while it was read: the next pull reads it again" {
		t.Errorf("Pull error = %v, want the change reported", err)
	}
	if _, err := pull(t, New("s", fsys, nil), nil); err != nil {
		t.Errorf("Pull of the settled file: %v", err)
	}
}
