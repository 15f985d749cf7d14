package merge

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

// fixed is a portfolio in memory, in id order like the store's.
type fixed []model.Client

func (f fixed) EachClient(_ context.Context, _ int, fn func(model.Client) error) error {
	byID := func(a, b model.Client) int { return strings.Compare(a.Account.ID, b.Account.ID) }
	s := f
	if !slices.IsSortedFunc(s, byID) {
		s = slices.Clone(f)
		slices.SortFunc(s, byID)
	}
	for _, c := range s {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// acct builds a client of source src with a domain and contact emails.
func acct(src, id, domain string, emails ...string) model.Client {
	c := model.Client{Account: model.Account{Ref: model.NewRef(src, id), Domain: domain}}
	for n, e := range emails {
		c.Contacts = append(c.Contacts, model.Contact{Ref: model.NewRef(src, id+"-c"+string(rune('0'+n))), Email: e})
	}
	return c
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name      string
		accounts  fixed
		rules     Rules
		want      Groups
		conflicts int
		unknown   int
	}{{
		name:     "by domain across sources, primary from precedence",
		accounts: fixed{acct("hubspot", "1", "acme.com"), acct("sellsy", "9", "Acme.com"), acct("legacy", "A", "acme.com"), acct("hubspot", "2", "beta.io")},
		rules:    Rules{By: []string{ByDomain}, Precedence: []string{"sellsy", "hubspot", "legacy"}},
		want:     Groups{"sellsy:9": {"sellsy:9", "hubspot:1", "legacy:A"}},
	}, {
		name:     "sources not in precedence come after, by name",
		accounts: fixed{acct("zeta", "1", "acme.com"), acct("alpha", "1", "acme.com"), acct("hubspot", "1", "acme.com")},
		rules:    Rules{By: []string{ByDomain}, Precedence: []string{"hubspot"}},
		want:     Groups{"hubspot:1": {"hubspot:1", "alpha:1", "zeta:1"}},
	}, {
		name:      "a domain on two accounts of one source joins nothing",
		accounts:  fixed{acct("hubspot", "1", "acme.com"), acct("hubspot", "2", "acme.com"), acct("sellsy", "9", "acme.com")},
		rules:     Rules{By: []string{ByDomain}},
		want:      Groups{},
		conflicts: 1,
	}, {
		name:     "public email domains never join",
		accounts: fixed{acct("hubspot", "1", "gmail.com"), acct("sellsy", "9", "gmail.com")},
		rules:    Rules{By: []string{ByDomain}},
		want:     Groups{},
	}, {
		name:     "domain merging is off unless asked",
		accounts: fixed{acct("hubspot", "1", "acme.com"), acct("sellsy", "9", "acme.com")},
		rules:    Rules{By: []string{ByContactEmail}},
		want:     Groups{},
	}, {
		name:     "by contact email, ignoring case",
		accounts: fixed{acct("hubspot", "1", "", "Jo@Acme.com"), acct("sellsy", "9", "", "jo@acme.com ", "x@acme.com")},
		rules:    Rules{By: []string{ByContactEmail}, Precedence: []string{"hubspot", "sellsy"}},
		want:     Groups{"hubspot:1": {"hubspot:1", "sellsy:9"}},
	}, {
		name: "a chain that would put two accounts of one source together stops",
		accounts: fixed{
			acct("hubspot", "1", "acme.com"), acct("sellsy", "9", "acme.com", "jo@acme.com"),
			acct("hubspot", "2", "acme-group.com", "jo@acme.com"),
		},
		rules:     Rules{By: []string{ByDomain, ByContactEmail}, Precedence: []string{"hubspot", "sellsy"}},
		want:      Groups{"hubspot:1": {"hubspot:1", "sellsy:9"}},
		conflicts: 1,
	}, {
		name:     "the mapping comes first and unknown ids are counted",
		accounts: fixed{acct("hubspot", "1", "acme.com"), acct("sellsy", "9", "other.com"), acct("sellsy", "8", "acme.com")},
		rules: Rules{
			Mapping:    [][]string{{"hubspot:1", "sellsy:9"}, {"hubspot:404", "sellsy:8"}},
			By:         []string{ByDomain},
			Precedence: []string{"hubspot", "sellsy"},
		},
		want:      Groups{"hubspot:1": {"hubspot:1", "sellsy:9"}},
		conflicts: 1, // acme.com would join sellsy:8 to the hubspot:1 company, which has sellsy:9
		unknown:   1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, st, err := Build(context.Background(), tt.accounts, tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("groups = %v, want %v", g, tt.want)
			}
			if st.Conflicts != tt.conflicts || len(st.Examples) != tt.conflicts || st.UnknownIDs != tt.unknown {
				t.Errorf("conflicts %d %q, unknown %d; want %d, %d", st.Conflicts, st.Examples, st.UnknownIDs, tt.conflicts, tt.unknown)
			}
			if st.Accounts != len(tt.accounts) || st.Groups != len(tt.want) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	hub := model.Client{
		Account: model.Account{
			Ref: model.NewRef("hubspot", "1"), Name: "Acme", Lifecycle: model.Prospect,
			CreatedAt: day(10), LastActivityAt: day(3), Extra: map[string]string{"tier": "gold"},
			PrimaryContactID: "hubspot:c1",
		},
		Contacts: []model.Contact{{Ref: model.NewRef("hubspot", "c1"), Email: "Jo@acme.com", FirstName: "Jo", LastActivityAt: day(1)}},
		Deals:    []model.Deal{{Ref: model.NewRef("hubspot", "d1"), Amount: 100, Won: true}},
	}
	sellsy := model.Client{
		Account: model.Account{
			Ref: model.NewRef("sellsy", "9"), Name: "ACME SAS", OwnerID: "sellsy:o1", Language: "fr", Lifecycle: model.Customer,
			CreatedAt: day(2), LastActivityAt: day(20), Extra: map[string]string{"tier": "silver", "siren": "123"},
		},
		Owner: &model.Owner{Ref: model.NewRef("sellsy", "o1"), Email: "rep@acme.fr"},
		Contacts: []model.Contact{
			{Ref: model.NewRef("sellsy", "c7"), Email: "jo@acme.com", Phone: "+33 1", OptOut: true, LastActivityAt: day(15)},
			{Ref: model.NewRef("sellsy", "c8"), Email: "al@acme.com"},
		},
		Deals: []model.Deal{{Ref: model.NewRef("sellsy", "d1"), Amount: 250, Won: true}},
	}
	legacy := model.Client{
		Account: model.Account{Ref: model.NewRef("legacy", "A"), OwnerID: "legacy:o9"},
		Owner:   &model.Owner{Ref: model.NewRef("legacy", "o9"), Email: "old@acme.fr"},
	}
	got := Combine([]model.Client{hub, sellsy, legacy})
	a := got.Account
	if a.ID != "hubspot:1" || a.Name != "Acme" || a.Language != "fr" || a.Lifecycle != model.Customer {
		t.Errorf("account = %+v", a)
	}
	if a.OwnerID != "sellsy:o1" || got.Owner == nil || got.Owner.Email != "rep@acme.fr" {
		t.Errorf("owner %q %+v: want the first source that has one (sellsy), not legacy", a.OwnerID, got.Owner)
	}
	if !a.CreatedAt.Equal(day(2)) || !a.LastActivityAt.Equal(day(20)) {
		t.Errorf("created %v, last activity %v", a.CreatedAt, a.LastActivityAt)
	}
	if a.Extra["tier"] != "gold" || a.Extra["siren"] != "123" || hub.Account.Extra["siren"] != "" {
		t.Errorf("extra = %v (and the member's must not change: %v)", a.Extra, hub.Account.Extra)
	}
	if len(a.Sources) != 3 || a.Sources[1].ID != "sellsy:9" {
		t.Errorf("sources = %v", a.Sources)
	}
	var sum float64
	for _, d := range got.Deals {
		sum += d.Amount
		if d.AccountID != "hubspot:1" {
			t.Errorf("deal %s on %s", d.ID, d.AccountID)
		}
	}
	if sum != 350 || len(got.Deals) != 2 {
		t.Errorf("revenue %v over %d deals, want 350 over 2", sum, len(got.Deals))
	}
	if len(got.Contacts) != 2 {
		t.Fatalf("contacts = %+v, want jo once and al", got.Contacts)
	}
	jo := got.Contacts[0]
	if jo.ID != "hubspot:c1" || !jo.OptOut || jo.Phone != "+33 1" || !jo.LastActivityAt.Equal(day(15)) || jo.AccountID != "hubspot:1" {
		t.Errorf("jo = %+v: want hubspot's, opted out as in sellsy, with sellsy's phone and activity", jo)
	}
	if single := Combine([]model.Client{legacy}); !reflect.DeepEqual(single, legacy) {
		t.Errorf("one account = %+v, want it unchanged", single)
	}
}

func TestCombinePrimaryContactFollowsDedup(t *testing.T) {
	a := model.Client{Account: model.Account{Ref: model.NewRef("a", "1")},
		Contacts: []model.Contact{{Ref: model.NewRef("a", "c"), Email: "jo@x.com"}}}
	b := model.Client{Account: model.Account{Ref: model.NewRef("b", "1"), PrimaryContactID: "b:c"},
		Contacts: []model.Contact{{Ref: model.NewRef("b", "c"), Email: "JO@x.com"}}}
	if got := Combine([]model.Client{a, b}).Account.PrimaryContactID; got != "a:c" {
		t.Errorf("primary contact = %q, want a:c (b:c is the same person)", got)
	}
}

func TestParseMapping(t *testing.T) {
	sources := []string{"hubspot", "sellsy", "legacy"}
	tests := []struct {
		name, in string
		want     [][]string
		err      string
	}{
		{"comma", "hubspot,sellsy,legacy\n9120384,4521,C-0042\n9120391,,C-0107\n\n", [][]string{{"hubspot:9120384", "sellsy:4521", "legacy:C-0042"}, {"hubspot:9120391", "legacy:C-0107"}}, ""},
		{"semicolon, BOM, comments, short rows", "\ufeffsellsy;hubspot\n# from the 2025 clean-up\n4521;9120384\n;\n", [][]string{{"sellsy:4521", "hubspot:9120384"}}, ""},
		{"unknown source", "hubspot,pipedrive\n1,2\n", nil, `line 1:9: column "pipedrive" is not a configured source`},
		{"duplicate column", "hubspot,sellsy,hubspot\n", nil, `line 1:16: source "hubspot" has two columns`},
		{"one column", "hubspot\n1\n", nil, "line 1: want at least two source columns"},
		{"id twice", "hubspot,sellsy\n1,2\n3,2\n", nil, "line 3:3: sellsy:2 is already mapped on line 2"},
		{"lonely id", "hubspot,sellsy\n1,\n", nil, "line 2: only one id"},
		{"extra cell", "hubspot,sellsy\n1,2,3\n", nil, "line 2:5: 3 cells for 2 columns"},
		{"bad quote", "hubspot,sellsy\n\"1,2\n", nil, "line 2:"},
		{"empty", "", nil, "line 1: empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMapping(strings.NewReader(tt.in), sources)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
