package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/hubspotfake"
	"github.com/crmsync/crmsync/model"
)

func TestPullFullSyncPagesThroughEveryList(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	f.Seed(250, 2, 1)
	c := newConnector(t, f, nil)

	pages := mustPull(t, c, nil)
	got := merge(pages)

	if len(got.accounts) != 250 || len(got.contacts) != 500 || len(got.deals) != 250 {
		t.Fatalf("got %d accounts, %d contacts, %d deals; want 250, 500, 250", len(got.accounts), len(got.contacts), len(got.deals))
	}
	if got.records != 1000 {
		t.Errorf("delivered %d records, want each once (1000)", got.records)
	}
	if want := len(hubspotfake.SeedOwners()); len(got.owners) != want {
		t.Errorf("got %d owners, want %d (deactivated ones included)", len(got.owners), want)
	}
	for _, p := range pages {
		if n := p.Len(); n > MaxPageSize {
			t.Errorf("page of %d records, want at most %d", n, MaxPageSize)
		}
	}
	for _, path := range []string{"companies", "contacts", "deals"} {
		lists := slices.DeleteFunc(requests(f, hubspotfake.ObjectsPath(hubspotfake.Kind(path))), func(r hubspotfake.Request) bool {
			return r.Query.Get("archived") == "true"
		})
		want := map[string]int{"companies": 3, "contacts": 5, "deals": 3}[path]
		if len(lists) != want {
			t.Errorf("%s: %d list requests, want %d", path, len(lists), want)
		}
	}
	for _, k := range []string{"companies.since", "contacts.since", "deals.since", "companies.archived", "contacts.archived", "deals.archived"} {
		if _, ok := millis(got.wm, k); !ok {
			t.Errorf("final watermark lacks %s: %v", k, got.wm)
		}
	}
	for _, k := range []string{keyFullStarted, "companies.after", "contacts.after", "deals.after"} {
		if _, ok := got.wm[k]; ok {
			t.Errorf("final watermark still has %s: %v", k, got.wm)
		}
	}
	// each contact is filed under its seeded company
	for id, ct := range got.contacts {
		o, _ := f.Get(hubspotfake.Contacts, id)
		if want := model.ID("hs", o.Companies[0].CompanyID); ct.AccountID != want {
			t.Fatalf("contact %s: account %q, want %q", id, ct.AccountID, want)
		}
	}
}

func TestPullFullSyncEstimatesTotals(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	f.Seed(30, 2, 1)
	c := newConnector(t, f, nil)
	est := map[string]int{}
	ctx := connectors.WithTrace(context.Background(), &connectors.Trace{Estimate: func(entity string, total int) {
		if _, ok := est[entity]; !ok {
			est[entity] = total
		}
	}})
	if err := c.Pull(ctx, nil, func(context.Context, connectors.Page) error { return nil }); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{model.EntityAccount: 30, model.EntityContact: 60, model.EntityDeal: 30}
	for k, v := range want {
		if est[k] != v {
			t.Errorf("estimate %s = %d, want %d (all: %v)", k, est[k], v, est)
		}
	}
}

func TestPullIncrementalReadsOnlyChanges(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now})
	f.Seed(120, 2, 1)
	c := newConnector(t, f, func(o *Options) { o.Now = clk.Now })
	first := mustPull(t, c, nil)
	wm := conntest.LastWatermark(first)

	clk.Add(time.Hour)
	companies, contacts, deals := f.IDs(hubspotfake.Companies), f.IDs(hubspotfake.Contacts), f.IDs(hubspotfake.Deals)
	f.Modify(hubspotfake.Companies, companies[7], map[string]string{"name": "Renamed Co"})
	f.Modify(hubspotfake.Contacts, contacts[42], map[string]string{"email": "new@example.com"})
	f.Modify(hubspotfake.Deals, deals[99], map[string]string{"amount": "777"})
	f.ResetCounters()
	clk.Add(time.Hour)

	got := merge(mustPull(t, c, wm))
	if keys(got.accounts)[0] != companies[7] || len(got.accounts) != 1 || got.accounts[companies[7]].Name != "Renamed Co" {
		t.Errorf("accounts = %v, want only %s renamed", got.accounts, companies[7])
	}
	if len(got.contacts) != 1 || got.contacts[contacts[42]].Email != "new@example.com" {
		t.Errorf("contacts = %v, want only %s", keys(got.contacts), contacts[42])
	}
	if len(got.deals) != 1 || got.deals[deals[99]].Amount != 777 {
		t.Errorf("deals = %v, want only %s", keys(got.deals), deals[99])
	}
	if got.contacts[contacts[42]].AccountID == "" || got.deals[deals[99]].AccountID == "" {
		t.Error("incremental records lost their company (associations not read)")
	}
	for _, k := range hubspotfake.Kinds {
		for _, r := range requests(f, hubspotfake.ObjectsPath(k)) {
			if r.Query.Get("archived") != "true" {
				t.Errorf("incremental pull listed %s from scratch: %s", k, r.Query.Encode())
			}
		}
		for _, r := range requests(f, hubspotfake.SearchPath(k)) {
			fl := searchBody(t, r).FilterGroups[0].Filters[0]
			if since, _ := millis(wm, string(k)+".since"); fl.Operator != "GTE" || fl.Value != formatMillis(since) {
				t.Errorf("%s search starts at %s %s, want GTE %d (the watermark)", k, fl.Operator, fl.Value, since)
			}
		}
	}
	if n := f.Count(hubspotfake.AssociationsPath(hubspotfake.Contacts)); n != 1 {
		t.Errorf("%d association reads for contacts, want 1", n)
	}
}

