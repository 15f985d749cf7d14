package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
)

func TestMonthBounds(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		month, now time.Time
		loc        *time.Location
		start, end string
	}{
		{"last complete month", time.Time{}, time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC), time.UTC, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"first day of a month", time.Time{}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.UTC, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"already January in Paris", time.Time{}, time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC), paris, "2025-12-01T00:00:00+01:00", "2026-01-01T00:00:00+01:00"},
		{"a month given", time.Date(2026, 3, 1, 0, 0, 0, 0, paris), time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), paris, "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00"},
	}
	for _, tt := range tests {
		start, end := MonthBounds(tt.month, tt.now, tt.loc)
		if got := [2]string{start.Format(time.RFC3339), end.Format(time.RFC3339)}; got != [2]string{tt.start, tt.end} {
			t.Errorf("%s: %v, want [%s %s]", tt.name, got, tt.start, tt.end)
		}
	}
}

// TestAtRiskByOwner: flagged accounts the filter selects, grouped by
// owner, the owner with the most revenue at risk first.
func TestAtRiskByOwner(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	acct := func(id, owner string, amount float64) model.Client {
		c := model.Client{Account: model.Account{Ref: model.NewRef("crm", id), Name: "Acme " + id, OwnerID: owner, Lifecycle: model.Customer},
			Deals: []model.Deal{{Won: true, Amount: amount, ClosedAt: now.AddDate(0, -2, 0)}}}
		if owner != "" {
			c.Owner = &model.Owner{Name: "Rep " + owner, Email: owner + "@example.com"}
		}
		return c
	}
	p := insights.NewPortfolio(now, rules.DefaultSegmentation(), []model.Client{
		acct("1", "ann", 100), acct("2", "ann", 300), acct("3", "bob", 1000), acct("4", "", 50), acct("5", "bob", 5000),
	})
	flagged := map[string][]string{"crm:1": {"r1"}, "crm:2": {"r1", "r2"}, "crm:3": {"r2"}, "crm:4": {"r1"}}
	days := map[string]int{"crm:1": 91, "crm:2": 120, "crm:3": 60, "crm:4": 400}
	at := func(id string, rev float64, class string, rules ...string) AtRiskAccount {
		return AtRiskAccount{ID: "crm:" + id, Name: "Acme " + id, Class: class, Revenue12m: rev, DaysInactive: days["crm:"+id], Rules: rules}
	}
	tests := []struct {
		filter insights.Filter
		want   []OwnerAtRisk
	}{
		{insights.Filter{}, []OwnerAtRisk{
			{Owner: "Rep bob", Email: "bob@example.com", Revenue: 1000, Accounts: []AtRiskAccount{at("3", 1000, "A", "r2")}},
			{Owner: "Rep ann", Email: "ann@example.com", Revenue: 400, Accounts: []AtRiskAccount{at("2", 300, "B", "r1", "r2"), at("1", 100, "C", "r1")}},
			{Owner: "", Revenue: 50, Accounts: []AtRiskAccount{at("4", 50, "C", "r1")}},
		}},
		{insights.Filter{Owner: "ann"}, []OwnerAtRisk{
			{Owner: "Rep ann", Email: "ann@example.com", Revenue: 400, Accounts: []AtRiskAccount{at("2", 300, "B", "r1", "r2"), at("1", 100, "C", "r1")}},
		}},
		{insights.Filter{Class: "A", Owner: "ann"}, []OwnerAtRisk{}},
	}
	for _, tt := range tests {
		got := atRiskByOwner(p, tt.filter, flagged, days)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("filter %+v:\n%+v\nwant\n%+v", tt.filter, got, tt.want)
		}
	}
}

