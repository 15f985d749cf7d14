package salesforce

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/salesforcefake"
	"github.com/crmsync/crmsync/internal/waitfor"
	"github.com/crmsync/crmsync/model"
)

func TestPullFullSyncPagesThroughEveryObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(30, 2, 1)
	estimates := map[string]int{}
	ctx := connectors.WithTrace(t.Context(), &connectors.Trace{Estimate: func(entity string, total int) {
		estimates[entity] = total // on the fetching goroutine; read after Pull returns
	}})
	p := newPortfolio()
	if err := p.pull(ctx, e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	requireSame(t, e.fake, p)
	if len(p.rejects) != 0 {
		t.Errorf("rejects: %v", p.rejects)
	}
	// 1 user page, 5 account pages (30/7), 9 contact pages, 5 opportunity pages.
	if got := len(p.pages); got != 20 {
		t.Errorf("pages = %d, want 20", got)
	}
	want := map[string]int{model.EntityOwner: 1, model.EntityAccount: 30, model.EntityContact: 60, model.EntityDeal: 30}
	for k, v := range want {
		if estimates[k] != v {
			t.Errorf("Estimated(%s) = %d, want %d", k, estimates[k], v)
		}
	}
	for _, q := range e.fake.Queries() {
		activities := strings.Contains(q, " FROM Task ") || strings.Contains(q, " FROM Event ")
		if strings.Contains(q, "WHERE") != activities {
			t.Errorf("a full sync sent a filtered query, or read every activity: %s", q)
		}
	}
	for _, obj := range []string{"Account", "Contact", "Opportunity"} {
		if p.wm[obj+".deleted"] != "2026-11-22T09:00:00.000+0000" {
			t.Errorf("%s.deleted = %q, want the start of the full sync", obj, p.wm[obj+".deleted"])
		}
	}
	if e.fake.Count(salesforcefake.KindToken) != 1 {
		t.Errorf("token requests = %d, want 1", e.fake.Count(salesforcefake.KindToken))
	}
}

func TestPullReturnsNilOnEmptyOrg(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	p := newPortfolio()
	if err := p.pull(context.Background(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if len(p.pages) != 1 || p.pages[0].Len() != 0 || p.wm["Account.deleted"] == "" {
		t.Errorf("want one empty page carrying the deletion watermark, got %+v", p.pages)
	}
}

func TestPullIncrementalReadsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(20, 1, 1)
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("full Pull: %v", err)
	}
	e.clock.Add(time.Hour)
	acct, contact := e.fake.IDs("Account")[3], e.fake.IDs("Contact")[5]
	e.fake.Modify("Account", acct, map[string]any{"Name": "Renamed"})
	e.fake.Modify("Contact", contact, map[string]any{"Email": "new@example.com"})
	opp := e.fake.Put("Opportunity", map[string]any{"AccountId": acct, "Name": "New deal", "Amount": 5.0,
		"CloseDate": "2026-11-21", "IsClosed": true, "IsWon": true})
	e.fake.ResetLog()
	before := len(p.pages)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("incremental Pull: %v", err)
	}
	var got []string
	for _, pg := range p.pages[before:] {
		for _, a := range pg.Accounts {
			got = append(got, a.ID)
		}
		for _, c := range pg.Contacts {
			got = append(got, c.ID)
		}
		for _, d := range pg.Deals {
			got = append(got, d.ID)
		}
		if len(pg.Owners) > 0 {
			t.Errorf("owners re-read: %v", pg.Owners)
		}
	}
	if want := []string{"sf:" + acct, "sf:" + contact, "sf:" + opp}; !equal(got, want) {
		t.Errorf("incremental pull read %v, want %v", got, want)
	}
	if p.accounts["sf:"+acct].Name != "Renamed" || p.contacts["sf:"+contact].Email != "new@example.com" {
		t.Errorf("changes not stored")
	}
	reqs := e.fake.Requests()[1:] // after the new connector's token
	if len(reqs) != 9 {           // a query per object and activity, a deletions check per object but User
		for _, r := range reqs {
			t.Log(r.Kind, r.Path, r.SOQL, r.Status)
		}
		t.Errorf("incremental pull sent %d requests, want 9", len(reqs))
	}
	for _, q := range e.fake.Queries() {
		if !strings.Contains(q, " WHERE SystemModstamp > ") {
			t.Errorf("incremental query without keyset: %s", q)
		}
	}
	requireSame(t, e.fake, p)
}