func TestPullIncrementalGoesBeyondTheSearchCap(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now})
	f.Seed(1, hubspotfake.MaxSearchResult+50, 0)
	c := newConnector(t, f, func(o *Options) { o.Now = clk.Now })
	since := formatMillis(clk.Now().UnixMilli())
	wm := connectors.Watermark{"companies.since": since, "contacts.since": since, "deals.since": since}

	clk.Add(time.Hour)
	ids := f.IDs(hubspotfake.Contacts)
	for i, id := range ids {
		clk.Add(time.Millisecond)
		f.ModifyAt(hubspotfake.Contacts, id, clk.Now(), map[string]string{"jobtitle": fmt.Sprint("v2-", i)})
	}
	clk.Add(time.Hour)

	got := merge(mustPull(t, c, wm))
	if len(got.contacts) != len(ids) || len(ids) <= hubspotfake.MaxSearchResult {
		t.Fatalf("got %d contacts of %d changed (more than the 10,000 search cap)", len(got.contacts), len(ids))
	}
	if got.records > len(ids)+len(ids)/100 {
		t.Errorf("delivered %d records for %d changes: too many repeats", got.records, len(ids))
	}
	for _, r := range f.Requests() {
		if r.Status != http.StatusOK && r.Status != http.StatusMultiStatus {
			t.Fatalf("%s %s answered %d", r.Method, r.Path, r.Status)
		}
		if strings.HasSuffix(r.Path, "/search") && strings.Contains(string(r.Body), `"after"`) {
			t.Fatalf("search paged with an offset: %s", r.Body)
		}
	}
}

func TestPullIncrementalWalksRecordsSharingAMillisecond(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now})
	f.Seed(250, 2, 0)
	c := newConnector(t, f, func(o *Options) { o.Now = clk.Now })
	wm := conntest.LastWatermark(mustPull(t, c, nil))

	clk.Add(time.Minute)
	at := clk.Now()
	ids := f.IDs(hubspotfake.Contacts)[:450]
	for _, id := range ids {
		f.ModifyAt(hubspotfake.Contacts, id, at, map[string]string{"jobtitle": "bulk"})
	}
	clk.Add(time.Hour)
	f.ResetCounters()

	pages := mustPull(t, c, wm)
	seen := map[string]int{}
	for _, p := range pages {
		for _, ct := range p.Contacts {
			seen[ct.ExternalID]++
		}
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("contact %s delivered %d times, want once", id, seen[id])
		}
	}
	byID := 0
	for _, r := range requests(f, hubspotfake.SearchPath(hubspotfake.Contacts)) {
		s := searchBody(t, r)
		if s.Sorts[0].PropertyName == objectIDProperty {
			byID++
			if fl := s.FilterGroups[0].Filters; fl[0].Operator != "EQ" || fl[0].Value != formatMillis(at.UnixMilli()) || fl[1].Operator != "GT" {
				t.Errorf("walk by id: filters %+v", fl)
			}
		}
	}
	if byID == 0 {
		t.Error("450 records in one millisecond were not walked by id")
	}
}