// TestMonthlyOnDemo: on the demo's sample, the review reads the portfolio
// as the pass did (same accounts and classes as the pass report at the
// same instant), counts as at risk the accounts the rules' flags hold,
// and takes the activity series from the month's snapshots.
func TestMonthlyOnDemo(t *testing.T) {
	a := startApp(t, demoOnRedis(t, ""))
	runDemo(t, a, 1)
	ctx := t.Context()
	flagged, err := a.flaggedNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := a.portfolioAt(ctx, examples.SampleAsOf, examples.SampleAsOf, flagged)
	if err != nil {
		t.Fatal(err)
	}
	_, data, err := a.Store.Passes.LatestReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Accounts int
		ABC      map[string]struct {
			Accounts int
			Revenue  float64 `json:"revenue_12m"`
		}
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	fig := p.Compute(insights.Filter{}, nil)
	if fig.Accounts != rep.Accounts {
		t.Errorf("accounts %d, the pass read %d", fig.Accounts, rep.Accounts)
	}
	for _, c := range fig.ABC {
		if r := rep.ABC[c.Class]; c.Accounts != r.Accounts || math.Abs(c.Revenue-r.Revenue) > 1e-6 {
			t.Errorf("class %s: %d accounts, %.2f; the pass: %d, %.2f", c.Class, c.Accounts, c.Revenue, r.Accounts, r.Revenue)
		}
	}
	// Snapshots of October for three accounts, two inactive for 90 days.
	snaps := store.SnapshotMonth{Rules: a.RuleNames(), Accounts: map[string][]byte{}}
	for i, days := range []int{95, 10, 400} {
		f := p.Accounts[i].Features
		f.DaysInactive = days
		b, _ := insights.NewSnapshot(p.Accounts[i].Lifecycle, &f, 0).MarshalBinary()
		snaps.Accounts[p.Accounts[i].ID] = b
	}
	if err := a.Store.Passes.SaveSnapshots(ctx, "2026-10", snaps); err != nil {
		t.Fatal(err)
	}
	m, err := a.Monthly(ctx, MonthlyOptions{Month: time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC), Now: examples.SampleAsOf})
	if err != nil {
		t.Fatal(err)
	}
	if len(flagged) == 0 || m.Portfolio.AtRisk != len(flagged) {
		t.Errorf("at risk: %d accounts, the flags hold %d", m.Portfolio.AtRisk, len(flagged))
	}
	atRisk := 0
	for _, g := range m.AtRisk {
		atRisk += len(g.Accounts)
	}
	if atRisk != len(flagged) {
		t.Errorf("at risk by owner: %d accounts, want %d", atRisk, len(flagged))
	}
	if ev := m.Evolution; len(ev) != 2 || ev[0].Month != "2026-09" || ev[0].HasSnapshots || !ev[1].HasSnapshots || ev[1].Snapshots != 3 || ev[1].Inactive90 != 2 {
		t.Errorf("evolution: %+v", ev)
	}
	var out bytes.Buffer
	if err := PrintMonthly(&out, m, "xml", a.ReportOptions()); err == nil {
		t.Error("format xml: no error")
	}
	if _, err := a.Monthly(ctx, MonthlyOptions{Now: examples.SampleAsOf, Month: examples.SampleAsOf}); err == nil {
		t.Error("the month of now: no error")
	}
}

// portfolioAt reads the portfolio as a pass does and scores it at t, held
// in memory (the oracle the streaming review is checked against); it
// also returns the days_inactive at now of the accounts in flagged.
func (a *App) portfolioAt(ctx context.Context, t, now time.Time, flagged map[string][]string) (*insights.Portfolio, map[string]int, error) {
	view, err := a.Handlers.Evaluate.Portfolio(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("monthly review: %w", err)
	}
	b := insights.NewBuilder(t, a.Rules.Segmentation)
	daysNow := map[string]int{}
	err = view.EachClient(ctx, 500, func(c model.Client) error {
		b.Add(&c)
		if _, ok := flagged[c.Account.ID]; ok {
			daysNow[c.Account.ID] = rules.Compute(now, &c).DaysInactive
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("monthly review: reading the portfolio: %w", err)
	}
	return b.Portfolio(), daysNow, nil
}

// atRiskByOwner groups the accounts of p (in memory) that f selects and
// that are flagged by owner,
// the owner with the most revenue at risk first, each owner's accounts by
// revenue_12m descending; daysNow gives their days_inactive now.
func atRiskByOwner(p *insights.Portfolio, f insights.Filter, flagged map[string][]string, daysNow map[string]int) []OwnerAtRisk {
	risk := newAtRisk(f, flagged)
	for i := range p.Accounts {
		if acc := &p.Accounts[i]; risk.wants(acc) {
			risk.add(acc, daysNow[acc.ID])
		}
	}
	return risk.groups()
}