func TestPullDoesNotLoseRecordsModifiedMidSync(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(30, 0, 0)
	accts := e.fake.IDs("Account")
	early, late := accts[0], accts[29] // on the first and the last page
	e.fake.OnRequest(func(kind string, n int) {
		if kind == salesforcefake.KindQueryMore && n == 1 {
			e.fake.Modify("Account", early, map[string]any{"Name": "Renamed early"})
			e.fake.Modify("Account", late, map[string]any{"Name": "Renamed late"})
		}
	})
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	// The cursor is a snapshot: both still have their old names.
	if p.accounts["sf:"+early].Name == "Renamed early" || p.accounts["sf:"+late].Name == "Renamed late" {
		t.Errorf("the fake's cursor is not a snapshot")
	}
	e.fake.OnRequest(nil)
	e.clock.Add(time.Minute)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("next Pull: %v", err)
	}
	if p.accounts["sf:"+early].Name != "Renamed early" || p.accounts["sf:"+late].Name != "Renamed late" {
		t.Errorf("changes made during the first pull were lost: %q, %q", p.accounts["sf:"+early].Name, p.accounts["sf:"+late].Name)
	}
	requireSame(t, e.fake, p)
}

func TestPullQueriesAgainWhenTheCursorExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(30, 0, 0)
	e.fake.OnRequest(func(kind string, n int) {
		if kind == salesforcefake.KindQueryMore && n == 2 {
			e.fake.ExpireLocators()
		}
	})
	p := newPortfolio()
	var accounts int
	err := e.connector(t).Pull(t.Context(), nil, func(ctx context.Context, pg connectors.Page) error {
		accounts += len(pg.Accounts)
		return p.store(ctx, pg)
	})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	requireSame(t, e.fake, p)
	if accounts != 30 {
		t.Errorf("accounts handed over = %d, want each of the 30 once", accounts)
	}
	q := e.fake.Queries()
	if len(q) != 7 || !strings.Contains(q[2], "FROM Account WHERE") {
		t.Errorf("queries = %q, want the account query run again from the watermark", q)
	}
	if !strings.Contains(e.logs.String(), "query cursor expired") {
		t.Errorf("expiry not logged")
	}
}

var errBoom = errors.New("boom")

// leaked reports whether a fetching goroutine started by the calling
// goroutine (a Pull it ran) is still alive; other tests' pulls run in
// parallel.
func leaked() bool {
	buf := make([]byte, 1<<20)
	self, _, _ := strings.Cut(strings.TrimPrefix(string(buf[:runtime.Stack(buf, false)]), "goroutine "), " ")
	mine := "created by sync.(*WaitGroup).Go in goroutine " + self + "\n"
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "salesforce.(*puller)") && strings.Contains(g, mine) {
			return true
		}
	}
	return false
}

func TestPullStopsPromptlyAndLeaksNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fn   func(cancel context.CancelFunc, n int) error
		want error
	}{
		{"page func fails", func(_ context.CancelFunc, n int) error {
			if n == 2 {
				return errBoom
			}
			return nil
		}, errBoom},
		{"context cancelled", func(cancel context.CancelFunc, n int) error {
			if n == 2 {
				cancel()
			}
			return nil
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, salesforcefake.Options{})
			e.fake.Seed(30, 2, 1)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			n := 0
			err := e.connector(t).Pull(ctx, nil, func(context.Context, connectors.Page) error {
				n++
				return tt.fn(cancel, n)
			})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Pull = %v, want %v", err, tt.want)
			}
			if n != 2 {
				t.Errorf("fn called %d times after the stop", n)
			}
			if leaked() {
				t.Errorf("the fetching goroutine outlived Pull")
			}
			// The token, the two pages fn saw and at most the one after.
			if reqs := len(e.fake.Requests()); reqs > 4 {
				t.Errorf("%d requests for 2 pages: more than one page ahead", reqs)
			}
		})
	}
}

