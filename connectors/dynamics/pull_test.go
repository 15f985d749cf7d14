package dynamics

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/model"
)

const (
	acmeID  = "a1c2e3f4-0000-ed11-b83e-000d3a572421"
	mariaID = "49b0be2e-d01c-ed11-b83e-000d3a572421"
	tomID   = "5a1b2c3d-d01c-ed11-b83e-000d3a572421"
	johnID  = "5e1f2a3b-1111-ed11-b83e-000d3a572421"
)

func TestPullFull(t *testing.T) {
	f := newFakeOrg(t)
	f.put("opportunities", map[string]any{"opportunityid": "0a1b2c3d-4444-ed11-b83e-000d3a572421", "_transactioncurrencyid_value": usdID})
	c := f.connector(f.options())
	got, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := got.Batch
	if len(b.Owners) != 2 || len(b.Accounts) != 3 || len(b.Contacts) != 5 || len(b.Deals) != 3 || len(got.Rejects) != 0 {
		t.Fatalf("got %d owners, %d accounts, %d contacts, %d deals, rejects %v", len(b.Owners), len(b.Accounts), len(b.Contacts), len(b.Deals), got.Rejects)
	}
	wantOwner := model.Owner{Ref: model.NewRef("dyn", johnID), Name: "John Smith", Email: "jsmith@example.com"}
	if b.Owners[0] != wantOwner {
		t.Errorf("owner = %+v, want %+v", b.Owners[0], wantOwner)
	}
	acme := b.Accounts[0]
	if acme.ID != "dyn:"+acmeID || acme.Name != "Acme Widgets" || acme.Domain != "acme-widgets.com" || acme.OwnerID != "dyn:"+johnID ||
		acme.Lifecycle != model.Other || !acme.UpdatedAt.Equal(time.Date(2024, 9, 13, 20, 23, 3, 0, time.UTC)) ||
		!strings.HasPrefix(acme.URL, f.srv.URL+"/main.aspx?") {
		t.Errorf("acme = %+v", acme)
	}
	byName := map[string]model.Contact{}
	for _, ct := range b.Contacts {
		byName[ct.FirstName] = ct
	}
	maria := byName["Maria"]
	if maria.AccountID != "dyn:"+acmeID || maria.OptOut || maria.Email != "maria.johnson@acme-widgets.com" ||
		!maria.LastActivityAt.Equal(time.Date(2024, 9, 10, 15, 10, 0, 0, time.UTC)) {
		t.Errorf("maria = %+v", maria)
	}
	if !byName["Tom"].OptOut || !byName["Li"].OptOut || byName["Sara"].OptOut {
		t.Errorf("opt-out: Tom %v (donotbulkemail), Li %v (both), Sara %v (neither)", byName["Tom"].OptOut, byName["Li"].OptOut, byName["Sara"].OptOut)
	}
	if j := byName["Jorge"]; j.AccountID != "" || !j.LastActivityAt.IsZero() {
		t.Errorf("jorge, without parent or activity = %+v", j)
	}
	won := b.Deals[0]
	if !won.Won || won.Amount != 100000 || won.Currency != "USD" || !won.ClosedAt.Equal(time.Date(2024, 6, 28, 0, 0, 0, 0, time.UTC)) ||
		won.AccountID != "dyn:"+acmeID {
		t.Errorf("won deal = %+v", won)
	}
	if open := b.Deals[1]; open.Won || open.Amount != 48000 || !open.ClosedAt.IsZero() {
		t.Errorf("open deal = %+v", open)
	}
	if lost := b.Deals[2]; lost.Won || lost.ClosedAt.IsZero() {
		t.Errorf("lost deal = %+v", lost)
	}
	wm := got.Last()
	for _, set := range []string{"accounts", "contacts", "opportunities"} {
		if !strings.Contains(wm[set+".delta"], "$deltatoken=") || wm[set+".next"] != "" {
			t.Errorf("watermark %s: delta %q next %q", set, wm[set+".delta"], wm[set+".next"])
		}
	}
	if wm[keyActivitySince] == "" {
		t.Errorf("watermark without %s: %v", keyActivitySince, wm)
	}
	// Pages of 2: the contacts read resumes from a page in the middle.
	mid := 0
	for _, p := range got.Pages {
		if p.Watermark["contacts.next"] != "" {
			mid++
		}
	}
	if mid == 0 {
		t.Error("no page carried contacts.next")
	}
}

