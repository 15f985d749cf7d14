package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
)

func init() {
	coreTests = append(coreTests,
		struct {
			name string
			fn   func(t *testing.T, s *Store)
		}{"SummariesFollowRecords", testSummariesFollowRecords},
		struct {
			name string
			fn   func(t *testing.T, s *Store)
		}{"MigrateLegacy", testMigrateLegacy},
	)
}

// testSummariesFollowRecords stores random pages (new, edited, moved and
// deleted records, contacts before their account), sweeps and contacted
// marks, and checks after each step that every summary is the one the
// stored records make.
func testSummariesFollowRecords(t *testing.T, s *Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	when := func() time.Time {
		if rng.IntN(5) == 0 {
			return time.Time{}
		}
		return base.Add(time.Duration(rng.Int64N(int64(900 * 24 * time.Hour)))).Add(-600 * 24 * time.Hour)
	}
	acct := func() string { return model.ID("crm", fmt.Sprintf("a%d", rng.IntN(12))) }
	for step := range 40 {
		var b model.Batch
		for range rng.IntN(4) {
			a := account(acct()[len("crm:"):], "crm:o1")
			a.LastActivityAt = when()
			b.Accounts = append(b.Accounts, a)
		}
		for range rng.IntN(6) {
			id := fmt.Sprintf("c%d", rng.IntN(20))
			b.Contacts = append(b.Contacts, model.Contact{Ref: model.NewRef("crm", id), AccountID: acct(), Email: id + "@x.org", LastActivityAt: when()})
		}
		for range rng.IntN(8) {
			id := fmt.Sprintf("d%d", rng.IntN(30))
			closed := when()
			if rng.IntN(7) == 0 {
				closed = closed.Add(123456789 * time.Nanosecond)
			}
			b.Deals = append(b.Deals, model.Deal{Ref: model.NewRef("crm", id), AccountID: acct(), Won: rng.IntN(3) > 0, ClosedAt: closed, Amount: float64(rng.IntN(100000)) / 7})
		}
		for range rng.IntN(3) {
			switch rng.IntN(3) {
			case 0:
				b.Deleted = append(b.Deleted, model.Deletion{Entity: "account", ID: acct()})
			case 1:
				b.Deleted = append(b.Deleted, model.Deletion{Entity: "contact", ID: model.ID("crm", fmt.Sprintf("c%d", rng.IntN(20)))})
			default:
				b.Deleted = append(b.Deleted, model.Deletion{Entity: "deal", ID: model.ID("crm", fmt.Sprintf("d%d", rng.IntN(30)))})
			}
		}
		if step%10 == 9 { // a full sync that sees only this page
			if err := s.Records.BeginSweep(ctx, "crm", base); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Records.StorePage(ctx, "crm", b, nil, nil); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if step%10 == 9 {
			if _, err := s.Records.EndSweep(ctx, "crm"); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(4) == 0 {
			if err := s.Records.MarkContacted(ctx, acct(), base.Add(time.Duration(rng.IntN(1000))*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		checkSummaries(t, s, step)
	}
}

// checkSummaries checks that each stored summary is the one the records
// stored under its id make, and that every account has one.
func checkSummaries(t *testing.T, s *Store, step int) {
	t.Helper()
	ctx := context.Background()
	got, err := s.rdb.HGetAll(ctx, s.key("summary")).Result()
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.rdb.ZRange(ctx, s.key("accounts"), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, ok := got[id]; !ok {
			t.Fatalf("step %d: account %s has no summary", step, id)
		}
	}
	for id, sum := range got {
		var want string
		if err := s.Records.summariseInto(ctx, id, &want); err != nil {
			t.Fatal(err)
		}
		if sum != want {
			t.Fatalf("step %d: summary of %s\n got %q\nwant %q", step, id, sum, want)
		}
	}
}

// summariseInto sets want to the summary id's stored records make.
func (s *Records) summariseInto(ctx context.Context, id string, want *string) error {
	var c model.Client
	var err error
	contacts := s.rdb.HGetAll(ctx, s.key("contacts", id)).Val()
	deals := s.rdb.HGetAll(ctx, s.key("deals", id)).Val()
	if c.Contacts, err = decodeSorted(contacts, func(x model.Contact) string { return x.ID }); err != nil {
		return err
	}
	if c.Deals, err = decodeSorted(deals, func(x model.Deal) string { return x.ID }); err != nil {
		return err
	}
	var sm Summary
	raw := s.rdb.HGet(ctx, s.key("summary"), id).Val()
	acct, _, err := cutString(raw)
	if err != nil {
		return err
	}
	if _, err := decodeSummary(raw, &sm); err != nil {
		return err
	}
	contacted := s.rdb.Get(ctx, s.key("contacted", id)).Val()
	*want, err = encodeSummaryRaw(acct, &c, contacted)
	return err
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
	checkSummaries(t, s, 0)
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
	if len(got) != 2 || len(got[1].Won) != 1 || got[1].Won[0].Amount != 5 || got[0].Won[0].Amount != 1200.5 {
		t.Errorf("summaries after the orphan's account arrived = %+v", got)
	}
	if err := s.Records.Migrate(ctx); err != nil { // once only
		t.Fatal(err)
	}
}
