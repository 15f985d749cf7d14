package salesforce

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/salesforcefake"
)

// synced returns an env whose org (accounts with a contact each) a
// portfolio holds after a full sync, an hour before the env's clock.
func synced(t *testing.T, fo salesforcefake.Options, accounts int) (*env, *portfolio) {
	t.Helper()
	e := newEnv(t, fo)
	e.fake.Seed(accounts, 1, 0)
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("full Pull: %v", err)
	}
	e.clock.Add(time.Hour)
	e.fake.ResetLog()
	return e, p
}

// stamp returns the SystemModstamp of a record of the fake.
func stamp(t *testing.T, fake *salesforcefake.Server, sobject, id string) any {
	t.Helper()
	f, ok := fake.Get(sobject, id)
	if !ok {
		t.Fatalf("%s %s not in the org", sobject, id)
	}
	return f["SystemModstamp"]
}

// entityOf returns c's entity of sobject.
func entityOf(c *Connector, sobject string) *entity {
	for _, e := range c.entities {
		if e.sobject == sobject {
			return e
		}
	}
	panic("no entity " + sobject)
}

// pulled returns the external ids of the accounts and contacts in pages.
func pulled(pages []connectors.Page) (accounts, contacts []string) {
	for _, pg := range pages {
		for _, a := range pg.Accounts {
			accounts = append(accounts, strings.TrimPrefix(a.ID, "sf:"))
		}
		for _, c := range pg.Contacts {
			contacts = append(contacts, strings.TrimPrefix(c.ID, "sf:"))
		}
	}
	return accounts, contacts
}

// queriesOf returns the queries sent of an sObject, by Id or not.
func queriesOf(fake *salesforcefake.Server, sobject string, byID bool) []string {
	var out []string
	for _, q := range fake.Queries() {
		if strings.Contains(q, " FROM "+sobject+" ") && strings.Contains(q, " WHERE Id IN (") == byID {
			out = append(out, q)
		}
	}
	return out
}

func TestPullReadsAgainWhatActivitiesChanged(t *testing.T) {
	t.Parallel()
	const lead = "00Q5g00000AbCdEAAV"
	tests := []struct {
		name        string
		sobject     string
		account     bool // log on the account
		who         string
		wantContact bool
	}{
		{"task on account and contact", "Task", true, "contact", true},
		{"event on account and contact", "Event", true, "contact", true},
		{"task with a contact only", "Task", false, "contact", true},
		{"task with a lead", "Task", true, lead, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, p := synced(t, salesforcefake.Options{}, 20)
			acct, contact := e.fake.IDs("Account")[4], e.fake.IDs("Contact")[4]
			before := []any{stamp(t, e.fake, "Account", acct), stamp(t, e.fake, "Contact", contact)}
			on, who := "", tt.who
			if tt.account {
				on = acct
			}
			if who == "contact" {
				who = contact
			}
			at := e.clock.Now().Add(-10 * time.Minute)
			e.fake.LogActivity(tt.sobject, on, who, at)
			// Only the activity can tell: the records' stamps did not move.
			if after := []any{stamp(t, e.fake, "Account", acct), stamp(t, e.fake, "Contact", contact)}; !slices.Equal(before, after) {
				t.Fatalf("SystemModstamps moved from %v to %v", before, after)
			}
			n := len(p.pages)
			if err := p.pull(t.Context(), e.connector(t)); err != nil {
				t.Fatalf("incremental Pull: %v", err)
			}
			accounts, contacts := pulled(p.pages[n:])
			wantContacts := []string{contact}
			if !tt.wantContact {
				wantContacts = nil
			}
			if !equal(accounts, []string{acct}) || !equal(contacts, wantContacts) {
				t.Errorf("pulled accounts %v, contacts %v; want %v, %v", accounts, contacts, []string{acct}, wantContacts)
			}
			day := at.Truncate(24 * time.Hour)
			if got := p.accounts["sf:"+acct].LastActivityAt; !got.Equal(day) {
				t.Errorf("account LastActivityAt = %v, want %v", got, day)
			}
			if got := p.contacts["sf:"+contact].LastActivityAt; tt.wantContact && !got.Equal(day) {
				t.Errorf("contact LastActivityAt = %v, want %v", got, day)
			}
			// The activity, stamped now, lies past the horizon: the position saved is the horizon.
			if horizon := formatDatetime(e.clock.Now().Add(-DefaultOverlap)); p.wm[tt.sobject+".id"] != nullID || p.wm[tt.sobject+".ts"] != horizon {
				t.Errorf("watermark %s.ts/id = %s/%s, want %s/%s", tt.sobject, p.wm[tt.sobject+".ts"], p.wm[tt.sobject+".id"],
					horizon, nullID)
			}
			if q := queriesOf(e.fake, "Contact", true); len(q) != len(wantContacts) {
				t.Errorf("contact queries by Id: %q", q)
			}
			// The same fields as the account phase's, mapping included.
			keyset, _ := entityOf(e.connector(t), "Account").soql(nil)
			fields, _, _ := strings.Cut(keyset, " ORDER BY")
			if q := queriesOf(e.fake, "Account", true); len(q) != 1 || q[0] != fields+" WHERE Id IN ('"+acct+"')" {
				t.Errorf("account queries by Id: %q", q)
			}
		})
	}
}

