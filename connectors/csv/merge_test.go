package csv

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/connectors"
)

// pageIDs lists the external ids of each page, accounts then contacts
// then deals, and the lines of its rejects.
func pageIDs(pages []connectors.Page) []string {
	out := make([]string, len(pages))
	for i, p := range pages {
		out[i] = ids([]connectors.Page{p})
		for _, r := range p.Rejects {
			out[i] += " !" + r.Where
		}
		out[i] = strings.TrimSpace(out[i])
	}
	return out
}

func TestPullMergesFilesByAccount(t *testing.T) {
	const (
		accounts = "id,name,created_at\nA1,a,2026-01-01\nA2,b,2026-01-01\nA10,c,2026-01-01\n"
		deals    = "id,account_id,amount,won\nD1,A1,1,false\nD2,A10,2,false\n"
	)
	tests := []struct {
		name     string
		contacts string
		want     []string // pages of 3 rows (their accounts, contacts, deals, rejects)
	}{
		{
			name:     "sorted by account",
			contacts: "id,account_id\nC1,A1\nC2,A2\nC3,A2\n",
			want:     []string{"A1 C1 D1", "A2 C2 C3", "A10 D2"},
		},
		{
			name:     "a row set aside goes as it comes",
			contacts: "id,account_id\nC1,A1\nC2,\nC3,A2\n",
			want:     []string{"A1 C1 !contacts.csv:3", "A2 C3 D1", "A10 D2"},
		},
		{
			name:     "in no order",
			contacts: "id,account_id\nC3,A10\nC2,A2\nC1,A1\n",
			want:     []string{"A1 A2 D1", "A10 C3 C2", "C1 D2"},
		},
		{
			// C2 (A1 after A2) goes at once: A1 D1 A2 | C1 C2 A10 | C3 D2.
			name:     "out of order",
			contacts: "id,account_id\nC1,A2\nC2,A1\nC3,A10\n",
			want:     []string{"A1 A2 D1", "A10 C1 C2", "C3 D2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := files(map[string]string{"accounts.csv": accounts, "contacts.csv": tt.contacts, "deals.csv": deals})
			c := New("s", fsys, nil)
			c.PageSize = 3
			pages, err := pull(t, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := pageIDs(pages); strings.Join(got, " | ") != strings.Join(tt.want, " | ") {
				t.Errorf("pages %q, want %q", got, tt.want)
			}
			// Interrupted after each page, the pull resumes with the rest.
			for stop := 1; stop < len(pages); stop++ {
				var first []connectors.Page
				err := c.Pull(t.Context(), nil, func(_ context.Context, p connectors.Page) error {
					if first = append(first, p); len(first) == stop {
						return errStop
					}
					return nil
				})
				if !errors.Is(err, errStop) {
					t.Fatalf("stop after %d: %v", stop, err)
				}
				rest, err := pull(t, c, first[stop-1].Watermark)
				if err != nil {
					t.Fatal(err)
				}
				if got := pageIDs(append(first, rest...)); strings.Join(got, " ") != strings.Join(pageIDs(pages), " ") {
					t.Errorf("stopped after %d pages, then resumed: %q, want each row once: %q", stop, got, pageIDs(pages))
				}
			}
		})
	}
}
