package monday

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/mondayfake"
	"github.com/crmsync/crmsync/model"
)

// These tests run the connector over real HTTP against
// internal/mondayfake.

func TestFullSync(t *testing.T) {
	clk := newClock()
	s := newFake(t, mondayfake.Options{Now: clk.Now}, 600) // 600 accounts: two pages of 500
	c := newConnector(t, fakeOptions(s))
	got, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := got.Batch
	if len(b.Accounts) != 603 || len(b.Contacts) != 1203 || len(b.Deals) != 1203 || len(b.Owners) != 2 || len(got.Rejects) != 0 {
		t.Fatalf("got %d accounts, %d contacts, %d deals, %d owners, %d rejects (%v)", len(b.Accounts), len(b.Contacts), len(b.Deals), len(b.Owners), len(got.Rejects), got.Rejects)
	}
	for _, p := range got.Pages {
		if n := p.Len(); n > PageSize {
			t.Errorf("a page holds %d records, over monday's 500", n)
		}
	}
	i := slices.IndexFunc(b.Deals, func(d model.Deal) bool { return d.ExternalID == "9100000001" })
	d := b.Deals[i]
	if !d.Won || d.Amount != 100000 || d.Currency != "EUR" || d.AccountID != "mon:9300000001" || !d.ClosedAt.Equal(time.Date(2024, 6, 28, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("documented won deal = %+v", d)
	}
	if lost := b.Deals[slices.IndexFunc(b.Deals, func(d model.Deal) bool { return d.ExternalID == "9100000003" })]; lost.Won || lost.ClosedAt.IsZero() {
		t.Errorf("documented lost deal = %+v, want closed and not won", lost)
	}
	a := b.Accounts[slices.IndexFunc(b.Accounts, func(a model.Account) bool { return a.Name == "Account 1" })]
	if a.OwnerID != "mon:"+mondayfake.UserPaul || a.Domain != "account1.example" || a.Lifecycle != model.Prospect || a.URL == "" {
		t.Errorf("account = %+v", a)
	}
	ct := b.Contacts[slices.IndexFunc(b.Contacts, func(c model.Contact) bool { return c.Email == "c1.p1@account1.example" })]
	if ct.AccountID != a.ID || ct.FirstName != "Contact1" || ct.LastName != "Person1" || !ct.OptOut || ct.Title != "Buyer" {
		t.Errorf("contact = %+v", ct)
	}
	paul := b.Owners[slices.IndexFunc(b.Owners, func(o model.Owner) bool { return o.ExternalID == mondayfake.UserPaul })]
	if paul.Email != "paul.nguyen@example-agency.fr" {
		t.Errorf("a deactivated owner = %+v, want his email", paul)
	}
	for _, r := range s.Requests() {
		if r.APIVersion != DefaultAPIVersion || r.Status != 200 {
			t.Errorf("request %+v: want API-Version %s answered 200", r, DefaultAPIVersion)
		}
	}
	wm := got.Last()
	for _, k := range []string{"accounts.since", "contacts.since", "deals.since", keyLogs, keyFull} {
		if wm[k] == "" {
			t.Errorf("watermark %v lacks %s", wm, k)
		}
	}
}

func TestIncrementalChangesAndDeletions(t *testing.T) {
	clk := newClock()
	s := newFake(t, mondayfake.Options{Now: clk.Now}, 20)
	c := newConnector(t, fakeOptions(s))
	clk.Add(time.Hour)
	full, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * 24 * time.Hour)
	if err := s.Upsert(mondayfake.BoardAccounts, mondayfake.Item{ID: "9500000005", Name: "Renamed"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Upsert(mondayfake.BoardDeals, mondayfake.Item{Name: "New deal", Values: map[string]any{
		"deal_stage": "Won", "deal_value": 5.0, "deal_account": []string{"9500000005"}, "deal_close_date": "2024-09-14"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(mondayfake.BoardContacts, "9600000300"); err != nil {
		t.Fatal(err)
	}
	if err := s.Archive(mondayfake.BoardDeals, "9700000200"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	s.ResetLog()
	got, err := conntest.Pull(c, full.Last())
	if err != nil {
		t.Fatal(err)
	}
	b := got.Batch
	if len(b.Accounts) != 1 || b.Accounts[0].Name != "Renamed" || len(b.Contacts) != 0 || len(b.Deals) != 1 || b.Deals[0].Name != "New deal" {
		t.Errorf("incremental pull handed %d accounts, %d contacts, %d deals: want the renamed account and the new deal", len(b.Accounts), len(b.Contacts), len(b.Deals))
	}
	want := []model.Deletion{{Entity: model.EntityContact, ID: "mon:9600000300"}, {Entity: model.EntityDeal, ID: "mon:9700000200"}}
	slices.SortFunc(b.Deleted, func(a, b model.Deletion) int { return strings.Compare(a.Entity, b.Entity) })
	if !slices.Equal(b.Deleted, want) {
		t.Errorf("deleted %v, want %v", b.Deleted, want)
	}
	if n := len(s.Requests()); n != 5 {
		t.Errorf("incremental pull sent %d requests, want 5 (users, three boards, activity logs)", n)
	}
	// A pull right after finds nothing new: the day's overlap is
	// filtered on updated_at.
	again, err := conntest.Pull(c, got.Last())
	if err != nil {
		t.Fatal(err)
	}
	if n := again.Batch.Len() - len(again.Batch.Owners); n != 0 {
		t.Errorf("a pull with nothing changed handed %d records", n)
	}
}

func TestPeriodicFullReadSweeps(t *testing.T) {
	clk := newClock()
	s := newFake(t, mondayfake.Options{Now: clk.Now}, 3)
	opts := fakeOptions(s)
	var sweeps []time.Time
	opts.BeginSweep = func(_ context.Context, at time.Time) error { sweeps = append(sweeps, at); return nil }
	c := newConnector(t, opts)
	first, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(DefaultFullEvery + time.Hour)
	second, err := conntest.Pull(c, first.Last())
	if err != nil {
		t.Fatal(err)
	}
	if len(sweeps) != 2 || len(second.Batch.Accounts) != 6 {
		t.Errorf("%d sweeps, %d accounts re-read; want a sweep per full read and every account", len(sweeps), len(second.Batch.Accounts))
	}
}

func TestRevokedTokenMidSync(t *testing.T) {
	s := newFake(t, mondayfake.Options{}, 600)
	s.OnRequest(func(kind string, n int) {
		if kind == "next_items_page" {
			s.RevokeToken(mondayfake.DefaultToken)
		}
	})
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("err = %v, want ErrAuth saying the token was revoked", err)
	}
	// The request that saw the token revoked was already authorized:
	// the accounts board ends, the contacts board fails on its first page.
	if wm := got.Last(); len(got.Batch.Accounts) != 603 || len(got.Batch.Contacts) != 0 || wm["accounts.since"] == "" || wm["contacts.since"] != "" {
		t.Errorf("handed %d accounts, %d contacts with watermark %v: want the accounts and the contacts' watermark unmoved", len(got.Batch.Accounts), len(got.Batch.Contacts), wm)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		code   string
		status int
		retry  bool
	}{
		{mondayfake.CodeFieldLimit, 0, true},
		{mondayfake.CodeIPRateLimit, 0, true},
		{mondayfake.CodeConcurrency, 0, true},
		{mondayfake.CodeRateLimitExceeded, 0, true},
		{mondayfake.CodeLegacyComplexity, 0, true},
		{"", 500, true},
		{"", 502, true},
		{"InvalidBoardIdException", 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.code+fmt.Sprint(tt.status), func(t *testing.T) {
			s := newFake(t, mondayfake.Options{Second: time.Millisecond}, 2)
			opts := fakeOptions(s)
			opts.Second = time.Millisecond
			if tt.code == "" {
				s.FailNext(1, tt.status)
			} else {
				s.FailNextCode(tt.code, tt.status)
			}
			got, err := conntest.Pull(newConnector(t, opts), nil)
			if tt.retry {
				if err != nil || len(got.Batch.Accounts) != 5 {
					t.Errorf("err = %v, %d accounts; want the error retried", err, len(got.Batch.Accounts))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.code) {
				t.Errorf("err = %v, want it to name %s", err, tt.code)
			}
		})
	}
}

func TestBoardUnauthorized(t *testing.T) {
	s := newFake(t, mondayfake.Options{}, 2)
	s.DenyBoard(mondayfake.BoardContacts)
	_, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "UserUnauthorizedException") {
		t.Errorf("err = %v, want ErrAuth with UserUnauthorizedException", err)
	}
}

func TestValidationErrorFails(t *testing.T) {
	s := newFake(t, mondayfake.Options{}, 1)
	opts := fakeOptions(s)
	opts.Boards.Contacts.ID = "999" // no such board
	_, err := conntest.Pull(newConnector(t, opts), nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "no board 999") {
		t.Errorf("err = %v, want no board 999", err)
	}
}

func TestDailyLimitStopAndResume(t *testing.T) {
	clk := newClock()
	s := newFake(t, mondayfake.Options{Now: clk.Now, DailyLimit: 3}, 2)
	c := newConnector(t, fakeOptions(s))
	got, err := conntest.Pull(c, nil)
	stop, ok := connectors.AsStop(err)
	if !ok || !stop.Resume.Equal(time.Date(2024, 9, 13, 0, 0, 0, 0, time.UTC)) || !strings.Contains(stop.Reason, "DAILY_LIMIT_EXCEEDED") {
		t.Fatalf("err = %v, want a stop resuming at midnight UTC", err)
	}
	if got.Last()["accounts.since"] == "" || got.Last()["contacts.since"] == "" {
		t.Errorf("watermark %v: want the boards read before the stop", got.Last())
	}
	clk.Add(15 * time.Hour)
	rest, err := conntest.Pull(c, got.Last())
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Batch.Deals) != 7 || len(rest.Batch.Accounts) != 0 {
		t.Errorf("resumed pull: %d deals, %d accounts; want the deals board only", len(rest.Batch.Deals), len(rest.Batch.Accounts))
	}
}

func TestDailyCallsStopBeforeTheLimit(t *testing.T) {
	clk := newClock()
	s := newFake(t, mondayfake.Options{Now: clk.Now}, 2)
	opts := fakeOptions(s)
	opts.DailyCalls = 2
	_, err := conntest.Pull(newConnector(t, opts), nil)
	stop, ok := connectors.AsStop(err)
	if !ok || !strings.Contains(stop.Reason, "limits.daily_calls") || len(s.Requests()) != 2 {
		t.Errorf("err = %v after %d requests, want a stop after 2", err, len(s.Requests()))
	}
}

func TestCursorExpiredMidBoard(t *testing.T) {
	s := newFake(t, mondayfake.Options{}, 1200)
	expired := 0
	s.OnRequest(func(kind string, n int) {
		if kind == "next_items_page" && n == 1 {
			s.ExpireCursors()
			expired++
		}
	})
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, a := range got.Batch.Accounts {
		ids[a.ID]++
	}
	if expired != 1 || len(ids) != 1203 || len(got.Batch.Accounts) != 1203 {
		t.Errorf("%d expiries: %d accounts handed over, %d distinct; want all 1203 once", expired, len(got.Batch.Accounts), len(ids))
	}
}

func TestRejects(t *testing.T) {
	s := newFake(t, mondayfake.Options{}, 1)
	for _, up := range []struct {
		board string
		item  mondayfake.Item
	}{
		{mondayfake.BoardAccounts, mondayfake.Item{ID: "9300000777", Name: " "}},
		{mondayfake.BoardContacts, mondayfake.Item{ID: "9200000777", Name: "Bad Mail", Values: map[string]any{"contact_email": "not-an-email"}}},
		{mondayfake.BoardDeals, mondayfake.Item{ID: "9100000777", Name: "Won undated", Values: map[string]any{"deal_stage": "Won"}}},
	} {
		if err := s.Upsert(up.board, up.item); err != nil {
			t.Fatal(err)
		}
	}
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, r := range got.Rejects {
		reasons[r.Where] = r.Reason
		if r.Raw == "" || r.Source != "mon" {
			t.Errorf("reject %+v lacks its raw item or source", r)
		}
	}
	for id, want := range map[string]string{"9300000777": "needs a name", "9200000777": "not an email", "9100000777": "missing on a won deal"} {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("reject of %s: %q, want %q", id, reasons[id], want)
		}
	}
}

func TestComplexityPacing(t *testing.T) {
	// A budget of about three items pages per window: the pull must wait
	// for resets rather than be refused.
	const unit = 5 * time.Millisecond
	s := newFake(t, mondayfake.Options{Budget: 100_000, Window: 60 * unit, Second: unit}, 600)
	opts := fakeOptions(s)
	opts.Second = unit
	if _, err := conntest.Pull(newConnector(t, opts), nil); err != nil {
		for _, r := range s.Requests() {
			t.Log(r)
		}
		t.Fatal(err)
	}
	if n := s.BudgetErrors(); n != 0 {
		for _, r := range s.Requests() {
			t.Log(r)
		}
		t.Errorf("%d queries refused COMPLEXITY_BUDGET_EXHAUSTED, want none", n)
	}
}

func TestBudgetExhaustedRetried(t *testing.T) {
	const unit = time.Millisecond
	s := newFake(t, mondayfake.Options{Window: 60 * unit, Second: unit}, 600)
	s.OnRequest(func(kind string, n int) {
		switch {
		case kind == "boards" && n == 2:
			s.SetLimits(1, 0, -1) // another integration spent the budget: this query is refused
		case kind == "boards" && n == 3:
			s.SetLimits(mondayfake.DefaultBudget, 0, -1) // the window reset: the retry goes through
		}
	})
	opts := fakeOptions(s)
	opts.Second = unit
	c, err := conntest.Pull(newConnector(t, opts), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.BudgetErrors() != 1 {
		t.Errorf("%d budget errors, want the one the test caused", s.BudgetErrors())
	}
	if n := len(c.Batch.Accounts); n != 603 { // 600 seeded and the 3 documented
		t.Errorf("%d accounts after the retry, want 603", n)
	}
}

func TestDescribe(t *testing.T) {
	s := newFake(t, mondayfake.Options{}, 1)
	opts := fakeOptions(s)
	opts.Mapping.Extra = []string{"account_language"}
	got, err := newConnector(t, opts).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Name != "Deals" || got[2].ID != mondayfake.BoardDeals {
		t.Fatalf("boards = %+v", got)
	}
	cols := map[string]Column{}
	for _, c := range got[0].Columns {
		cols[c.ID] = c
	}
	if cols["account_owner"] != (Column{ID: "account_owner", Title: "Owner", Type: "people", MappedAs: "owner"}) ||
		cols["account_status"].MappedAs != "lifecycle" || cols["account_language"].MappedAs != "extra" || cols["account_contacts"].MappedAs != "" {
		t.Errorf("accounts columns = %+v", cols)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("describe sent %d requests, want 1", n)
	}
}

func TestTruncatedAnswersRetried(t *testing.T) {
	s := newFake(t, mondayfake.Options{}, 600)
	s.TruncateEvery(3)
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Batch.Accounts) != 603 || len(got.Batch.Contacts) != 1203 || s.Truncated() == 0 {
		t.Errorf("%d accounts, %d contacts after %d cut answers; want every record", len(got.Batch.Accounts), len(got.Batch.Contacts), s.Truncated())
	}
}

func TestOAuthAccessToken(t *testing.T) {
	s := newFake(t, mondayfake.Options{Tokens: []string{"oauth-access-token"}}, 1)
	opts := fakeOptions(s)
	opts.Token = "oauth-access-token"
	if _, err := conntest.Pull(newConnector(t, opts), nil); err != nil {
		t.Fatal(err)
	}
	opts.Token = mondayfake.DefaultToken // not this account's
	if _, err := conntest.Pull(newConnector(t, opts), nil); !errors.Is(err, connectors.ErrAuth) {
		t.Errorf("err = %v, want ErrAuth", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	base := Options{Source: "mon", Token: "t", Boards: Boards{Accounts: Board{ID: "1"}, Contacts: Board{ID: "2"}, Deals: Board{ID: "3"}}}
	tests := []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.Token = "" }, "token required"},
		{func(o *Options) { o.BaseURL = "http://api.monday.com" }, "want https"},
		{func(o *Options) { o.APIVersion = "v2" }, "want the form 2025-07"},
		{func(o *Options) { o.PageSize = 501 }, "want 1 to 500"},
		{func(o *Options) { o.Boards.Deals.ID = "" }, "deals: id"},
		{func(o *Options) { o.Boards.Deals.Columns = map[string]string{"email": "x"} }, `unknown column role "email"`},
		{func(o *Options) { o.Boards.Deals.Columns = map[string]string{"stage": "Stage"} }, `column "Stage"`},
		{func(o *Options) { o.Mapping.PrimaryContact.AssociationLabel = "x" }, "HubSpot's"},
	}
	for _, tt := range tests {
		o := base
		o.Boards.Deals.Columns = nil
		tt.change(&o)
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New: %v, want %q", err, tt.want)
		}
	}
	if _, err := New(base); err != nil {
		t.Errorf("New(valid): %v", err)
	}
}

func TestDeletionsPageThroughActivityLogs(t *testing.T) {
	clk := newClock()
	s := mondayfake.New(mondayfake.Options{Now: clk.Now})
	t.Cleanup(s.Close)
	if err := s.Seed(1001, 0, 0); err != nil {
		t.Fatal(err)
	}
	c := newConnector(t, fakeOptions(s))
	clk.Add(time.Hour)
	full, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	for _, a := range full.Batch.Accounts {
		if err := s.Delete(mondayfake.BoardAccounts, a.ExternalID); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Hour)
	got, err := conntest.Pull(c, full.Last())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Batch.Deleted) != 1001 || s.Count("boards") != 3+3+2 {
		t.Errorf("%d deletions after %d boards queries; want 1001 over two pages of activity logs", len(got.Batch.Deleted), s.Count("boards"))
	}
}
