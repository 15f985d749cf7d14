package sellsy

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/sellsyfake"
	"github.com/crmsync/crmsync/model"
)

// TestRejects: objects that cannot be mapped are set aside with the
// reason and their raw form; the rest of their page goes on.
func TestRejects(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	noName := put(t, s, sellsyfake.KindCompanies, 0, map[string]any{"type": "client", "name": ""})
	orphan := put(t, s, sellsyfake.KindOpportunities, 0, map[string]any{"name": "Orphan", "status": "open", "company_id": nil, "individual_id": nil})
	badAmount := put(t, s, sellsyfake.KindOpportunities, 0, map[string]any{"name": "Bad", "status": "open", "company_id": 1,
		"amount": map[string]any{"value": "12,50", "currency": "EUR"}})
	wonUndated := put(t, s, sellsyfake.KindOpportunities, 0, map[string]any{"name": "Undated", "status": "won", "company_id": 1})
	put(t, s, sellsyfake.KindOpportunities, wonUndated, map[string]any{"updated_status": nil})
	badSubs := put(t, s, sellsyfake.KindContacts, 0, map[string]any{"first_name": "X", "marketing_campaigns_subscriptions": "email"})
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		testAccount + "-company-" + strconv.Itoa(noName):         "field name: missing",
		testAccount + "-opportunity-" + strconv.Itoa(orphan):     "company_id and individual_id: both null",
		testAccount + "-opportunity-" + strconv.Itoa(badAmount):  `field amount.value: "12,50" is not a decimal`,
		testAccount + "-opportunity-" + strconv.Itoa(wonUndated): "field updated_status: missing on a won opportunity",
		testAccount + "-contact-" + strconv.Itoa(badSubs):        "field marketing_campaigns_subscriptions: not a list of strings",
	}
	for _, r := range got.Rejects {
		reason, ok := want[r.Where]
		if !ok || !strings.Contains(r.Reason, reason) || r.Source != "sy" || r.Raw == "" || r.At.IsZero() {
			t.Errorf("reject %+v; want one of %v", r, want)
		}
		delete(want, r.Where)
	}
	if len(want) != 0 {
		t.Errorf("missing rejects: %v", want)
	}
	if len(got.Batch.Accounts) != fakeCompanies+fakeIndividuals {
		t.Errorf("%d accounts mapped, want the %d others", len(got.Batch.Accounts), fakeCompanies+fakeIndividuals)
	}
}

// TestActivityCatchUp: logging an activity changes no company or
// contact, so the updated filters miss it; the activities phase reads
// the objects it names again, with their new last activity.
func TestActivityCatchUp(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	c := newConnector(t, fakeOptions(s))
	full, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second)
	put(t, s, sellsyfake.KindActivities, 0, map[string]any{"date": sellsyfake.Stamp(at), "event": "phonecall.created",
		"companies": []any{map[string]any{"id": 5, "type": "company", "name": "Company 000005"}},
		"people":    map[string]any{"id": 9, "name": "First9"}})
	put(t, s, sellsyfake.KindActivities, 0, map[string]any{"date": sellsyfake.Stamp(at), "event": "email.sent",
		"companies": []any{map[string]any{"id": 3, "type": "individual", "name": "Indi3 Vidual"}}})
	got, err := conntest.Pull(c, full.Last())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id      string
		account bool
	}{{id("company", 5), true}, {id("individual", 3), true}, {id("contact", 9), false}} {
		var last time.Time
		if tc.account {
			a, _ := findAccount(got.Batch, tc.id)
			last = a.LastActivityAt
		} else {
			k, _ := findContact(got.Batch, tc.id)
			last = k.LastActivityAt
		}
		if !last.Equal(at) {
			t.Errorf("%s last activity %v, want %v", tc.id, last, at)
		}
	}
	if k, _ := findContact(got.Batch, id("contact", 9)); k.AccountID != id("company", 5) {
		t.Errorf("contact 9 read again = %+v, want it filed under company 5", k)
	}
}

func TestLifecycleMapping(t *testing.T) {
	m := DefaultMapping.Lifecycle
	for v, want := range map[string]model.Lifecycle{"client": model.Customer, "prospect": model.Prospect, "supplier": model.Other, "": model.Other} {
		if got := m.Lifecycle(v); got != want {
			t.Errorf("type %q = %s, want %s", v, got, want)
		}
	}
}
