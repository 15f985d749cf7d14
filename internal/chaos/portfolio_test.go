package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/hubspotfake"
	"github.com/crmsync/crmsync/internal/slackfake"
)

// portfolio describes a deterministic client portfolio. Two HubSpot
// fakes seeded with one portfolio hold the same records under the same
// ids, so a chaos run and its reference sync the same data.
//
// A third of the companies have been quiet for 95 days or more (the
// quiet-customer rule emails their primary contact and nudges their
// owner), one in six for 62 to 86 days (the A-class ones among them fire
// key-account-drifting, which depends on the ABC ranking of the whole
// portfolio), the others had activity in the last three weeks. Won deals
// of varied amounts closed within the year; one company in ten is a lead,
// not a customer.
type portfolio struct {
	Label     string // company names start with it: tells two deployments' messages apart
	Companies int
	Contacts  int // per company
	Deals     int // per company
	Owners    int
}

// key names the portfolio among those of a run.
func (p portfolio) key() string {
	return fmt.Sprintf("%s-%d-%d-%d-%d", p.Label, p.Companies, p.Contacts, p.Deals, p.Owners)
}

// pages returns the number of list pages (100 records) of each kind a
// full sync of p reads.
func (p portfolio) pages(kind hubspotfake.Kind) int {
	n := p.Companies
	switch kind {
	case hubspotfake.Contacts:
		n *= p.Contacts
	case hubspotfake.Deals:
		n *= p.Deals
	}
	return (n + 99) / 100
}

// mainPortfolio is the portfolio most scenarios sync.
func mainPortfolio() portfolio {
	if full() {
		return portfolio{Label: "Alpha", Companies: 1500, Contacts: 3, Deals: 2, Owners: 30}
	}
	return portfolio{Label: "Alpha", Companies: 240, Contacts: 2, Deals: 2, Owners: 40}
}

// ownerEmail is the address of owner k, also the rep's Slack account.
func (p portfolio) ownerEmail(k int) string {
	return fmt.Sprintf("rep%02d@%s-sales.example", k, strings.ToLower(p.Label))
}

func ownerID(k int) string { return strconv.Itoa(71000000 + k) }

func slackUser(k int) string { return fmt.Sprintf("U%07d", k+1) }

// quiet reports whether company i has been quiet for 95 days or more.
func quiet(i int) bool { return i%3 == 1 }

// cooling reports whether company i has been quiet for 62 to 86 days.
func cooling(i int) bool { return i%6 == 5 }

// activity is the latest activity on company i.
func activity(i int) time.Time {
	switch {
	case quiet(i):
		return seedNow.AddDate(0, 0, -(95 + i%150))
	case cooling(i):
		return seedNow.AddDate(0, 0, -(62 + i%25))
	}
	return seedNow.AddDate(0, 0, -(3 + i%20))
}

