package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

func init() {
	coreTests = append(coreTests,
		coreTest{"SummariesFollowRecords", testSummariesFollowRecords},
		coreTest{"MigrateLegacy", testMigrateLegacy},
		coreTest{"SummaryRangeSkipsRemoved", testSummaryRangeSkipsRemoved},
		coreTest{"SummaryClientsSkipExtra", testSummaryClientsSkipExtra},
		coreTest{"ContactedMarksByRange", testContactedMarksByRange},
		coreTest{"MigrateRebucket", testMigrateRebucket},
	)
}

// testSummaryRangeSkipsRemoved: an id still in the account index whose
// bundle is gone (removed between SummaryRange's two reads) is left out,
// and so is a bundle that holds only contacts or deals.
func testSummaryRangeSkipsRemoved(t *testing.T, s *Store) {
	ctx := context.Background()
	b := model.Batch{Accounts: []model.Account{account("a1", ""), account("a3", "")}}
	b.Deals = []model.Deal{{Ref: model.Ref{ID: "crm:d1", Source: "crm", ExternalID: "d1"}, AccountID: "crm:a2", Won: true, Amount: 3}}
	if err := s.Records.StorePage(ctx, "crm", b, nil, nil); err != nil {
		t.Fatal(err)
	}
	s.rdb.ZAdd(ctx, s.key("accounts"), redis.Z{Member: "crm:a2"}, redis.Z{Member: "crm:gone"})
	var got []string
	err := s.Records.SummaryRange(ctx, "", "", 2, func(ids []string, sums []Summary) error {
		clients, err := SummaryClients(sums)
		for i, c := range clients {
			if c.Account.ID != ids[i] {
				return fmt.Errorf("summary %d is %s's, listed as %s", i, c.Account.ID, ids[i])
			}
		}
		got = append(got, ids...)
		return err
	})
	if err != nil || !slices.Equal(got, []string{"crm:a1", "crm:a3"}) {
		t.Fatalf("summaries of %v, %v; want crm:a1 and crm:a3", got, err)
	}
}

