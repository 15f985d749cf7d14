package workers

import (
	"reflect"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

func TestEmailRecipients(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ann := model.Contact{Ref: model.NewRef("s", "ann"), Email: "ann@example.com", LastActivityAt: t0}
	bob := model.Contact{Ref: model.NewRef("s", "bob"), Email: "bob@example.com", LastActivityAt: t0.Add(day)}
	optedOut := model.Contact{Ref: model.NewRef("s", "oo"), Email: "oo@example.com", OptOut: true, LastActivityAt: t0.Add(2 * day)}
	noEmail := model.Contact{Ref: model.NewRef("s", "ne"), LastActivityAt: t0.Add(3 * day)}
	badEmail := model.Contact{Ref: model.NewRef("s", "be"), Email: "Bee <be@example.com>", LastActivityAt: t0.Add(3 * day)}
	primary := func(c model.Contact) model.Contact { c.Primary = true; return c }

	tests := []struct {
		name      string
		account   model.Account
		contacts  []model.Contact
		to        string
		want      []string
		wantSkips []string
	}{
		{name: "marked by the account's primary contact id", account: model.Account{PrimaryContactID: ann.ID}, contacts: []model.Contact{ann, bob}, want: []string{"ann"}},
		{name: "marked by the contact's primary flag", contacts: []model.Contact{ann, primary(bob)}, want: []string{"bob"}},
		{name: "marked primary opted out: nobody, not someone else", contacts: []model.Contact{ann, primary(optedOut)}, wantSkips: []string{SkipOptedOut}},
		{name: "marked primary without email", contacts: []model.Contact{ann, primary(noEmail)}, wantSkips: []string{SkipNoContact}},
		{name: "none marked: latest activity with a valid email and no opt-out", contacts: []model.Contact{ann, bob, optedOut, noEmail, badEmail}, want: []string{"bob"}},
		{name: "nobody reachable", contacts: []model.Contact{optedOut, noEmail}, wantSkips: []string{SkipNoContact}},
		{name: "no contacts", wantSkips: []string{SkipNoContact}},
		{name: "all contacts", to: "all_contacts", contacts: []model.Contact{ann, optedOut, bob, noEmail}, want: []string{"ann", "bob"}, wantSkips: []string{SkipOptedOut}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &model.Client{Account: tt.account, Contacts: tt.contacts}
			got, skips := emailRecipients(c, tt.to)
			var ids []string
			for _, ct := range got {
				ids = append(ids, ct.ExternalID)
			}
			if !reflect.DeepEqual(ids, tt.want) || !reflect.DeepEqual(skips, tt.wantSkips) {
				t.Fatalf("got %v skips %v, want %v skips %v", ids, skips, tt.want, tt.wantSkips)
			}
		})
	}
}

func TestValidEmail(t *testing.T) {
	for in, want := range map[string]bool{
		"ann@example.com":            true,
		"":                           false,
		"not an address":             false,
		"Ann <ann@example.com>":      false,
		"ann@example.com, b@example": false,
	} {
		if got := validEmail(in); got != want {
			t.Errorf("validEmail(%q) = %v, want %v", in, got, want)
		}
	}
}
