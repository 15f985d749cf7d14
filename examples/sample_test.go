package examples_test

import (
	"cmp"
	"context"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/csv"
	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/model"
)

// loadSample pulls the bundled sample through the csv connector.
func loadSample(t *testing.T) connectors.Page {
	t.Helper()
	fsys, err := fs.Sub(examples.Sample, "sample")
	if err != nil {
		t.Fatal(err)
	}
	return pullAll(t, csv.New("sample", fsys, nil))
}

// pullAll pulls every file of c into one page.
func pullAll(t *testing.T, c *csv.Connector) connectors.Page {
	t.Helper()
	var all connectors.Page
	err := c.Pull(t.Context(), nil, func(_ context.Context, p connectors.Page) error {
		all.Accounts = append(all.Accounts, p.Accounts...)
		all.Contacts = append(all.Contacts, p.Contacts...)
		all.Deals = append(all.Deals, p.Deals...)
		all.Owners = append(all.Owners, p.Owners...)
		all.Rejects = append(all.Rejects, p.Rejects...)
		return nil
	})
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	return all
}

func TestSampleCounts(t *testing.T) {
	all := loadSample(t)
	tests := []struct {
		name     string
		got      int
		min, max int
	}{
		{"owners", len(all.Owners), 25, 25},
		{"accounts", len(all.Accounts), 3000, 3000},
		{"contacts", len(all.Contacts), 6000, 7500},
		{"deals", len(all.Deals), 5000, 15000},
	}
	for _, tt := range tests {
		if tt.got < tt.min || tt.got > tt.max {
			t.Errorf("%s: %d, want %d to %d", tt.name, tt.got, tt.min, tt.max)
		}
	}
}

func TestSampleRejectsExactlyThePlantedRows(t *testing.T) {
	all := loadSample(t)
	var got [][3]string
	for _, r := range all.Rejects {
		got = append(got, [3]string{r.Entity, r.Where, r.Reason})
	}
	// The connector pages accounts with their contacts and deals: rejects
	// come in that order, not file by file.
	slices.SortFunc(got, func(a, b [3]string) int { return strings.Compare(a[1], b[1]) })
	want := [][3]string{
		{"account", "accounts.csv:" + lineOf(t, "accounts.csv", "A03001,"),
			`created_at: invalid date "31/12/2024" (want YYYY-MM-DD or RFC 3339)`},
		{"contact", "contacts.csv:" + lineOf(t, "contacts.csv", "marie.dupont.example.com"),
			`email: invalid address "marie.dupont.example.com"`},
		{"deal", "deals.csv:" + lineOf(t, "deals.csv", `"1.234,56"`),
			`amount: invalid number "1.234,56" (want digits with an optional '.' decimal separator)`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rejects:\n got %q\nwant %q", got, want)
	}
}

// lineOf returns the number of the physical line of a sample file that
// contains s, counting lines the way an editor does.
func lineOf(t *testing.T, file, s string) string {
	t.Helper()
	data, err := os.ReadFile("sample/" + file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("%q not in %s", s, file)
	return ""
}

// stats are the portfolio figures the demo relies on, computed as the
// design defines them at examples.SampleAsOf.
type stats struct {
	customers    int
	inactive90   int     // customers with days_inactive >= 90 (a purchase is activity)
	withRevenue  int     // accounts with revenue_12m > 0
	classA       int     // ABC class A accounts
	top20Share   float64 // share of revenue_12m made by the top 20% of accounts with revenue
	aQuiet60to89 int     // class A accounts inactive 60 to 89 days
	aDeclining   int     // class A accounts with revenue_trend < 0.5
}

func computeStats(all connectors.Page, now time.Time) stats {
	rev, prev := map[string]float64{}, map[string]float64{}
	active := map[string]time.Time{} // latest activity or purchase, by account
	for _, d := range all.Deals {
		if d.Won && !d.ClosedAt.After(now) && d.ClosedAt.After(active[d.AccountID]) {
			active[d.AccountID] = d.ClosedAt // a purchase is activity
		}
		switch age := now.Sub(d.ClosedAt); {
		case !d.Won || age < 0:
		case age < 365*24*time.Hour:
			rev[d.AccountID] += d.Amount
		case age < 730*24*time.Hour:
			prev[d.AccountID] += d.Amount
		}
	}
	for _, c := range all.Contacts {
		if c.LastActivityAt.After(active[c.AccountID]) {
			active[c.AccountID] = c.LastActivityAt
		}
	}
	inactive := func(a model.Account) int {
		last := a.LastActivityAt
		if active[a.ID].After(last) {
			last = active[a.ID]
		}
		if last.IsZero() {
			last = a.CreatedAt
		}
		return int(now.Sub(last) / (24 * time.Hour))
	}
	var s stats
	for _, a := range all.Accounts {
		if a.Lifecycle == model.Customer {
			s.customers++
			if inactive(a) >= 90 {
				s.inactive90++
			}
		}
	}
	ranked := slices.Clone(all.Accounts)
	ranked = slices.DeleteFunc(ranked, func(a model.Account) bool { return rev[a.ID] <= 0 })
	slices.SortFunc(ranked, func(a, b model.Account) int {
		return cmp.Or(cmp.Compare(rev[b.ID], rev[a.ID]), cmp.Compare(a.ID, b.ID))
	})
	total := 0.0
	for _, a := range ranked {
		total += rev[a.ID]
	}
	s.withRevenue = len(ranked)
	before := 0.0
	for i, a := range ranked {
		if i < len(ranked)/5 {
			s.top20Share += rev[a.ID] / total
		}
		if before/total < 0.80 {
			s.classA++
			if d := inactive(a); d >= 60 && d < 90 {
				s.aQuiet60to89++
			}
			if prev[a.ID] > 0 && rev[a.ID]/prev[a.ID] < 0.5 {
				s.aDeclining++
			}
		}
		before += rev[a.ID]
	}
	return s
}

func TestSampleShape(t *testing.T) {
	s := computeStats(loadSample(t), examples.SampleAsOf)
	t.Logf("%+v", s)
	checks := []struct {
		name     string
		got      float64
		min, max float64
	}{
		{"share of revenue_12m from the top 20%", s.top20Share, 0.70, 0.90},
		{"share of accounts with revenue in class A", float64(s.classA) / float64(s.withRevenue), 0.10, 0.30},
		// The generator makes ~17% of customers quiet for 90 days or more
		// without looking at their deals, and a purchase is activity: over
		// 40% of those bought since, which leaves ~9.5% inactive.
		{"share of customers inactive 90 days or more", float64(s.inactive90) / float64(s.customers), 0.08, 0.12},
		{"class A accounts inactive 60 to 89 days", float64(s.aQuiet60to89), 10, 200},
		{"class A accounts declining sharply", float64(s.aDeclining), 10, 200},
	}
	for _, c := range checks {
		if c.got < c.min || c.got > c.max {
			t.Errorf("%s = %.3f, want %.2f to %.2f", c.name, c.got, c.min, c.max)
		}
	}
}

func TestSampleKeepsHostileNames(t *testing.T) {
	all := loadSample(t)
	names := map[string]bool{}
	for _, a := range all.Accounts {
		names[a.Name] = true
	}
	for _, o := range all.Owners {
		names[o.Name] = true
	}
	for _, want := range []string{"<script>alert(1)</script> GmbH", "<!channel> Corp", "Smith & Sons <b>",
		"*Bold* Ltd", `"Quoted" SA`, "Müller & Söhne", "Eve <!channel>", "Bob *bold* & co"} {
		if !names[want] {
			t.Errorf("name %q missing from the sample", want)
		}
	}
}