func TestPullKeepsRecordsModifiedWhileItPages(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now})
	f.Seed(250, 2, 0)
	c := newConnector(t, f, func(o *Options) { o.Now = clk.Now })
	companies := f.IDs(hubspotfake.Companies)
	f.SetHook(func(r hubspotfake.Request) {
		// after the first list page was read, change a record on it
		if r.Path == hubspotfake.ObjectsPath(hubspotfake.Companies) && r.N == 2 {
			clk.Add(time.Second)
			f.Modify(hubspotfake.Companies, companies[3], map[string]string{"name": "Changed during the scan"})
		}
	})
	first := merge(mustPull(t, c, nil))
	if n := first.accounts[companies[3]].Name; n != "Changed during the scan" {
		t.Errorf("full sync: company changed mid-scan ended as %q", n)
	}

	// incremental: 450 changed contacts; while paging, one already read
	// and one not yet read change again, jumping to the end of the order.
	clk.Add(time.Hour)
	contacts := f.IDs(hubspotfake.Contacts)
	for i := range 450 {
		clk.Add(time.Millisecond)
		f.ModifyAt(hubspotfake.Contacts, contacts[i], clk.Now(), map[string]string{"jobtitle": "v2"})
	}
	clk.Add(time.Hour)
	f.SetHook(func(r hubspotfake.Request) {
		if r.Path == hubspotfake.SearchPath(hubspotfake.Contacts) && r.N == 2 {
			f.Modify(hubspotfake.Contacts, contacts[5], map[string]string{"jobtitle": "v3 read before"})
			f.Modify(hubspotfake.Contacts, contacts[400], map[string]string{"jobtitle": "v3 not read yet"})
		}
	})
	f.ResetCounters()
	got := merge(mustPull(t, c, first.wm))
	for i := range 450 {
		if _, ok := got.contacts[contacts[i]]; !ok {
			t.Fatalf("contact %d (%s) lost", i, contacts[i])
		}
	}
	if v := got.contacts[contacts[5]].Title; v != "v3 read before" {
		t.Errorf("contact changed after being read ended as %q", v)
	}
	if v := got.contacts[contacts[400]].Title; v != "v3 not read yet" {
		t.Errorf("contact changed before being read ended as %q", v)
	}
}

func TestPullDeletesArchivedAndMergedRecords(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now})
	f.Seed(20, 2, 2)
	f.Put(hubspotfake.Companies, hubspotfake.Object{ID: "4000000001", Properties: map[string]string{"name": "Archived long ago"}, Modified: hubspotfake.Base})
	f.Archive(hubspotfake.Companies, "4000000001") // archived before the first sync: nothing to delete
	clk.Add(time.Hour)
	c := newConnector(t, f, func(o *Options) { o.Now = clk.Now })
	first := merge(mustPull(t, c, nil))
	if len(first.deleted) != 0 {
		t.Fatalf("first pull deleted %v", first.deleted)
	}

	clk.Add(time.Hour)
	companies, contacts, deals := f.IDs(hubspotfake.Companies), f.IDs(hubspotfake.Contacts), f.IDs(hubspotfake.Deals)
	f.Archive(hubspotfake.Companies, companies[2])
	f.Archive(hubspotfake.Contacts, contacts[3])
	f.Archive(hubspotfake.Deals, deals[4])
	f.Merge(hubspotfake.Companies, companies[5], companies[6])
	f.Merge(hubspotfake.Contacts, contacts[7], contacts[8])
	clk.Add(time.Hour)

	second := merge(mustPull(t, c, first.wm))
	want := []model.Deletion{
		{Entity: model.EntityAccount, ID: "hs:" + companies[2]},
		{Entity: model.EntityAccount, ID: "hs:" + companies[6]},
		{Entity: model.EntityContact, ID: "hs:" + contacts[3]},
		{Entity: model.EntityContact, ID: "hs:" + contacts[8]},
		{Entity: model.EntityDeal, ID: "hs:" + deals[4]},
	}
	got := slices.Clone(second.deleted)
	slices.SortFunc(got, func(a, b model.Deletion) int { return strings.Compare(a.Entity+a.ID, b.Entity+b.ID) })
	slices.SortFunc(want, func(a, b model.Deletion) int { return strings.Compare(a.Entity+a.ID, b.Entity+b.ID) })
	if !slices.Equal(got, want) {
		t.Errorf("deleted = %v\nwant      %v", got, want)
	}
	// the merged company's contacts moved to the one kept
	for _, ct := range second.contacts {
		if ct.AccountID == "hs:"+companies[6] {
			t.Errorf("contact %s still filed under merged company", ct.ID)
		}
	}

	clk.Add(time.Hour)
	third := merge(mustPull(t, c, second.wm))
	clk.Add(time.Hour)
	fourth := merge(mustPull(t, c, third.wm))
	if len(fourth.deleted) != 0 {
		t.Errorf("deletions repeated two sweeps later: %v", fourth.deleted)
	}
}

