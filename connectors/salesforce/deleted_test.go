package salesforce

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/salesforcefake"
	"github.com/crmsync/crmsync/model"
)

func TestPullRemovesDeletedAndMergedRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(10, 2, 1)
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("full Pull: %v", err)
	}
	e.clock.Add(10 * time.Minute)
	accts, contacts, opps := e.fake.IDs("Account"), e.fake.IDs("Contact"), e.fake.IDs("Opportunity")
	winner, loser := accts[0], accts[1]
	e.fake.Delete("Contact", contacts[9])
	e.fake.Delete("Opportunity", opps[7])
	e.fake.Merge("Account", winner, loser)
	e.clock.Add(5 * time.Minute)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("incremental Pull: %v", err)
	}
	want := []model.Deletion{
		{Entity: model.EntityAccount, ID: "sf:" + loser},
		{Entity: model.EntityContact, ID: "sf:" + contacts[9]},
		{Entity: model.EntityDeal, ID: "sf:" + opps[7]},
	}
	if !slices.Equal(p.deleted, want) {
		t.Errorf("deleted = %v, want %v", p.deleted, want)
	}
	requireSame(t, e.fake, p)
	moved := 0
	for _, c := range p.contacts {
		if c.AccountID == "sf:"+loser {
			t.Errorf("contact %s still on the merged-away account", c.ID)
		}
		if c.AccountID == "sf:"+winner {
			moved++
		}
	}
	if moved != 4 {
		t.Errorf("contacts on the winner = %d, want its 2 and the loser's 2", moved)
	}
	if got := p.wm["Account.deleted"]; got != "2026-11-22T09:15:00.000+0000" {
		t.Errorf("Account.deleted = %q, want the latest date covered", got)
	}
	// The deleted resource was asked from the start of the full sync.
	for _, r := range e.fake.Requests() {
		if r.Kind == salesforcefake.KindDeleted && r.Query.Get("start") != "2026-11-22T09:00:00+00:00" {
			t.Errorf("deleted asked from %q", r.Query.Get("start"))
		}
	}
}

func TestPullSkipsDeletionChecksUnderTwoMinutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(3, 1, 1)
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count(salesforcefake.KindDeleted); n != 0 {
		t.Errorf("deleted requests = %d; Salesforce refuses windows of a minute or less", n)
	}
}

func TestPullClampsTheDeletionWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(3, 1, 1)
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(40 * 24 * time.Hour) // the last sync was 40 days ago
	gone := e.fake.IDs("Contact")[0]
	e.fake.Delete("Contact", gone)
	e.clock.Add(time.Hour)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if !slices.Contains(p.deleted, model.Deletion{Entity: model.EntityContact, ID: "sf:" + gone}) {
		t.Errorf("deleted = %v, want %s", p.deleted, gone)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "last 30 days only") || !strings.Contains(logs, "crmsync sync --full") {
		t.Errorf("no warning recommending a full sync: %s", logs)
	}
}

func TestPullStartsAfterAPurgedDeleteLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(3, 1, 1)
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	e.fake.SetEarliestDeleted("Contact", e.clock.Now().Add(-10*time.Minute))
	gone := e.fake.IDs("Contact")[1]
	e.fake.Delete("Contact", gone)
	e.clock.Add(5 * time.Minute)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if !slices.Contains(p.deleted, model.Deletion{Entity: model.EntityContact, ID: "sf:" + gone}) {
		t.Errorf("deleted = %v, want %s", p.deleted, gone)
	}
	// Refused, probed, asked again from the earliest date available.
	var starts []string
	for _, r := range e.fake.Requests() {
		if r.Kind == salesforcefake.KindDeleted && strings.Contains(r.Path, "/Contact/") {
			starts = append(starts, r.Query.Get("start"))
		}
	}
	want := []string{"2026-11-22T09:00:00+00:00", "2026-11-22T10:00:00+00:00", "2026-11-22T09:51:00+00:00"}
	if !slices.Equal(starts, want) {
		t.Errorf("Contact deleted starts = %v, want %v", starts, want)
	}
	if !strings.Contains(e.logs.String(), "purged its delete log") {
		t.Errorf("no warning about the purge: %s", e.logs)
	}
}