// closed is when deal j of company i closed: before its last activity
// unless the company is active.
func closed(i, j int) time.Time {
	if quiet(i) || cooling(i) {
		return seedNow.AddDate(0, 0, -(100 + (i*7+j*13)%200))
	}
	return seedNow.AddDate(0, 0, -(10 + j*30))
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// seedHubSpot fills hs with p, in an order that gives every record the
// same id in every fake. Records were last modified two days ago, before
// any sync of the run.
func seedHubSpot(hs *hubspotfake.Server, p portfolio) {
	for k := range p.Owners {
		hs.AddOwner(hubspotfake.Owner{ID: ownerID(k), Email: p.ownerEmail(k), FirstName: "Rep", LastName: fmt.Sprintf("%s %02d", p.Label, k), UserID: 3000000 + k})
	}
	modified := seedNow.Add(-48 * time.Hour)
	seq := 0
	next := func() time.Time { seq++; return modified.Add(time.Duration(seq) * time.Millisecond) }
	for i := range p.Companies {
		stage := "customer"
		if i%10 == 9 {
			stage = "lead"
		}
		slug := fmt.Sprintf("%s-%04d", strings.ToLower(p.Label), i)
		cid := hs.Put(hubspotfake.Companies, hubspotfake.Object{
			Properties: map[string]string{
				"name":               fmt.Sprintf("%s %04d", p.Label, i),
				"domain":             slug + ".example",
				"hubspot_owner_id":   ownerID(i % p.Owners),
				"lifecyclestage":     stage,
				"notes_last_updated": iso(activity(i)),
			},
			CreatedAt: seedNow.AddDate(-3, 0, 0),
			Modified:  next(),
		})
		for j := range p.Contacts {
			hs.Put(hubspotfake.Contacts, hubspotfake.Object{
				Properties: map[string]string{
					"firstname":          fmt.Sprintf("Buyer%d", j),
					"lastname":           fmt.Sprintf("%s%04d", p.Label, i),
					"email":              fmt.Sprintf("buyer%d@%s.example", j, slug),
					"jobtitle":           "Buyer",
					"hs_email_optout":    "false",
					"lifecyclestage":     stage,
					"notes_last_updated": iso(activity(i).AddDate(0, 0, -j)),
				},
				CreatedAt: seedNow.AddDate(-2, 0, 0),
				Modified:  next(),
				Companies: []hubspotfake.Association{{CompanyID: cid, Primary: true}},
			})
		}
		for j := range p.Deals {
			won := j == 0 || i%4 != 0
			closed := closed(i, j)
			hs.Put(hubspotfake.Deals, hubspotfake.Object{
				Properties: map[string]string{
					"dealname":           fmt.Sprintf("%s %04d deal %d", p.Label, i, j),
					"amount":             strconv.Itoa(500 * ((i*37+j*11)%60 + 1)),
					"deal_currency_code": "USD",
					"hs_is_closed_won":   strconv.FormatBool(won),
					"hs_is_closed":       "true",
					"closedate":          iso(closed),
					"dealstage":          map[bool]string{true: "closedwon", false: "closedlost"}[won],
					"pipeline":           "default",
				},
				CreatedAt: closed.AddDate(0, -2, 0),
				Modified:  next(),
				Companies: []hubspotfake.Association{{CompanyID: cid, Primary: true}},
			})
		}
	}
}

// addSlackUsers gives every owner of p a Slack account in sl.
func addSlackUsers(sl *slackfake.Server, p portfolio) {
	for k := range p.Owners {
		sl.AddUser(p.ownerEmail(k), slackUser(k), false)
	}
	sl.AddChannels(fallbackChannel)
}

// writeCSV writes p as the four files of a csv source into dir. broken
// lists rows of accounts.csv (0-based, header excluded) written with an
// unterminated quote in their name.
func writeCSV(t *testing.T, dir string, p portfolio, broken ...int) {
	t.Helper()
	write := func(name string, rows []string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	owners := []string{"id,name,email"}
	for k := range p.Owners {
		owners = append(owners, fmt.Sprintf("O%02d,Rep %s %02d,%s", k, p.Label, k, p.ownerEmail(k)))
	}
	accounts := []string{"id,name,owner_id,lifecycle,domain,created_at,last_activity_at"}
	contacts := []string{"id,account_id,first_name,last_name,email,opt_out,last_activity_at"}
	deals := []string{"id,account_id,name,amount,currency,won,closed_at"}
	for i := range p.Companies {
		slug := fmt.Sprintf("%s-%04d", strings.ToLower(p.Label), i)
		name := fmt.Sprintf("%s %04d", p.Label, i)
		if slices.Contains(broken, i) {
			name = `"` + name + ` (unterminated`
		}
		stage := "customer"
		if i%10 == 9 {
			stage = "prospect"
		}
		accounts = append(accounts, fmt.Sprintf("A%04d,%s,O%02d,%s,%s.example,%s,%s",
			i, name, i%p.Owners, stage, slug, seedNow.AddDate(-3, 0, 0).Format(time.DateOnly), iso(activity(i))))
		for j := range p.Contacts {
			contacts = append(contacts, fmt.Sprintf("C%04d-%d,A%04d,Buyer%d,%s%04d,buyer%d@%s.example,false,%s",
				i, j, i, j, p.Label, i, j, slug, iso(activity(i).AddDate(0, 0, -j))))
		}
		for j := range p.Deals {
			deals = append(deals, fmt.Sprintf("D%04d-%d,A%04d,%s %04d deal %d,%d,USD,%t,%s",
				i, j, i, p.Label, i, j, 500*((i*37+j*11)%60+1), j == 0 || i%4 != 0, iso(closed(i, j))))
		}
	}
	write("owners.csv", owners)
	write("accounts.csv", accounts)
	write("contacts.csv", contacts)
	write("deals.csv", deals)
}