func TestPullSetsMalformedRecordsAside(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now})
	f.Seed(10, 1, 1)
	companies, contacts, deals := f.IDs(hubspotfake.Companies), f.IDs(hubspotfake.Contacts), f.IDs(hubspotfake.Deals)
	raws := []struct {
		kind   hubspotfake.Kind
		id     string
		raw    string
		where  string
		reason string
	}{
		{hubspotfake.Companies, companies[1], `{"id":"` + companies[1] + `","properties":{"name":42},"createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z","archived":false}`, companies[1], "malformed record"},
		{hubspotfake.Companies, companies[2], `{"id":"` + companies[2] + `","properties":{"name":"X","createdate":"yesterday"},"createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z","archived":false}`, companies[2], `property createdate: "yesterday" is not a date`},
		{hubspotfake.Companies, companies[3], `{"properties":{"name":"no id"},"createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z","archived":false}`, "(no id)", "record without an id"},
		{hubspotfake.Contacts, contacts[4], `["not","an","object"]`, "(no id)", "malformed record"},
		{hubspotfake.Contacts, contacts[5], `{"id":"` + contacts[5] + `","properties":{"hs_email_optout":"maybe"},"createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z","archived":false}`, contacts[5], `property hs_email_optout: "maybe" is not a boolean`},
		{hubspotfake.Deals, deals[6], `{"id":"` + deals[6] + `","properties":{"amount":"12k"},"createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z","archived":false}`, deals[6], `property amount: "12k" is not a number`},
	}
	for _, r := range raws {
		f.SetRaw(r.kind, r.id, r.raw)
	}
	c := newConnector(t, f, func(o *Options) { o.Now = clk.Now })
	got := merge(mustPull(t, c, nil))

	if len(got.accounts) != 7 || len(got.contacts) != 8 || len(got.deals) != 9 {
		t.Errorf("kept %d accounts, %d contacts, %d deals; want 7, 8, 9", len(got.accounts), len(got.contacts), len(got.deals))
	}
	if len(got.rejects) != len(raws) {
		t.Fatalf("got %d rejects, want %d: %+v", len(got.rejects), len(raws), got.rejects)
	}
	for i, r := range raws {
		rej := got.rejects[i]
		if rej.Where != r.where || !strings.Contains(rej.Reason, r.reason) || rej.Raw != r.raw || rej.Source != "hs" || rej.At.IsZero() {
			t.Errorf("reject %d = %+v\nwant where %q, reason containing %q, the raw record", i, rej, r.where, r.reason)
		}
	}
	if _, ok := millis(got.wm, "deals.since"); !ok {
		t.Errorf("malformed records stopped the pull: watermark %v", got.wm)
	}
}