// testSummaryClientsSkipExtra: an arena told to skip the accounts' extra
// fields leaves them out and decodes the rest of the record as a whole
// one, the fields after the extra ones (sources) included.
func testSummaryClientsSkipExtra(t *testing.T, s *Store) {
	ctx := context.Background()
	a := account("a1", "crm:o1")
	a.Extra = map[string]string{"industry": "saas", "tier": "gold"}
	a.Sources = []model.Ref{model.NewRef("crm", "a1"), model.NewRef("erp", "7")}
	a.TimeZone, a.LastActivityAt = "Europe/Paris", t0.Add(time.Hour)
	if err := s.Records.StorePage(ctx, "crm", model.Batch{Accounts: []model.Account{a}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, skip := range []bool{false, true} {
		err := s.Records.SummaryRange(ctx, "", "", 10, func(_ []string, sums []Summary) error {
			cs, err := (&ClientArena{SkipExtra: skip}).Clients(sums)
			if err != nil || len(cs) != 1 {
				return fmt.Errorf("%d clients, %v", len(cs), err)
			}
			want := a
			if skip {
				want.Extra = nil
			}
			if got := cs[0].Account; !reflect.DeepEqual(got, want) {
				return fmt.Errorf("skip %v: account\n%+v\nwant\n%+v", skip, got, want)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
}

// testSummariesFollowRecords stores random pages (new, edited, moved,
// unfiled and deleted records, contacts before their account), sweeps
// and contacted marks, applies the same steps to a plain in-memory model
// of what the store promises, and checks after each step that the
// clients, the summaries (in one ClientArena) and the filed pointers are
// the model's.
func testSummariesFollowRecords(t *testing.T, s *Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	g := pageGen{rng: rng, base: base}
	m := newRefModel()
	for step := range 60 {
		b := g.page()
		sweep := step%10 == 9 // a full sync that sees only this page
		if sweep {
			if err := s.Records.BeginSweep(ctx, "crm", base); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Records.StorePage(ctx, "crm", b, nil, nil); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		m.store(b)
		if sweep {
			if _, err := s.Records.EndSweep(ctx, "crm"); err != nil {
				t.Fatal(err)
			}
			m.sweep(b)
		}
		if rng.IntN(4) == 0 {
			id, at := g.acct(), base.Add(time.Duration(rng.IntN(1000))*time.Hour)
			if err := s.Records.MarkContacted(ctx, id, at); err != nil {
				t.Fatal(err)
			}
			if at.After(m.contacted[id]) {
				m.contacted[id] = at
			}
		}
		m.check(t, s, step)
	}
}

// pageGen draws random pages of one source ("crm"): new, edited, moved,
// unfiled and deleted records, contacts before their account, over a few
// accounts, contacts and deals, so that pages touch each other's.
type pageGen struct {
	rng  *rand.Rand
	base time.Time
}

func (g pageGen) acct() string { return model.ID("crm", fmt.Sprintf("a%d", g.rng.IntN(12))) }

func (g pageGen) when() time.Time {
	if g.rng.IntN(5) == 0 {
		return time.Time{}
	}
	return g.base.Add(time.Duration(g.rng.Int64N(int64(900 * 24 * time.Hour)))).Add(-600 * 24 * time.Hour)
}

func (g pageGen) page() model.Batch {
	var b model.Batch
	for range g.rng.IntN(4) {
		a := account(g.acct()[len("crm:"):], "crm:o1")
		a.LastActivityAt = g.when()
		if g.rng.IntN(3) == 0 {
			a.Extra = map[string]string{"tier": fmt.Sprint(g.rng.IntN(3))}
		}
		b.Accounts = append(b.Accounts, a)
	}
	for range g.rng.IntN(6) {
		id := fmt.Sprintf("c%d", g.rng.IntN(20))
		filedUnder := g.acct()
		if g.rng.IntN(10) == 0 {
			filedUnder = ""
		}
		b.Contacts = append(b.Contacts, model.Contact{Ref: model.NewRef("crm", id), AccountID: filedUnder, Email: id + "@x.org",
			OptOut: g.rng.IntN(4) == 0, LastActivityAt: g.when()})
	}
	for range g.rng.IntN(8) {
		id := fmt.Sprintf("d%d", g.rng.IntN(30))
		closed := g.when()
		if g.rng.IntN(7) == 0 {
			closed = closed.Add(123456789 * time.Nanosecond)
		}
		b.Deals = append(b.Deals, model.Deal{Ref: model.NewRef("crm", id), AccountID: g.acct(), Name: "deal " + id,
			Won: g.rng.IntN(3) > 0, ClosedAt: closed, Amount: float64(g.rng.IntN(100000)) / 7})
	}
	for range g.rng.IntN(3) {
		switch g.rng.IntN(3) {
		case 0:
			b.Deleted = append(b.Deleted, model.Deletion{Entity: "account", ID: g.acct()})
		case 1:
			b.Deleted = append(b.Deleted, model.Deletion{Entity: "contact", ID: model.ID("crm", fmt.Sprintf("c%d", g.rng.IntN(20)))})
		default:
			b.Deleted = append(b.Deleted, model.Deletion{Entity: "deal", ID: model.ID("crm", fmt.Sprintf("d%d", g.rng.IntN(30)))})
		}
	}
	return b
}

// refModel is what the store promises, kept in maps: the accounts, and
// each contact and deal with the account it is filed under.
type refModel struct {
	accounts  map[string]model.Account
	contacts  map[string]model.Contact
	deals     map[string]model.Deal
	contacted map[string]time.Time
	// arena holds the summaries' clients of every batch of every check,
	// as a pass's shards share theirs: no batch may find anything of the
	// one before it.
	arena ClientArena
}

func newRefModel() *refModel {
	return &refModel{accounts: map[string]model.Account{}, contacts: map[string]model.Contact{}, deals: map[string]model.Deal{}, contacted: map[string]time.Time{}}
}

// store applies a page: upserts, then deletions.
func (m *refModel) store(b model.Batch) {
	for _, a := range b.Accounts {
		m.accounts[a.ID] = a
	}
	for _, c := range b.Contacts {
		m.contacts[c.ID] = c
		if c.AccountID == "" {
			delete(m.contacts, c.ID)
		}
	}
	for _, d := range b.Deals {
		m.deals[d.ID] = d
	}
	for _, d := range b.Deleted {
		switch d.Entity {
		case "account":
			m.dropAccount(d.ID)
		case "contact":
			delete(m.contacts, d.ID)
		case "deal":
			delete(m.deals, d.ID)
		}
	}
}

func (m *refModel) dropAccount(id string) {
	delete(m.accounts, id)
	maps.DeleteFunc(m.contacts, func(_ string, c model.Contact) bool { return c.AccountID == id })
	maps.DeleteFunc(m.deals, func(_ string, d model.Deal) bool { return d.AccountID == id })
}

// sweep applies the end of a full sync whose only page was b: accounts not
// in b go with what is filed under them; contacts and deals not in b go
// from the accounts that stay.
func (m *refModel) sweep(b model.Batch) {
	seen := map[string]bool{}
	for _, a := range b.Accounts {
		seen["a"+a.ID] = true
	}
	for _, c := range b.Contacts {
		seen["c"+c.ID] = true
	}
	for _, d := range b.Deals {
		seen["d"+d.ID] = true
	}
	for id := range m.accounts {
		if !seen["a"+id] {
			m.dropAccount(id)
		}
	}
	maps.DeleteFunc(m.contacts, func(id string, c model.Contact) bool { return !seen["c"+id] && m.has(c.AccountID) })
	maps.DeleteFunc(m.deals, func(id string, d model.Deal) bool { return !seen["d"+id] && m.has(d.AccountID) })
}

func (m *refModel) has(id string) bool { _, ok := m.accounts[id]; return ok }

// client is the account id as Clients returns it.
func (m *refModel) client(id string) model.Client {
	c := model.Client{Account: m.accounts[id]}
	if t := m.contacted[id]; t.After(c.Account.LastActivityAt) {
		c.Account.LastActivityAt = t
	}
	for _, x := range m.contacts {
		if x.AccountID == id {
			c.Contacts = append(c.Contacts, x)
		}
	}
	for _, x := range m.deals {
		if x.AccountID == id {
			c.Deals = append(c.Deals, x)
		}
	}
	slices.SortFunc(c.Contacts, func(a, b model.Contact) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(c.Deals, func(a, b model.Deal) int { return cmp.Compare(a.ID, b.ID) })
	return c
}

// check compares the store with the model: every client, every summary
// (and the features computed from it) and every filed pointer.
func (m *refModel) check(t *testing.T, s *Store, step int) {
	t.Helper()
	ctx := context.Background()
	ids := slices.Sorted(maps.Keys(m.accounts))
	got, err := s.Records.Clients(ctx, append(ids, "crm:never"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("step %d: %d clients, want %d", step, len(got), len(ids))
	}
	for i, id := range ids {
		want := m.client(id)
		if !reflect.DeepEqual(got[i].Account, want.Account) || !reflect.DeepEqual(got[i].Contacts, want.Contacts) || !reflect.DeepEqual(got[i].Deals, want.Deals) {
			t.Fatalf("step %d: client %s\n got %+v\nwant %+v", step, id, got[i], want)
		}
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	m.checkSummaries(t, "summaries", s.Records.SummaryRange, func(a model.Account) model.Account { return a }, step, now, ids)
	m.checkSummaries(t, "features records", s.Records.FeatureRange, featureAccount, step, now, ids)
	if got := wonOf(t, s); !reflect.DeepEqual(got, m.won()) {
		t.Fatalf("step %d: won deals\n got %+v\nwant %+v", step, got, m.won())
	}
	m.checkPointers(t, s, step)
}

// checkSummaries compares the summaries that read (SummaryRange or
// FeatureRange) lists with the model: each account as account shows it,
// each contact's last activity and the features.
func (m *refModel) checkSummaries(t *testing.T, what string, read func(context.Context, string, string, int, func([]string, []Summary) error) error,
	account func(model.Account) model.Account, step int, now time.Time, ids []string) {
	t.Helper()
	var listed []string
	err := read(context.Background(), "", "", 5, func(sids []string, sums []Summary) error {
		clients, err := m.arena.Clients(sums)
		if err != nil {
			return err
		}
		for j, c := range clients {
			listed = append(listed, sids[j])
			want := m.client(sids[j])
			if w := account(want.Account); !reflect.DeepEqual(c.Account, w) {
				return fmt.Errorf("%s: account %s = %+v, want %+v", what, sids[j], c.Account, w)
			}
			activity := func(cs []model.Contact) (out []time.Time) {
				for _, ct := range cs {
					out = append(out, ct.LastActivityAt)
				}
				return out
			}
			if g, w := activity(c.Contacts), activity(want.Contacts); !slices.EqualFunc(g, w, time.Time.Equal) {
				return fmt.Errorf("%s: contacts of %s = %v, want %v", what, sids[j], g, w)
			}
			if g, w := rules.Compute(now, &c), rules.Compute(now, &want); !reflect.DeepEqual(g, w) {
				return fmt.Errorf("%s: features of %s = %+v, want %+v", what, sids[j], g, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("step %d: %v", step, err)
	}
	if !slices.Equal(listed, ids) {
		t.Fatalf("step %d: %s of %v, want %v", step, what, listed, ids)
	}
}

// featureAccount is what a features record holds of account a.
func featureAccount(a model.Account) model.Account {
	return model.Account{Ref: model.Ref{ID: a.ID}, Lifecycle: a.Lifecycle, OwnerID: a.OwnerID, CreatedAt: a.CreatedAt, LastActivityAt: a.LastActivityAt}
}

// won is what WonRange must list: per account, its won deals with a
// close date, in deal id order.
func (m *refModel) won() map[string][]WonDeal {
	out := map[string][]WonDeal{}
	for id := range m.accounts {
		out[id] = nil
		for _, d := range m.client(id).Deals {
			if d.Won && !d.ClosedAt.IsZero() {
				out[id] = append(out[id], WonDeal{ClosedAt: d.ClosedAt, Amount: d.Amount})
			}
		}
	}
	return out
}

// wonOf lists the won deals of every account, through WonRange in small
// batches.
func wonOf(t *testing.T, s *Store) map[string][]WonDeal {
	t.Helper()
	out := map[string][]WonDeal{}
	err := s.Records.WonRange(context.Background(), "", "", 3, func(ids []string, won [][]WonDeal) error {
		for i, id := range ids {
			if _, dup := out[id]; dup {
				return fmt.Errorf("%s listed twice", id)
			}
			out[id] = nil
			if len(won[i]) > 0 {
				out[id] = slices.Clone(won[i])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPointers checks that the pointers of every contact and deal id
// the test draws are exactly the model's.
func (m *refModel) checkPointers(t *testing.T, s *Store, step int) {
	t.Helper()
	ctx := context.Background()
	for _, k := range []struct {
		kind byte
		n    int
	}{{'c', 20}, {'d', 30}} {
		for i := range k.n {
			id := model.ID("crm", fmt.Sprintf("%c%d", k.kind, i))
			var want string
			if k.kind == 'c' {
				want = m.contacts[id].AccountID
			} else {
				want = m.deals[id].AccountID
			}
			got, err := filedPointer(ctx, s, filedField(k.kind, id))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("step %d: %s is filed under %q, want %q", step, id, got, want)
			}
		}
	}
}

// testMigrateLegacy writes records the way crmsync did before summaries,
// migrates them and reads them back.
func testMigrateLegacy(t *testing.T, s *Store) {
	ctx := context.Background()
	a := account("m1", "crm:o1")
	a.LastActivityAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	acctJSON := fmt.Sprintf(`{"id":"crm:m1","source":"crm","external_id":"m1","name":"Legacy","lifecycle":"customer","created_at":"2024-01-01T00:00:00Z","last_activity_at":%q}`, a.LastActivityAt.Format(time.RFC3339))
	deal := `{"id":"crm:d1","source":"crm","external_id":"d1","account_id":"crm:m1","amount":1200.5,"won":true,"closed_at":"2025-12-01T00:00:00Z"}`
	contact := `{"id":"crm:c1","source":"crm","external_id":"c1","account_id":"crm:m1","email":"c1@x.org","last_activity_at":"2026-02-01T00:00:00Z"}`
	orphan := `{"id":"crm:d9","source":"crm","external_id":"d9","account_id":"crm:m9","amount":5,"won":true,"closed_at":"2025-12-01T00:00:00Z"}`
	contacted := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
	pipe := s.rdb.TxPipeline()
	pipe.ZAdd(ctx, s.key("accounts"), redis.Z{Member: "crm:m1"})
	pipe.Set(ctx, s.key("acct", "crm:m1"), acctJSON, 0)
	pipe.HSet(ctx, s.key("deals", "crm:m1"), "crm:d1", deal)
	pipe.HSet(ctx, s.key("contacts", "crm:m1"), "crm:c1", contact)
	pipe.HSet(ctx, s.key("deals", "crm:m9"), "crm:d9", orphan)
	pipe.Set(ctx, s.key("contact", "crm:c1"), "crm:m1", 0)
	// Layout 2: the account in a summary ("<len>:<json>", then the rest).
	acct2 := `{"id":"crm:m2","source":"crm","external_id":"m2","name":"Summarised","lifecycle":"prospect","created_at":"2024-01-01T00:00:00Z"}`
	pipe.ZAdd(ctx, s.key("accounts"), redis.Z{Member: "crm:m2"})
	pipe.HSet(ctx, s.key("summary"), "crm:m2", fmt.Sprintf("%d:%s0:c7:crm:c2010:1700000000", len(acct2), acct2))
	pipe.HSet(ctx, s.key("contacts", "crm:m2"), "crm:c2", `{"id":"crm:c2","source":"crm","external_id":"c2","account_id":"crm:m2","email":"c2@x.org"}`)
	pipe.Set(ctx, s.key("contacted", "crm:m1"), strconv.FormatInt(contacted.UnixMilli(), 10), 0)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Records.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.rdb.Exists(ctx, s.key("acct", "crm:m1")).Val(); n != 0 {
		t.Error("the legacy account key is still there")
	}
	c, ok, err := s.Records.Client(ctx, "crm:m1")
	if err != nil || !ok {
		t.Fatalf("Client after Migrate: %v %v", ok, err)
	}
	if c.Account.Name != "Legacy" || len(c.Deals) != 1 || len(c.Contacts) != 1 || !c.Account.LastActivityAt.Equal(contacted) {
		t.Errorf("migrated client = %+v", c)
	}
	c2, ok, err := s.Records.Client(ctx, "crm:m2")
	if err != nil || !ok || c2.Account.Name != "Summarised" || len(c2.Contacts) != 1 || c2.Contacts[0].Email != "c2@x.org" {
		t.Errorf("client migrated from a summary = %+v, %v, %v", c2, ok, err)
	}
	if n := s.rdb.Exists(ctx, s.key("contacts", "crm:m1"), s.key("deals", "crm:m1"), s.key("deals", "crm:m9"), s.key("contact", "crm:c1"), s.key("summary")).Val(); n != 0 {
		t.Errorf("%d legacy keys are still there", n)
	}
	if got, _ := filedPointer(ctx, s, "ccrm:c1"); got != "crm:m1" {
		t.Errorf("the contact's pointer = %q, want crm:m1", got)
	}
	// The account arrives for the orphan deal: its summary keeps the deal.
	if err := s.Records.StorePage(ctx, "crm", model.Batch{Accounts: []model.Account{account("m9", "")}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	var got []Summary
	err = s.Records.SummaryRange(ctx, "", "", 10, func(ids []string, sums []Summary) error {
		for i := range sums {
			got = append(got, sums[i])
			got[len(got)-1].Won = append([]WonDeal(nil), sums[i].Won...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(got[2].Won) != 1 || got[2].Won[0].Amount != 5 || got[0].Won[0].Amount != 1200.5 {
		t.Errorf("summaries after the orphan's account arrived = %+v", got)
	}
	if !got[0].Contacted.Equal(contacted) || !got[1].Contacted.IsZero() {
		t.Errorf("summaries' contacted marks = %v, %v; want the legacy mark of crm:m1 only", got[0].Contacted, got[1].Contacted)
	}
	if err := s.Records.Migrate(ctx); err != nil { // once only
		t.Fatal(err)
	}
	if w := wonOf(t, s); len(w) != 3 || len(w["crm:m1"]) != 1 || w["crm:m1"][0].Amount != 1200.5 || len(w["crm:m9"]) != 1 || w["crm:m2"] != nil {
		t.Errorf("won deals after Migrate = %+v", w)
	}

	// A store of layout 3 has bundles only, one of layout 4 to 8 their won
	// deals apart (<ns>:won): Migrate builds the features records and
	// drops <ns>:won.
	want := wonOf(t, s)
	for _, layout := range []string{"3", "8"} {
		pipe = s.rdb.Pipeline()
		pipe.Rename(ctx, s.key("features"), s.key("won"))
		pipe.Set(ctx, s.key("schema"), layout, 0)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Records.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if got := wonOf(t, s); !reflect.DeepEqual(got, want) {
			t.Errorf("won deals rebuilt from layout %s = %+v, want %+v", layout, got, want)
		}
		if n := s.rdb.Exists(ctx, s.key("won")).Val(); n != 0 {
			t.Errorf("layout %s: <ns>:won left after Migrate", layout)
		}
	}
}

// testContactedMarksByRange: summaries read the reps' "contacted" marks by
// id range (contacted-marks): the latest mark of each account, none of an
// account whose id the other's extends, and the marks a layout 4 store
// kept in its keys alone once Migrate has indexed them.
func testContactedMarksByRange(t *testing.T, s *Store) {
	ctx := context.Background()
	var b model.Batch
	for _, id := range []string{"a1", "a10", "a2"} {
		b.Accounts = append(b.Accounts, account(id, ""))
	}
	if err := s.Records.StorePage(ctx, "crm", b, nil, nil); err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 5, d, 9, 0, 0, 0, time.UTC) }
	for _, m := range []struct {
		id string
		at time.Time
	}{{"crm:a1", day(3)}, {"crm:a1", day(9)}, {"crm:a1", day(5)}, {"crm:a2", day(4)}} {
		if err := s.Records.MarkContacted(ctx, m.id, m.at); err != nil {
			t.Fatal(err)
		}
	}
	marks := func() map[string]time.Time {
		t.Helper()
		out := map[string]time.Time{}
		err := s.Records.SummaryRange(ctx, "", "", 2, func(ids []string, sums []Summary) error {
			for i := range sums {
				out[ids[i]] = sums[i].Contacted
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := map[string]time.Time{"crm:a1": day(9), "crm:a10": {}, "crm:a2": day(4)}
	if got := marks(); !reflect.DeepEqual(got, want) {
		t.Errorf("contacted marks = %v, want %v", got, want)
	}
	if n := s.rdb.ZCard(ctx, s.contactedMarksKey()).Val(); n != 2 {
		t.Errorf("%d indexed marks, want one per account marked", n)
	}

	// Layout 4 kept marks in their keys only.
	pipe := s.rdb.Pipeline()
	pipe.Del(ctx, s.contactedMarksKey())
	pipe.Set(ctx, s.key("contacted", "crm:a10"), strconv.FormatInt(day(7).UnixMilli(), 10), 0)
	pipe.Set(ctx, s.key("schema"), "4", 0)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Records.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want["crm:a10"] = day(7)
	if got := marks(); !reflect.DeepEqual(got, want) {
		t.Errorf("contacted marks after Migrate from layout 4 = %v, want %v", got, want)
	}
}

// testMigrateRebucket: the pointers of a layout 5 store, in 65,536 buckets
// named by their number in hex, move into the current buckets; a pointer
// already in its current bucket (a newer write) stays; a contact then
// moves between accounts as it would have before. Reports saved before
// the reports index get indexed by when they were saved.
func testMigrateRebucket(t *testing.T, s *Store) {
	ctx := context.Background()
	if p, err := s.Records.MigrationPending(ctx); err != nil || p {
		t.Errorf("an empty store: migration pending %v, %v; want false", p, err)
	}
	var b model.Batch
	b.Accounts = []model.Account{account("a1", ""), account("a2", "")}
	for i := range 25 {
		b.Contacts = append(b.Contacts, contact(fmt.Sprintf("c%d", i), "a1", ""))
	}
	b.Deals = []model.Deal{deal("d1", "a2", 10)}
	mustStore(t, s, b, nil)

	// Back to layout 5: every pointer in its legacy bucket, one of them
	// also, with a newer value, in its current one.
	fields := []string{"dcrm:d1"}
	for _, c := range b.Contacts {
		fields = append(fields, filedField('c', c.ID))
	}
	legacy := func(f string) string {
		return s.key("filed", strconv.FormatUint(uint64(fieldHash(f)%legacyBuckets), 16))
	}
	pipe := s.rdb.Pipeline()
	for _, f := range fields {
		acct, err := filedPointer(ctx, s, f)
		if err != nil {
			t.Fatal(err)
		}
		pipe.HDel(ctx, s.key("ptrs", packBucket(packPrefix(f))), packPrefix(f))
		pipe.HSet(ctx, legacy(f), f, acct)
	}
	pipe.HSet(ctx, s.key("filed", filedBucket("ccrm:c7")), "ccrm:c7", "crm:newer")
	pipe.Set(ctx, s.key("schema"), "4", 0) // layout 4: no contacted marks to index either
	// Reports saved before the reports index: two days and a day ago.
	pipe.Set(ctx, s.key("report", "old"), "{}", ReportTTL-48*time.Hour)
	pipe.Set(ctx, s.key("report", "new"), "{}", ReportTTL-24*time.Hour)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Passes.SaveReport(ctx, "indexed", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Records.MigrationPending(ctx); err != nil || !p {
		t.Errorf("a layout 4 store: migration pending %v, %v; want true", p, err)
	}
	if err := s.Records.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Records.MigrationPending(ctx); err != nil || p {
		t.Errorf("after Migrate: migration pending %v, %v; want false", p, err)
	}
	for _, f := range fields {
		want := "crm:a1"
		switch f {
		case "dcrm:d1":
			want = "crm:a2"
		case "ccrm:c7":
			want = "crm:newer"
		}
		if got, err := filedPointer(ctx, s, f); got != want || err != nil {
			t.Errorf("pointer %s = %q, %v; want %q", f, got, err, want)
		}
		if n := s.rdb.Exists(ctx, s.key("filed", filedBucket(f))).Val(); n != 0 {
			t.Errorf("the layout 6 bucket of %s is still there", f)
		}
		if n := s.rdb.Exists(ctx, legacy(f)).Val(); n != 0 {
			t.Errorf("the legacy bucket of %s is still there", f)
		}
	}
	if v := s.rdb.Get(ctx, s.key("schema")).Val(); v != schemaVersion {
		t.Errorf("schema = %q, want %q", v, schemaVersion)
	}
	if passes, _, err := s.Passes.RecentReports(ctx, 10); err != nil || !slices.Equal(passes, []string{"indexed", "new", "old"}) {
		t.Errorf("reports after Migrate: %v, %v; want the indexed one, then those saved before the index, newest first", passes, err)
	}

	mustStore(t, s, model.Batch{Contacts: []model.Contact{contact("c3", "a2", "")}}, nil)
	if got := contactIDs(mustClient(t, s, "crm:a1")); len(got) != 24 || slices.Contains(got, "crm:c3") {
		t.Errorf("a1's contacts after c3 moved = %v", got)
	}
	if got := contactIDs(mustClient(t, s, "crm:a2")); !reflect.DeepEqual(got, []string{"crm:c3"}) {
		t.Errorf("a2's contacts after c3 moved = %v", got)
	}
}
