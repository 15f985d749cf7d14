package workers

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
)

func TestEmailRecipients(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	contact := func(id, email string, active time.Duration) model.Contact {
		return model.Contact{Ref: model.NewRef("s", id), Email: email, LastActivityAt: t0.Add(active)}
	}
	ann := contact("ann", "ann@example.com", 0)
	bob := contact("bob", "bob@example.com", day)
	optedOut := contact("oo", "oo@example.com", 2*day)
	optedOut.OptOut = true
	noEmail := contact("ne", "", 3*day)
	named := contact("be", "Bee <be@example.com>", 3*day)
	noDot := contact("nd", "name@mail", 4*day)
	noTLD := contact("nt", "name@company-name", 4*day)
	spaced := contact("sp", "ann lee@example.com", 4*day)
	shortTLD := contact("st", "cy@b.c", 4*day)
	punycode := contact("pc", "zoe@xn--mller-kva.de", -day)
	primary := func(c model.Contact) model.Contact { c.Primary = true; return c }

	tests := []struct {
		name     string
		account  model.Account
		contacts []model.Contact
		to       string
		want     []string // external ids
		wantHeld []string // as a preview shows them
	}{
		{name: "marked by the account's primary contact id", account: model.Account{PrimaryContactID: ann.ID}, contacts: []model.Contact{ann, bob}, want: []string{"ann"}},
		{name: "marked by the contact's primary flag", contacts: []model.Contact{ann, primary(bob)}, want: []string{"bob"}},
		{name: "marked primary opted out: nobody, not someone else", contacts: []model.Contact{ann, primary(optedOut)}, wantHeld: []string{string(SkipOptedOut)}},
		{name: "marked primary without email", contacts: []model.Contact{ann, primary(noEmail)}, wantHeld: []string{string(SkipNoContact)}},
		{name: "marked primary with an address without a dot: nobody, not someone else", contacts: []model.Contact{ann, primary(noDot)}, wantHeld: []string{"invalid_email name@mail"}},
		{name: "marked primary by id with an address without a TLD", account: model.Account{PrimaryContactID: noTLD.ID}, contacts: []model.Contact{bob, noTLD}, wantHeld: []string{"invalid_email name@company-name"}},
		{name: "marked primary with a display name", contacts: []model.Contact{primary(named), bob}, wantHeld: []string{"invalid_email Bee <be@example.com>"}},
		{name: "marked primary opted out with an invalid address: the opt-out first", contacts: []model.Contact{ann, primary(model.Contact{Ref: model.NewRef("s", "x"), Email: "x@mail", OptOut: true})}, wantHeld: []string{string(SkipOptedOut)}},
		{name: "marked primary with a punycode domain", contacts: []model.Contact{ann, primary(punycode)}, want: []string{"pc"}},
		{name: "none marked: latest activity with a valid email and no opt-out", contacts: []model.Contact{ann, bob, optedOut, noEmail, named}, want: []string{"bob"}},
		{name: "none marked: invalid addresses are not eligible", contacts: []model.Contact{ann, noDot, noTLD, spaced, shortTLD, bob}, want: []string{"bob"}},
		{name: "none marked, only invalid addresses", contacts: []model.Contact{noDot, noTLD}, wantHeld: []string{string(SkipNoContact)}},
		{name: "nobody reachable", contacts: []model.Contact{optedOut, noEmail}, wantHeld: []string{string(SkipNoContact)}},
		{name: "no contacts", wantHeld: []string{string(SkipNoContact)}},
		{name: "all contacts", to: "all_contacts", contacts: []model.Contact{ann, optedOut, bob, noEmail}, want: []string{"ann", "bob"}, wantHeld: []string{string(SkipOptedOut)}},
		{
			name: "all contacts, invalid addresses held back", to: "all_contacts",
			contacts: []model.Contact{ann, noDot, bob, spaced, noEmail, punycode},
			want:     []string{"ann", "bob", "pc"}, wantHeld: []string{"invalid_email name@mail", "invalid_email ann lee@example.com"},
		},
		{name: "all contacts, only invalid addresses", to: "all_contacts", contacts: []model.Contact{shortTLD, noEmail}, wantHeld: []string{"invalid_email cy@b.c"}},
		{name: "all contacts, no address at all", to: "all_contacts", contacts: []model.Contact{noEmail}, wantHeld: []string{string(SkipNoContact)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &model.Client{Account: tt.account, Contacts: tt.contacts}
			got, holds := emailRecipients(c, tt.to)
			var ids, held []string
			for _, ct := range got {
				ids = append(ids, ct.ExternalID)
			}
			for _, h := range holds {
				held = append(held, h.String())
			}
			if !reflect.DeepEqual(ids, tt.want) || !reflect.DeepEqual(held, tt.wantHeld) {
				t.Fatalf("got %v held %q, want %v held %q", ids, held, tt.want, tt.wantHeld)
			}
		})
	}
}

func TestPlannedCountsReasons(t *testing.T) {
	var out planned
	out.heldBack(hold{reason: SkipInvalidEmail, detail: "name@mail"}, hold{reason: SkipOptedOut})
	if want := []hold{{SkipInvalidEmail, "name@mail"}, {SkipOptedOut, ""}}; !reflect.DeepEqual(out.holds, want) {
		t.Errorf("holds = %q, want %q", out.holds, want)
	}
	if got, want := out.holds[0].String(), "invalid_email name@mail"; got != want {
		t.Errorf("held = %q, want %q", got, want)
	}
}

func TestInvalidEmailHeldBackAtPlanning(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "name@mail", "")
	q := &taskRecorder{}
	e := newEvaluator(t, s, q, &Planner{})

	flags, err := e.Preview(ctx, evalNow, PreviewFilter{Rule: "also-quiet"})
	if err != nil || len(flags) != 1 {
		t.Fatalf("preview = %+v, %v; want also-quiet on one account", flags, err)
	}
	if got := flags[0]; len(got.Messages) != 0 || !slices.Equal(got.HeldBack, []string{"invalid_email name@mail"}) {
		t.Fatalf("preview held back %q with %d messages; want the email held back as invalid_email with its address", got.HeldBack, len(got.Messages))
	}

	rep, err := e.Evaluate(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped["also-quiet"][string(SkipInvalidEmail)] != 1 || rep.Enqueued[notify.Email] != 0 {
		t.Fatalf("report skipped %v enqueued %v; want one invalid_email and no email", rep.Skipped, rep.Enqueued)
	}
	for _, m := range q.messages() {
		if m.Channel == notify.Email {
			t.Fatalf("an email was enqueued to %s", m.To)
		}
	}
}