func TestPullStopsOnDailyLimitAndResumesFromTheWatermark(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now, TimeZone: "Europe/Paris"})
	f.Seed(300, 1, 1)
	c := newConnector(t, f, func(o *Options) { o.Now = clk.Now })
	contactsPath := hubspotfake.ObjectsPath(hubspotfake.Contacts)
	f.SetHook(func(r hubspotfake.Request) {
		if r.Path == contactsPath && r.N == 2 { // one contacts page goes through
			f.Inject(hubspotfake.Fault{Path: contactsPath, Status: http.StatusTooManyRequests, Body: f.DailyBody()})
		}
	})
	pages, err := pull(t, c, nil)
	stop, ok := connectors.AsStop(err)
	if !ok {
		t.Fatalf("Pull = %v, want a StopError", err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	if want := time.Date(2026, 3, 3, 0, 0, 0, 0, paris); !stop.Resume.Equal(want) {
		t.Errorf("Resume = %v, want next midnight in the portal's zone %v", stop.Resume, want)
	}
	if !strings.HasPrefix(err.Error(), "hubspot: contacts: list: ") {
		t.Errorf("error %q does not name the entity and step", err)
	}
	got := merge(pages)
	if len(got.accounts) != 300 {
		t.Errorf("companies before the stop: %d, want 300 handed over", len(got.accounts))
	}
	f.SetHook(nil)
	settle(f)

	rest := merge(mustPull(t, c, got.wm))
	lists := requests(f, hubspotfake.ObjectsPath(hubspotfake.Companies))
	for _, r := range lists {
		if r.Query.Get("archived") != "true" {
			t.Errorf("resume listed companies again: %s", r.Query.Encode())
		}
	}
	if first := requests(f, contactsPath)[0]; got.wm["contacts.after"] == "" || first.Query.Get("after") != got.wm["contacts.after"] {
		t.Errorf("resume listed contacts from after=%q, want the watermark's %q", first.Query.Get("after"), got.wm["contacts.after"])
	}
	if n := len(got.contacts) + len(rest.contacts); n < 300 || len(rest.contacts) == 300 {
		t.Errorf("contacts: %d before the stop, %d after; want them all once, not from zero", len(got.contacts), len(rest.contacts))
	}
	if len(rest.deals) != 300 {
		t.Errorf("deals after resume: %d, want 300", len(rest.deals))
	}
}

func TestPullStopsBeforeTheDailyAllocationIsSpent(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{Daily: 5000})
	f.Seed(300, 1, 0)
	f.SetDailyUsed(5000 - DefaultDailyReserve - 6)
	c := newConnector(t, f, nil)
	pages, err := pull(t, c, nil)
	if _, ok := connectors.AsStop(err); !ok {
		t.Fatalf("Pull = %v, want a StopError", err)
	}
	if f.TooMany() != 0 {
		t.Errorf("%d 429s: the stop came too late", f.TooMany())
	}
	if len(pages) == 0 || f.Total() > 8 {
		t.Errorf("%d pages, %d requests; want a few pages, then a stop", len(pages), f.Total())
	}
}

func TestPullResumesFullSyncFromItsCursor(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	f.Seed(250, 2, 0)
	c := newConnector(t, f, nil)
	errStore := errors.New("store down")
	var stored []connectors.Page
	err := c.Pull(context.Background(), nil, func(_ context.Context, p connectors.Page) error {
		if len(p.Contacts) > 0 && len(stored) > 0 && len(stored[len(stored)-1].Contacts) > 0 {
			return errStore // second contacts page cannot be stored
		}
		stored = append(stored, p)
		return nil
	})
	if !errors.Is(err, errStore) {
		t.Fatalf("Pull = %v, want fn's error", err)
	}
	wm := conntest.LastWatermark(stored)
	after := wm["contacts.after"]
	if after == "" {
		t.Fatalf("watermark %v has no contacts cursor", wm)
	}
	settle(f)
	got := merge(mustPull(t, c, wm))
	if n := len(got.contacts); n != 400 {
		t.Errorf("resumed pull delivered %d contacts, want the 400 not stored yet", n)
	}
	lists := slices.DeleteFunc(requests(f, hubspotfake.ObjectsPath(hubspotfake.Contacts)), func(r hubspotfake.Request) bool { return r.Query.Get("archived") == "true" })
	if lists[0].Query.Get("after") != after {
		t.Errorf("resumed from after=%q, want %q", lists[0].Query.Get("after"), after)
	}
	if len(got.accounts) != 0 {
		t.Errorf("resumed pull re-read %d companies", len(got.accounts))
	}
}

func TestPullSpacesArchivedSweeps(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now})
	f.Seed(5, 1, 1)
	c := newConnector(t, f, func(o *Options) { o.Now = clk.Now; o.ArchivedEvery = time.Hour })
	first := merge(mustPull(t, c, nil))

	companies := f.IDs(hubspotfake.Companies)
	f.Archive(hubspotfake.Companies, companies[1])
	clk.Add(10 * time.Minute)
	f.ResetCounters()
	soon := merge(mustPull(t, c, first.wm))
	if len(soon.deleted) != 0 || f.Count(hubspotfake.ObjectsPath(hubspotfake.Companies)) != 0 {
		t.Fatalf("a pull 10 minutes after the sweep swept again: deleted %v, %d list requests",
			soon.deleted, f.Count(hubspotfake.ObjectsPath(hubspotfake.Companies)))
	}
	clk.Add(time.Hour)
	later := merge(mustPull(t, c, soon.wm))
	if want := []model.Deletion{{Entity: model.EntityAccount, ID: "hs:" + companies[1]}}; !slices.Equal(later.deleted, want) {
		t.Fatalf("a pull an hour later deleted %v, want %v", later.deleted, want)
	}
}