func TestPullPrefetchesOnePageAhead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(30, 0, 0)
	fetched := func() int { return e.fake.Count(salesforcefake.KindQuery) + e.fake.Count(salesforcefake.KindQueryMore) }
	err := e.connector(t).Pull(t.Context(), nil, func(context.Context, connectors.Page) error {
		if fetched() > 1 {
			return nil
		}
		// While the first page is stored, the second is fetched...
		waitfor.Within(5*time.Second, func() (bool, string) { return fetched() >= 2, "" })
		// ...but not the third.
		time.Sleep(20 * time.Millisecond)
		if n := fetched(); n != 2 {
			t.Errorf("pages fetched while the first is stored = %d, want 2", n)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
}

// putAccount stores an account stamped at, as a transaction that ran then
// and committed now would.
func putAccount(e *env, name string, at time.Time) string {
	return e.fake.Put("Account", map[string]any{"Name": name, "SystemModstamp": at})
}

// keysetFrom returns the WHERE of a keyset query from a position.
func keysetFrom(ts time.Time, id string) string {
	lit := ts.Format(soqlLiteral)
	return " WHERE SystemModstamp > " + lit + " OR (SystemModstamp = " + lit + " AND Id > '" + id + "') "
}

func TestPullReadsRecordsCommittedLateWithinOverlap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(10, 0, 0)
	recent := putAccount(e, "Recent", start.Add(-time.Minute))
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("full Pull: %v", err)
	}
	horizon := start.Add(-DefaultOverlap)
	if p.wm["Account.ts"] != formatDatetime(horizon) || p.wm["Account.id"] != nullID {
		t.Fatalf("Account.ts/id = %s/%s, want the horizon %s/%s", p.wm["Account.ts"], p.wm["Account.id"], formatDatetime(horizon), nullID)
	}
	// A long transaction stamped it before Recent, which the pull read,
	// and committed after.
	late := putAccount(e, "Late", start.Add(-3*time.Minute))
	e.clock.Add(time.Hour)
	e.fake.ResetLog()
	n := len(p.pages)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("next Pull: %v", err)
	}
	if got, _ := pulled(p.pages[n:]); !equal(got, []string{late, recent}) {
		t.Errorf("read %v, want the late record and the one read again within Overlap: %v", got, []string{late, recent})
	}
	if q := queriesOf(e.fake, "Account", false); len(q) != 1 || !strings.Contains(q[0], keysetFrom(horizon, nullID)) {
		t.Errorf("account queries = %q, want one from the horizon", q)
	}
	if p.wm["Account.ts"] != formatDatetime(start.Add(-time.Minute)) || p.wm["Account.id"] != recent {
		t.Errorf("Account.ts/id = %s/%s, want Recent's position, now before the horizon", p.wm["Account.ts"], p.wm["Account.id"])
	}
	requireSame(t, e.fake, p)
}

func TestPullNeverMovesAPositionBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.opts.Overlap = -1
	e.fake.Seed(3, 0, 0)
	putAccount(e, "Recent", start.Add(-time.Minute))
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("full Pull: %v", err)
	}
	from := [2]string{p.wm["Account.ts"], p.wm["Account.id"]}
	// Overlap raised: the horizon now lies before where the pull starts.
	e.opts.Overlap = time.Hour
	e.clock.Add(time.Minute)
	changed := e.fake.IDs("Account")[0]
	e.fake.Modify("Account", changed, map[string]any{"Name": "Renamed"})
	n := len(p.pages)
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("next Pull: %v", err)
	}
	if p.accounts["sf:"+changed].Name != "Renamed" {
		t.Errorf("the change past the horizon was not read")
	}
	for i, pg := range p.pages[n:] {
		if got := [2]string{pg.Watermark["Account.ts"], pg.Watermark["Account.id"]}; got != from {
			t.Errorf("page %d: Account.ts/id = %v, want %v kept", i, got, from)
		}
	}
}

func TestPullOnAQuietOrgReadsAgainOnlyTheOverlap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(10, 1, 1)
	putAccount(e, "Older", start.Add(-10*time.Minute)) // before the overlap
	recent := putAccount(e, "Recent", start.Add(-2*time.Minute))
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("full Pull: %v", err)
	}
	for i := range 2 {
		e.clock.Add(time.Hour)
		e.fake.ResetLog()
		n := len(p.pages)
		if err := p.pull(t.Context(), e.connector(t)); err != nil {
			t.Fatalf("Pull: %v", err)
		}
		want := []string{recent}
		from := keysetFrom(start.Add(-DefaultOverlap), nullID)
		if i == 1 { // Recent's position was saved, before the horizon of the second pull
			want, from = nil, keysetFrom(start.Add(-2*time.Minute), recent)
		}
		if got, contacts := pulled(p.pages[n:]); !equal(got, want) || len(contacts) != 0 {
			t.Errorf("pull %d: read accounts %v and contacts %v, want %v only", i+2, got, contacts, want)
		}
		if q := queriesOf(e.fake, "Account", false); len(q) != 1 || !strings.Contains(q[0], from) {
			t.Errorf("account queries = %q, want one%s", q, from)
		}
	}
}

func TestPullQueriesAgainFromTheLastRecordReadPastTheHorizon(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	for i := range 30 { // all past the horizon
		putAccount(e, fmt.Sprint("Account ", i), start.Add(-time.Minute))
	}
	e.fake.OnRequest(func(kind string, n int) {
		if kind == salesforcefake.KindQueryMore && n == 2 {
			e.fake.ExpireLocators()
		}
	})
	var accounts int
	err := e.connector(t).Pull(t.Context(), nil, func(_ context.Context, pg connectors.Page) error {
		accounts += len(pg.Accounts)
		return nil
	})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if accounts != 30 {
		t.Errorf("accounts handed over = %d, want each of the 30 once", accounts)
	}
	// The third page's cursor expired: on from the 14th account, not from the horizon.
	want := keysetFrom(start.Add(-time.Minute), e.fake.IDs("Account")[13])
	if q := queriesOf(e.fake, "Account", false); len(q) != 2 || !strings.Contains(q[1], want) {
		t.Errorf("account queries = %q, want the second%s", q, want)
	}
}