func TestPullIncremental(t *testing.T) {
	f := newFakeOrg(t)
	c := f.connector(f.options())
	first, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.requestLog())
	f.put("contacts", map[string]any{"contactid": mariaID, "emailaddress1": "maria.j@acme-widgets.com", "modifiedon": "2024-09-14T09:00:00Z"})
	f.remove("contacts", tomID)
	f.remove("opportunities", "2c3d4e5f-4444-ed11-b83e-000d3a572421")
	// A call logged on Acme changes no account row.
	f.put("activitypointers", map[string]any{"activityid": "aa000000-5555-ed11-b83e-000d3a572421", "statecode": 1,
		"_regardingobjectid_value": acmeID, "_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
		"actualend": "2024-09-20T10:00:00Z", "modifiedon": time.Now().UTC().Format(time.RFC3339)})
	got, err := conntest.Pull(c, first.Last())
	if err != nil {
		t.Fatal(err)
	}
	b := got.Batch
	if len(b.Contacts) != 1 || b.Contacts[0].Email != "maria.j@acme-widgets.com" ||
		!b.Contacts[0].LastActivityAt.Equal(time.Date(2024, 9, 10, 15, 10, 0, 0, time.UTC)) {
		t.Errorf("contacts = %+v, want Maria's new email and her last call", b.Contacts)
	}
	if len(b.Accounts) != 1 || b.Accounts[0].ID != "dyn:"+acmeID || !b.Accounts[0].LastActivityAt.Equal(time.Date(2024, 9, 20, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("accounts = %+v, want Acme with its new activity", b.Accounts)
	}
	wantDel := []model.Deletion{{Entity: model.EntityContact, ID: "dyn:" + tomID}, {Entity: model.EntityDeal, ID: "dyn:2c3d4e5f-4444-ed11-b83e-000d3a572421"}}
	if !slices.Equal(b.Deleted, wantDel) {
		t.Errorf("deleted = %v, want %v", b.Deleted, wantDel)
	}
	// Owners and currencies in full (3 requests), three delta reads, one
	// activity read, Acme read again with its aggregate, Maria's aggregate.
	t.Logf("full pull: %d requests; incremental: %d", before, len(f.requestLog())-before)
	if n := len(f.requestLog()) - before; n > 10 {
		t.Errorf("incremental pull sent %d requests: %v", n, f.requestLog()[before:])
	}
	again, err := conntest.Pull(c, got.Last())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(again.Batch.Contacts) + len(again.Batch.Deals) + len(again.Batch.Deleted); n != 0 {
		t.Errorf("a pull with nothing changed handed over %d records", n)
	}
}

func TestPullDeltaExpired(t *testing.T) {
	f := newFakeOrg(t)
	opts := f.options()
	sweeps := 0
	opts.BeginSweep = func(context.Context, time.Time) error { sweeps++; return nil }
	c := f.connector(opts)
	first, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.expireDeltas()
	before := len(f.requestLog())
	got, err := conntest.Pull(c, first.Last())
	if err != nil {
		t.Fatal(err)
	}
	if sweeps != 1 {
		t.Errorf("BeginSweep called %d times, want 1", sweeps)
	}
	if len(got.Batch.Accounts) != 3 || len(got.Batch.Contacts) != 5 || len(got.Batch.Deals) != 3 {
		t.Errorf("after expiry got %d accounts, %d contacts, %d deals; want everything again", len(got.Batch.Accounts), len(got.Batch.Contacts), len(got.Batch.Deals))
	}
	expired, initial := 0, 0
	for _, req := range f.requestLog()[before:] {
		switch {
		case strings.HasPrefix(req, "accounts?") && strings.Contains(req, "$deltatoken="):
			expired++
		case strings.HasPrefix(req, "contacts?") && !strings.Contains(req, "$deltatoken=") && !strings.Contains(req, "$filter="):
			initial++
		}
	}
	if expired != 1 || initial == 0 {
		t.Errorf("requests after expiry: %d refused delta reads of accounts (want 1), %d initial contact reads (want some): %v", expired, initial, f.requestLog()[before:])
	}
	if _, err := conntest.Pull(c, got.Last()); err != nil {
		t.Errorf("pull after the resync: %v", err)
	}
}

