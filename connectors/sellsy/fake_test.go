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

func TestDocumentedPayloads(t *testing.T) {
	s := sellsyfake.New(sellsyfake.Options{})
	t.Cleanup(s.Close)
	if err := s.SeedDocumented(); err != nil {
		t.Fatal(err)
	}
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := got.Batch
	if len(got.Rejects) != 0 || len(b.Owners) != 2 || len(b.Accounts) != 2 || len(b.Contacts) != 1 || len(b.Deals) != 2 {
		t.Fatalf("pulled %d owners, %d accounts, %d contacts, %d deals, rejects %+v; want 2, 2, 1, 2, none",
			len(b.Owners), len(b.Accounts), len(b.Contacts), len(b.Deals), got.Rejects)
	}
	acme, _ := findAccount(b, id("company", 51234))
	want := model.Account{
		Ref:  model.NewRef("sy", testAccount+"-company-51234"),
		Name: "Acme Widgets SAS", Domain: "acme-widgets.fr", OwnerID: id("staff", 4011),
		PrimaryContactID: id("contact", 770501), Lifecycle: model.Customer,
		CreatedAt: time.Date(2022, 3, 14, 9, 2, 11, 0, time.UTC), UpdatedAt: time.Date(2024, 9, 11, 14, 40, 7, 0, time.UTC),
	}
	if acme.Ref != want.Ref || acme.Name != want.Name || acme.Domain != want.Domain || acme.OwnerID != want.OwnerID ||
		acme.PrimaryContactID != want.PrimaryContactID || acme.Lifecycle != want.Lifecycle ||
		!acme.CreatedAt.Equal(want.CreatedAt) || !acme.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("Acme = %+v\nwant %+v", acme, want)
	}
	julien, _ := findContact(b, id("contact", 770501))
	if julien.AccountID != acme.ID || julien.Email != "julien.moreau@acme-widgets.fr" || julien.OptOut || julien.Title != "CFO" ||
		julien.Phone != "+33 6 12 34 56 78" {
		t.Errorf("Julien = %+v; want filed under Acme, subscribed", julien)
	}
	won, _ := findDeal(b, id("opportunity", 300112))
	if !won.Won || won.Amount != 100000 || won.Currency != "EUR" || won.AccountID != acme.ID ||
		!won.ClosedAt.Equal(time.Date(2024, 6, 28, 15, 5, 10, 0, time.UTC)) {
		t.Errorf("won deal = %+v", won)
	}
	open, _ := findDeal(b, id("opportunity", 300140))
	if open.Won || !open.ClosedAt.IsZero() || open.AccountID != id("company", 51299) || open.Amount != 48000 {
		t.Errorf("open deal = %+v", open)
	}
	for _, o := range b.Owners {
		if o.ID == id("staff", 4011) && (o.Name != "Claire Martin" || o.Email != "claire.martin@example-agency.fr") {
			t.Errorf("owner = %+v", o)
		}
	}
}

func TestFakeFullPull(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFull(t, got)
	b := got.Batch
	for _, a := range b.Accounts {
		if a.LastActivityAt.IsZero() || a.OwnerID != id("staff", sellsyfake.StaffActive) || a.PrimaryContactID == "" {
			t.Errorf("account %s = %+v; want a last activity, the owner and a primary contact", a.ID, a)
		}
	}
	optOut := 0
	for _, c := range b.Contacts {
		if c.AccountID == "" {
			t.Errorf("contact %s is filed under no account", c.ID)
		}
		if c.OptOut {
			optOut++
		}
	}
	// Contact k is not subscribed to email when k%3 == 0; individuals are.
	if want := fakeCompanies * fakeContactsPer / 3; optOut != want {
		t.Errorf("%d contacts opted out, want %d", optOut, want)
	}
	// Company 1 (a client) has contacts 1 (its main contact) and 2.
	c1, _ := findAccount(b, id("company", 1))
	k1, _ := findContact(b, id("contact", 1))
	k2, _ := findContact(b, id("contact", 2))
	if c1.Lifecycle != model.Customer || c1.PrimaryContactID != k1.ID || k1.AccountID != c1.ID || k2.AccountID != c1.ID ||
		k1.LastActivityAt.IsZero() {
		t.Errorf("company 1 = %+v, contacts %+v and %+v", c1, k1, k2)
	}
	indi, _ := findAccount(b, id("individual", 1))
	self, _ := findContact(b, id("individual", 1)+"-contact")
	if indi.Name != "Indi1 Vidual" || indi.PrimaryContactID != self.ID || self.AccountID != indi.ID || !self.Primary ||
		self.Email != "individual-000001@mail.example" {
		t.Errorf("individual 1 = %+v, its contact %+v", indi, self)
	}
	wonDeals := 0
	for _, d := range b.Deals {
		if d.Won {
			wonDeals++
		}
	}
	if wonDeals != (fakeCompanies+fakeIndividuals)*fakeDealsPer/2 {
		t.Errorf("%d won deals", wonDeals)
	}
	for _, r := range s.Requests() {
		if q := r.Query; strings.Contains(q, "offset=") {
			v := q[strings.Index(q, "offset=")+len("offset="):]
			v, _, _ = strings.Cut(v, "&")
			if _, err := strconv.Atoi(v); err == nil {
				t.Errorf("request %s?%s uses a numeric offset", r.Path, q)
			}
		}
	}
}