func TestPullWithoutActivityWatermarkSkipsTheirHistory(t *testing.T) {
	t.Parallel()
	e, p := synced(t, salesforcefake.Options{}, 5)
	acct := e.fake.IDs("Account")[0]
	e.fake.LogActivity("Task", acct, "", e.clock.Now().Add(-30*time.Minute)) // history, an hour after the full sync
	e.clock.Add(time.Hour)
	old := p.wm.Clone() // the watermark of a version without activities
	for _, k := range []string{"Task.ts", "Task.id", "Event.ts", "Event.id"} {
		delete(old, k)
	}
	p.wm = old
	n := len(p.pages)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if accounts, _ := pulled(p.pages[n:]); len(accounts) != 0 {
		t.Errorf("accounts read again: %v", accounts)
	}
	from := e.clock.Now().Add(-activityMargin).Format(soqlLiteral)
	for _, obj := range []string{"Task", "Event"} {
		want := "SELECT Id, AccountId, WhoId, SystemModstamp FROM " + obj + " WHERE SystemModstamp > " + from +
			" OR (SystemModstamp = " + from + " AND Id > '" + nullID + "') ORDER BY SystemModstamp ASC, Id ASC"
		if q := queriesOf(e.fake, obj, false); len(q) != 1 || q[0] != want {
			t.Errorf("%s queries = %q, want %q", obj, q, want)
		}
	}
	if q := queriesOf(e.fake, "Account", true); len(q) != 0 {
		t.Errorf("accounts queried by Id: %q", q)
	}
	if !strings.Contains(e.logs.String(), "watermark without activity tracking") {
		t.Errorf("the missing activity watermark was not logged")
	}
}

func TestPullReadsAgainInChunks(t *testing.T) {
	t.Parallel()
	const n = 450 // activities on as many accounts and contacts, one activity page
	e, p := synced(t, salesforcefake.Options{MaxBatch: salesforcefake.MaxBatchSize}, n)
	e.opts.BatchSize = 500
	accts, contacts := e.fake.IDs("Account"), e.fake.IDs("Contact")
	for i := range n {
		e.fake.LogActivity("Event", accts[i], contacts[i], e.clock.Now())
	}
	e.fake.ResetLog()
	before := len(p.pages)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	gotAccounts, gotContacts := pulled(p.pages[before:])
	slices.Sort(gotAccounts)
	slices.Sort(gotContacts)
	if !equal(gotAccounts, accts) || !equal(gotContacts, contacts) {
		t.Errorf("read again %d accounts and %d contacts, want each of the %d once", len(gotAccounts), len(gotContacts), n)
	}
	for _, obj := range []string{"Account", "Contact"} {
		q := queriesOf(e.fake, obj, true)
		var sizes []int
		for _, s := range q {
			sizes = append(sizes, strings.Count(s, "'")/2)
			if u := len("/services/data/v66.0/query?" + url.Values{"q": {s}}.Encode()); u > salesforcefake.MaxURILength/2 {
				t.Errorf("%s query by Id: a %d-byte URI", obj, u)
			}
		}
		if !slices.Equal(sizes, []int{200, 200, 50}) {
			t.Errorf("%s queries by Id of %v ids, want 200, 200 and 50", obj, sizes)
		}
	}
}