func TestPullResumesFromPage(t *testing.T) {
	f := newFakeOrg(t)
	c := f.connector(f.options())
	var saved connectors.Watermark
	stop := errors.New("crash")
	err := c.Pull(context.Background(), nil, func(_ context.Context, p connectors.Page) error {
		if p.Watermark["contacts.next"] != "" {
			saved = p.Watermark
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v", err)
	}
	got, err := conntest.Pull(c, saved)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Batch.Contacts) != 3 || len(got.Batch.Deals) != 3 {
		t.Errorf("resumed pull: %d contacts (want the 3 after page 1), %d deals", len(got.Batch.Contacts), len(got.Batch.Deals))
	}
	// A next link the org no longer knows restarts the read.
	saved = saved.Clone()
	saved["contacts.next"] = "contacts?$select=contactid&$skiptoken=gone"
	f.hook = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Query().Get("$skiptoken") == "gone" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "0x80040203", "message": "Invalid paging cookie"}})
			return true
		}
		return false
	}
	if got, err = conntest.Pull(c, saved); err != nil || len(got.Batch.Contacts) != 5 {
		t.Errorf("stale next link: err %v, %d contacts (want all 5)", err, len(got.Batch.Contacts))
	}
}

func TestPullServiceProtection(t *testing.T) {
	f := newFakeOrg(t)
	f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 4 {
			w.Header().Set("Retry-After", "1")
			writeFile(w, http.StatusTooManyRequests, "dynamics_error_429_service_protection.json")
			return true
		}
		return false
	}
	c := f.connector(f.options())
	var waits []time.Duration
	ctx := connectors.WithTrace(context.Background(), &connectors.Trace{Wait: func(reason string, d time.Duration) {
		if strings.Contains(reason, "429") {
			waits = append(waits, d)
		}
	}})
	out := &conntest.Collected{}
	err := c.Pull(ctx, nil, func(_ context.Context, p connectors.Page) error {
		out.Batch.Contacts = append(out.Batch.Contacts, p.Contacts...)
		return nil
	})
	if err != nil || len(out.Batch.Contacts) != 5 {
		t.Fatalf("err %v, %d contacts", err, len(out.Batch.Contacts))
	}
	if len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("429 waits = %v, want one of Retry-After's 1s", waits)
	}
}

func TestPullLongRetryAfterStops(t *testing.T) {
	f := newFakeOrg(t)
	f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Retry-After", "900")
		writeFile(w, http.StatusTooManyRequests, "dynamics_error_429_service_protection.json")
		return true
	}
	_, err := conntest.Pull(f.connector(f.options()), nil)
	stop, ok := connectors.AsStop(err)
	if !ok || time.Until(stop.Resume) < 14*time.Minute {
		t.Fatalf("err = %v, want a stop resuming in 15 minutes", err)
	}
}

func TestPullTokenExpiresMidSync(t *testing.T) {
	f := newFakeOrg(t)
	f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 5 {
			clear(f.tokens) // the token expires between two pages
		}
		return false
	}
	got, err := conntest.Pull(f.connector(f.options()), nil)
	if err != nil || len(got.Batch.Contacts) != 5 {
		t.Fatalf("err %v, %d contacts", err, len(got.Batch.Contacts))
	}
	if f.issued != 2 {
		t.Errorf("tokens issued = %d, want 2", f.issued)
	}
}

func TestPullUnauthorizedTwice(t *testing.T) {
	f := newFakeOrg(t)
	f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The user is not a member of the organization."`)
		w.WriteHeader(http.StatusUnauthorized)
		return true
	}
	_, err := conntest.Pull(f.connector(f.options()), nil)
	if !errors.Is(err, connectors.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
}