// checkFull checks that a full pull handed over the seeded account.
func checkFull(t *testing.T, got *conntest.Collected) {
	t.Helper()
	b := got.Batch
	accounts := fakeCompanies + fakeIndividuals
	contacts := fakeCompanies*fakeContactsPer + fakeIndividuals
	if len(b.Accounts) != accounts || len(b.Contacts) != contacts || len(b.Deals) != accounts*fakeDealsPer ||
		len(b.Owners) != 2 || len(got.Rejects) != 0 {
		t.Fatalf("pulled %d accounts, %d contacts, %d deals, %d owners, %d rejects; want %d, %d, %d, 2, 0",
			len(b.Accounts), len(b.Contacts), len(b.Deals), len(b.Owners), len(got.Rejects),
			accounts, contacts, accounts*fakeDealsPer)
	}
}

func put(t *testing.T, s *sellsyfake.Server, kind string, n int, fields map[string]any) int {
	t.Helper()
	got, err := s.Put(kind, n, fields)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestIncrementalChangesAndDeletions(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	opts := fakeOptions(s)
	opts.Overlap = time.Second // seeded objects are a minute apart
	c := newConnector(t, opts)
	full, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, sellsyfake.KindCompanies, 3, map[string]any{"name": "Renamed Co"})
	put(t, s, sellsyfake.KindContacts, 5, map[string]any{"is_archived": true})
	put(t, s, sellsyfake.KindIndividuals, 2, map[string]any{"is_archived": true})
	put(t, s, sellsyfake.KindOpportunities, 2, map[string]any{"status": "won"}) // deal 2 was open
	newCo := put(t, s, sellsyfake.KindCompanies, 0, map[string]any{"type": "prospect", "name": "New Co", "owner": map[string]any{"id": 4011, "type": "staff"}})
	newDeal := put(t, s, sellsyfake.KindOpportunities, 0, map[string]any{"name": "New deal", "status": "open", "company_id": newCo,
		"created": sellsyfake.Stamp(time.Now()), "amount": map[string]any{"value": "10.00", "currency": "EUR"}})
	if err := s.Delete(sellsyfake.KindCompanies, 4); err != nil {
		t.Fatal(err)
	}
	s.ResetLog()
	got, err := conntest.Pull(c, full.Last())
	if err != nil {
		t.Fatal(err)
	}
	b := got.Batch
	renamed, ok := findAccount(b, id("company", 3))
	if !ok || renamed.Name != "Renamed Co" || renamed.LastActivityAt.IsZero() {
		t.Errorf("renamed company = %+v (found %v); want it with its last activity", renamed, ok)
	}
	if _, ok := findAccount(b, id("company", newCo)); !ok {
		t.Error("the new company is missing")
	}
	if d, ok := findDeal(b, id("opportunity", 2)); !ok || !d.Won || d.ClosedAt.IsZero() {
		t.Errorf("deal 2 won = %+v (found %v)", d, ok)
	}
	if _, ok := findDeal(b, id("opportunity", newDeal)); !ok {
		t.Error("the new deal is missing")
	}
	wantGone := map[string]bool{id("contact", 5): true, id("individual", 2): true, id("individual", 2) + "-contact": true}
	for _, d := range b.Deleted {
		delete(wantGone, d.ID)
	}
	if len(wantGone) != 0 {
		t.Errorf("deletions %+v; missing %v", b.Deleted, wantGone)
	}
	// 4 records changed; each stream also reads again its newest object
	// (the overlap is inclusive): company 30, individual 6 and its
	// contact, contact 60 and opportunity 71.
	if n := len(b.Accounts) + len(b.Contacts) + len(b.Deals); n != 9 {
		t.Errorf("incremental pull handed %d records for 4 changes, want 9: %v", n, ids(b))
	}
	// A hard delete is invisible to the updated filters: only the
	// periodic full read (TestPeriodicFullReadSweepsRedis) removes it.
	for _, d := range b.Deleted {
		if d.ID == id("company", 4) {
			t.Error("company 4's hard delete was reported by a search")
		}
	}
}

// TestWonAmountRescan: an amount edit moves no date Sellsy filters
// opportunities on; the rescan of recent status changes catches it, and
// without the rescan it is missed (until the next full read) once a later
// status change has moved the watermark past the win.
func TestWonAmountRescan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rescan time.Duration
		caught bool
	}{{"rescan", 0, true}, {"no rescan", -1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			// The clock stands still between steps: no quota window ends.
			s := seededFake(t, sellsyfake.Options{Now: clk.Now, SecondQuota: 1e6, MinuteQuota: 1e6})
			opts := fakeOptions(s)
			opts.WonRescan, opts.Now = tc.rescan, clk.Now
			c := newConnector(t, opts)
			full, err := conntest.Pull(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			put(t, s, sellsyfake.KindOpportunities, 4, map[string]any{"status": "won"})
			won, err := conntest.Pull(c, full.Last())
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := findDeal(won.Batch, id("opportunity", 4)); !ok || !d.Won {
				t.Fatalf("deal 4 after its win = %+v (found %v)", d, ok)
			}
			clk.Add(10 * time.Minute)
			put(t, s, sellsyfake.KindOpportunities, 6, map[string]any{"status": "won"})
			later, err := conntest.Pull(c, won.Last())
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(10 * time.Minute)
			put(t, s, sellsyfake.KindOpportunities, 4, map[string]any{"amount": map[string]any{"value": "99999.00", "currency": "EUR"}})
			after, err := conntest.Pull(c, later.Last())
			if err != nil {
				t.Fatal(err)
			}
			d, ok := findDeal(after.Batch, id("opportunity", 4))
			if caught := ok && d.Amount == 99999; caught != tc.caught {
				t.Errorf("amount edit caught = %v (deal %+v), want %v", caught, d, tc.caught)
			}
		})
	}
}