func TestPullReadsAgainThroughPagesAndExpiredCursors(t *testing.T) {
	t.Parallel()
	e, p := synced(t, salesforcefake.Options{}, 7)
	accts := e.fake.IDs("Account")
	for _, a := range accts {
		e.fake.LogActivity("Task", a, "", e.clock.Now())
	}
	// Queries: User, Account, Contact, Opportunity, Task, then accounts by
	// Id, paged by 3, whose cursor expires on its second page.
	queries, more := e.fake.Count(salesforcefake.KindQuery), e.fake.Count(salesforcefake.KindQueryMore)
	e.fake.OnRequest(func(kind string, n int) {
		switch {
		case kind == salesforcefake.KindQuery && n == queries+6:
			e.fake.SetMaxBatch(3)
		case kind == salesforcefake.KindQueryMore && n == more+1:
			e.fake.ExpireLocators()
		}
	})
	before := len(p.pages)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	got, _ := pulled(p.pages[before:])
	slices.Sort(got)
	if !equal(got, accts) {
		t.Errorf("read again %v, want each of %v once", got, accts)
	}
	if q := queriesOf(e.fake, "Account", true); len(q) != 2 || q[0] != q[1] {
		t.Errorf("account queries by Id = %q, want one run again", q)
	}
	if !strings.Contains(e.logs.String(), "query cursor expired") {
		t.Errorf("expiry not logged")
	}
}

func TestPullResumesTheActivityPhase(t *testing.T) {
	t.Parallel()
	e, p := synced(t, salesforcefake.Options{DailyLimit: 100}, 20)
	e.opts.Overlap = -1 // the tasks are stamped now: saved as read, not capped
	accts, contacts := e.fake.IDs("Account"), e.fake.IDs("Contact")
	tasks := make([]string, len(accts))
	for i := range accts { // all in the same second: the Id breaks the tie
		tasks[i] = e.fake.LogActivity("Task", accts[i], contacts[i], e.clock.Now())
	}
	slices.Sort(tasks)
	e.fake.SetUsage(0, 0)
	// The second page of tasks answers 96/100: the reserve is reached.
	more := e.fake.Count(salesforcefake.KindQueryMore)
	e.fake.OnRequest(func(kind string, n int) {
		if kind == salesforcefake.KindQueryMore && n == more+1 {
			e.fake.SetUsage(95, 0)
		}
	})
	before := len(p.pages)
	_, ok := connectors.AsStop(p.pull(t.Context(), e.connector(t)))
	if !ok {
		t.Fatalf("Pull did not stop on the daily reserve")
	}
	first, _ := pulled(p.pages[before:])
	if len(first) != 7 || p.wm["Task.id"] != tasks[6] {
		t.Fatalf("stopped after %d accounts at Task.id %s; want 7 and %s", len(first), p.wm["Task.id"], tasks[6])
	}
	e.fake.OnRequest(nil)
	e.fake.SetUsage(0, 0)
	e.fake.ResetLog()
	before = len(p.pages)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("resumed Pull: %v", err)
	}
	q := queriesOf(e.fake, "Task", false)
	if len(q) != 1 || !strings.Contains(q[0], "Id > '"+tasks[6]+"'") {
		t.Errorf("resumed task query = %q, want it to continue after %s", q, tasks[6])
	}
	rest, _ := pulled(p.pages[before:])
	got := append(first, rest...)
	slices.Sort(got)
	if !equal(got, accts) {
		t.Errorf("accounts read again across both pulls: %v, want each of the 20 once", got)
	}
	day := e.clock.Now().Truncate(24 * time.Hour)
	for id, a := range p.accounts {
		if !a.LastActivityAt.Equal(day) {
			t.Errorf("%s LastActivityAt = %v, want %v", id, a.LastActivityAt, day)
		}
	}
}