func TestPullForbidden(t *testing.T) {
	f := newFakeOrg(t)
	f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if strings.HasPrefix(r.URL.Path, apiPath+"opportunities") {
			writeFile(w, http.StatusForbidden, "dynamics_error_403_privilege.json")
			return true
		}
		return false
	}
	_, err := conntest.Pull(f.connector(f.options()), nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "prvReadOpportunity") || !strings.Contains(err.Error(), "security role") {
		t.Fatalf("err = %v", err)
	}
}

func TestPullRetriesServerErrorsAndTruncatedBodies(t *testing.T) {
	f := newFakeOrg(t)
	f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
		switch n {
		case 3:
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]string{"message": "busy"}})
			return true
		case 6:
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"value":[{"contactid":"49b0be2e`))
			return true
		}
		return false
	}
	got, err := conntest.Pull(f.connector(f.options()), nil)
	if err != nil || len(got.Batch.Contacts) != 5 || len(got.Batch.Accounts) != 3 {
		t.Fatalf("err %v, %d accounts, %d contacts", err, len(got.Batch.Accounts), len(got.Batch.Contacts))
	}
}

func TestPullChangeTrackingDisabled(t *testing.T) {
	f := newFakeOrg(t)
	f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if strings.HasPrefix(r.URL.Path, apiPath+"contacts") {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "0x80044153",
				"message": "Entity contact is not enabled for Change Tracking."}})
			return true
		}
		return false
	}
	_, err := conntest.Pull(f.connector(f.options()), nil)
	if err == nil || !strings.Contains(err.Error(), "Track changes") {
		t.Fatalf("err = %v, want advice to enable Track changes", err)
	}
}

func TestPullRejectsWatermarkLinkElsewhere(t *testing.T) {
	f := newFakeOrg(t)
	_, err := conntest.Pull(f.connector(f.options()), connectors.Watermark{"contacts.delta": "https://evil.example/api/data/v9.2/contacts"})
	if err == nil || !strings.Contains(err.Error(), "reset the source's watermark") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.requestLog()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestPullPacesUnderTheWindow(t *testing.T) {
	f := newFakeOrg(t)
	opts := f.options()
	opts.RequestsPer5Min = 5
	c := f.connector(opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waited time.Duration
	ctx = connectors.WithTrace(ctx, &connectors.Trace{Wait: func(reason string, d time.Duration) {
		if reason == "rate limit 5/5min" {
			waited = d
			cancel()
		}
	}})
	err := c.Pull(ctx, nil, func(context.Context, connectors.Page) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the pull cancelled while it waits", err)
	}
	if n := len(f.requestLog()); n != 5 || waited < 4*time.Minute {
		t.Errorf("%d requests before waiting %v; want 5, then a wait of about 5 minutes", n, waited)
	}
}

func TestPullSetsAsideRowsThatDoNotMap(t *testing.T) {
	f := newFakeOrg(t)
	f.put("contacts", map[string]any{"contactid": mariaID, "donotemail": "Do Not Allow"})
	f.put("opportunities", map[string]any{"opportunityid": "2c3d4e5f-4444-ed11-b83e-000d3a572421", "statecode": 1, "actualclosedate": nil})
	got, err := conntest.Pull(f.connector(f.options()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Batch.Contacts) != 4 || len(got.Batch.Deals) != 2 || len(got.Rejects) != 2 {
		t.Fatalf("%d contacts, %d deals, rejects %+v", len(got.Batch.Contacts), len(got.Batch.Deals), got.Rejects)
	}
	want := map[string]string{
		mariaID:                                "field donotemail: want a boolean, got a string",
		"2c3d4e5f-4444-ed11-b83e-000d3a572421": "field actualclosedate: missing on a won opportunity",
	}
	for _, r := range got.Rejects {
		if want[r.Where] != r.Reason || r.Source != "dyn" || r.Raw == "" {
			t.Errorf("reject = %+v", r)
		}
	}
}
