package csv

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/connectors"
)

func TestPullReadsLanguages(t *testing.T) {
	tests := []struct {
		value string
		want  string
	}{
		{"fr", "fr"},
		{"FR", "fr"},
		{"fr-FR", "fr-FR"},
		{"fr_fr", "fr-FR"},
		{"en-GB", "en-GB"},
		{" en-us ", "en-US"},
		{"French", "fr"},
		{"français", "fr"},
		{"Francais", "fr"},
		{"Anglais", "en"},
		{"Deutsch", "de"},
		{"fr;en", "fr"},
		{"", ""},
		{"Frnech", ""},
		{"<!channel>", ""},
		{"und", ""},
	}
	var accounts, contacts strings.Builder
	accounts.WriteString("id,name,created_at,language\n")
	contacts.WriteString("id,account_id,language\n")
	for i, tt := range tests {
		v := strings.ReplaceAll(tt.value, `"`, `""`)
		accounts.WriteString("A" + string(rune('a'+i)) + ",x,2026-01-01,\"" + v + "\"\n")
		contacts.WriteString("C" + string(rune('a'+i)) + ",A" + string(rune('a'+i)) + ",\"" + v + "\"\n")
	}
	fsys := files(map[string]string{"accounts.csv": accounts.String(), "contacts.csv": contacts.String()})
	pages, err := pull(t, New("s", fsys, nil), nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	all := merge(pages)
	if len(all.Rejects) != 0 || len(all.Accounts) != len(tests) || len(all.Contacts) != len(tests) {
		t.Fatalf("kept %d accounts and %d contacts with rejects %+v; want every row kept",
			len(all.Accounts), len(all.Contacts), all.Rejects)
	}
	for i, tt := range tests {
		if got := all.Accounts[i].Language; got != tt.want {
			t.Errorf("account language %q = %q, want %q", tt.value, got, tt.want)
		}
		if got := all.Contacts[i].Language; got != tt.want {
			t.Errorf("contact language %q = %q, want %q", tt.value, got, tt.want)
		}
	}
}

func TestPullWarnsOnceAboutUnusableLanguages(t *testing.T) {
	const header = "id,account_id,language\n"
	v1 := header + "C1,A1,fr\nC2,A1,Frnech\nC3,A1,\nC4,A1,klingonish\n"
	fsys := files(map[string]string{
		"accounts.csv": "id,name,created_at,language\nA1,x,2026-01-01,en\n",
		"contacts.csv": v1,
	})
	var logs bytes.Buffer
	c := New("s", fsys, slog.New(slog.NewTextHandler(&logs, nil)))
	c.PageSize = 2
	warnings := func() []string {
		var out []string
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, "without a language") {
				out = append(out, line)
			}
		}
		return out
	}
	pages, err := pull(t, c, nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	w := warnings()
	if len(w) != 1 || !strings.Contains(w[0], "file=contacts.csv") || !strings.Contains(w[0], "rows=2") ||
		!strings.Contains(w[0], "line=3") || !strings.Contains(w[0], "value=Frnech") {
		t.Fatalf("warnings:\n%s\nwant one for contacts.csv: 2 rows, the first on line 3 (Frnech)", strings.Join(w, ""))
	}
	if _, err := pull(t, c, nil); err != nil { // the same file again: no new warning
		t.Fatalf("Pull: %v", err)
	}
	if n := len(warnings()); n != 1 {
		t.Errorf("%d warnings after reading the same file again, want 1", n)
	}
	fsys["contacts.csv"].Data = []byte(v1 + "C5,A1,Englsh\n")
	if _, err := pull(t, c, lastWatermark(pages)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if n := len(warnings()); n != 2 {
		t.Errorf("%d warnings after the file changed, want 2:\n%s", n, logs.String())
	}
}

// lastWatermark returns the watermark of the last page.
func lastWatermark(pages []connectors.Page) connectors.Watermark {
	if len(pages) == 0 {
		return nil
	}
	return pages[len(pages)-1].Watermark
}