func TestSOQLIn(t *testing.T) {
	t.Parallel()
	e := &entity{sobject: "Account", fields: []string{"Id", "Name"}}
	tests := []struct {
		name string
		ids  []string
		want string
	}{
		{"ids", []string{"0015g00000XyZ12AAB", "0015g00000XyZ13"},
			"SELECT Id, Name FROM Account WHERE Id IN ('0015g00000XyZ12AAB','0015g00000XyZ13')"},
		{"injected", []string{"0015g00000XyZ12AAB", "x') OR Name != ('"}, ""},
		{"quote", []string{"0015g00000XyZ'2AAB"}, ""},
		{"none", nil, ""},
		{"too many", slices.Repeat([]string{"0015g00000XyZ12AAB"}, maxIDsPerQuery+1), ""},
	}
	for _, tt := range tests {
		got, err := e.soqlIn(tt.ids)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("%s: soqlIn = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestNamedFollowsAccountsAndContacts(t *testing.T) {
	t.Parallel()
	c, err := New(Options{Source: "sf", Auth: Auth{ClientID: "ck", RefreshToken: "rt"}})
	if err != nil {
		t.Fatal(err)
	}
	task := func(id, account, who string) json.RawMessage {
		rec := map[string]any{"Id": id, "SystemModstamp": "2026-11-22T09:00:00.000+0000", "AccountId": nil, "WhoId": nil}
		if account != "" {
			rec["AccountId"] = account
		}
		if who != "" {
			rec["WhoId"] = who
		}
		data, _ := json.Marshal(rec)
		return data
	}
	const (
		a1, a2 = "0015g0000000001AAA", "0015g0000000002"
		c1     = "0035g0000000001AAA"
		lead   = "00Q5g0000000001AAA"
	)
	records := []json.RawMessage{
		task("00T5g0000000001AAA", a1, c1),
		task("00T5g0000000002AAA", a1, lead),                 // a lead: not a contact
		task("00T5g0000000003AAA", "", c1),                   // repeated contact
		task("00T5g0000000004AAA", "x' OR Id != '", ""),      // not an id: skipped
		json.RawMessage(`[1]`),                               // not a record: skipped
		task("00T5g0000000005AAA", a2, "0015g0000000009AAA"), // an account as WhoId: not a contact
		json.RawMessage(`{"Id": "00T5g0000000006AAA"}`),      // no stamp: not a position
	}
	ids, last := c.named(entityOf(c, "Task"), records)
	want := [][]string{{a1, a2}, {c1}}
	if len(ids) != 2 || !slices.Equal(ids[0], want[0]) || !slices.Equal(ids[1], want[1]) {
		t.Errorf("named ids = %q, want %q", ids, want)
	}
	if last != (position{ts: "2026-11-22T09:00:00.000+0000", id: "00T5g0000000005AAA"}) {
		t.Errorf("last = %+v", last)
	}
}

func TestPullStopsInTheActivityPhaseOnItsOwnReserveCheck(t *testing.T) {
	t.Parallel()
	e, p := synced(t, salesforcefake.Options{DailyLimit: 100}, 5)
	e.fake.LogActivity("Task", e.fake.IDs("Account")[0], "", e.clock.Now())
	e.fake.SetUsage(0, 0)
	// The task query answers 96/100: the query by Id must not be sent.
	queries := e.fake.Count(salesforcefake.KindQuery)
	e.fake.OnRequest(func(kind string, n int) {
		if kind == salesforcefake.KindQuery && n == queries+5 {
			e.fake.SetUsage(95, 0)
		}
	})
	wm := p.wm.Clone()
	err := e.connector(t).Pull(t.Context(), wm, func(context.Context, connectors.Page) error { return nil })
	if _, ok := connectors.AsStop(err); !ok {
		t.Fatalf("Pull = %v, want a StopError", err)
	}
	if q := queriesOf(e.fake, "Account", true); len(q) != 0 {
		t.Errorf("queried by Id past the reserve: %q", q)
	}
}
