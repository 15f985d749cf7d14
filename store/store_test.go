package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// coreTest is a test that runs against miniredis and a real Redis.
type coreTest struct {
	name string
	fn   func(t *testing.T, s *Store)
}

// coreTests run against miniredis here and against a real Redis in
// redis_integration_test.go.
var coreTests = []coreTest{
	{"StorePageContactsBeforeAccount", testContactsBeforeAccount},
	{"StorePageMovesRecords", testMoveRecords},
	{"StorePageConcurrentMoves", testConcurrentMoves},
	{"Watermark", testWatermark},
	{"StorePageCanceled", testStorePageCanceled},
	{"Rejects", testRejects},
	{"CountAccounts", testCountAccounts},
	{"ClientsAndOwner", testClientsAndOwner},
	{"EachClient", testEachClient},
	{"Cooldown", testCooldown},
	{"ClaimStateMachine", testClaimStateMachine},
	{"MarkSentAndRelease", testMarkSentAndRelease},
	{"History", testHistory},
	{"ClaimConcurrent", testClaimConcurrent},
	{"Unclaim", testUnclaim},
	{"LedgerUnknownOutcomes", testLedgerUnknownOutcomes},
	{"LedgerLateOutcomeWins", testLedgerLateOutcomeWins},
	{"LedgerReclaimAndResolve", testLedgerReclaimAndResolve},
	{"LedgerConcurrentReclaim", testLedgerConcurrentReclaim},
	{"LedgerKeptMessage", testLedgerKeptMessage},
	{"LedgerAbandon", testLedgerAbandon},
	{"LedgerStaleClaimInHistory", testLedgerStaleClaimInHistory},
	{"ChannelPause", testChannelPause},
	{"ClaimProbe", testClaimProbe},
	{"Suppression", testSuppression},
	{"Reports", testReports},
	{"AccountIDRange", testAccountIDRange},
	{"Passes", testPasses},
	{"FlagStates", testFlagStates},
	{"FirstSeen", testFirstSeen},
	{"RejectAndDead", testRejectAndDead},
	{"SnoozeAndContacted", testSnoozeAndContacted},
	{"DigestItems", testDigestItems},
	{"Deletions", testDeletions},
	{"Sweep", testSweep},
	{"SweepMany", testSweepMany},
	{"SweepBigAccount", testSweepBigAccount},
	{"RefreshTokens", testRefreshTokens},
	{"PauseSource", testPauseSource},
	{"HasAccounts", testHasAccounts},
	{"BeginSweepIfStored", testBeginSweepIfStored},
	{"SyncLock", testSyncLock},
}

func TestStoreMiniredis(t *testing.T) {
	for _, tc := range coreTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, miniStore(t)) })
	}
}

// miniStore returns a Store over a fresh miniredis whose TTLs follow the
// wall clock, as in embedded mode.
func miniStore(t *testing.T) *Store {
	t.Helper()
	m := miniredis.RunT(t)
	stop, done := make(chan struct{}), make(chan struct{})
	go tickTTLs(m, stop, done)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() {
		close(stop)
		<-done
		rdb.Close()
	})
	return New(rdb, "t")
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func account(id, owner string) model.Account {
	return model.Account{Ref: model.NewRef("crm", id), Name: "Acme " + id, OwnerID: owner,
		Lifecycle: model.Customer, CreatedAt: t0}
}

func contact(id, acct, email string) model.Contact {
	return model.Contact{Ref: model.NewRef("crm", id), AccountID: "crm:" + acct, Email: email, FirstName: id}
}

func deal(id, acct string, amount float64) model.Deal {
	return model.Deal{Ref: model.NewRef("crm", id), AccountID: "crm:" + acct, Amount: amount, Won: true, ClosedAt: t0}
}

func mustStore(t *testing.T, s *Store, b model.Batch, wm connectors.Watermark) {
	t.Helper()
	if err := s.Records.StorePage(context.Background(), "crm", b, nil, wm); err != nil {
		t.Fatalf("StorePage: %v", err)
	}
}

func mustClient(t *testing.T, s *Store, id string) model.Client {
	t.Helper()
	c, ok, err := s.Records.Client(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("Client(%s) = ok %v, err %v", id, ok, err)
	}
	return c
}

func ids[T any](xs []T, id func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func contactIDs(c model.Client) []string {
	return ids(c.Contacts, func(x model.Contact) string { return x.ID })
}

func dealIDs(c model.Client) []string {
	return ids(c.Deals, func(x model.Deal) string { return x.ID })
}

func testContactsBeforeAccount(t *testing.T, s *Store) {
	ctx := context.Background()
	mustStore(t, s, model.Batch{
		Contacts: []model.Contact{contact("c2", "a1", "b@x.io"), contact("c1", "a1", "a@x.io")},
		Deals:    []model.Deal{deal("d2", "a1", 20), deal("d1", "a1", 10)},
	}, connectors.Watermark{"contacts": "1"})
	if cs, err := s.Records.Clients(ctx, []string{"crm:a1"}); err != nil || len(cs) != 0 {
		t.Fatalf("Clients before the account = %v, %v; want none", cs, err)
	}
	owner := model.Owner{Ref: model.NewRef("crm", "o1"), Name: "Rep", Email: "rep@x.io"}
	mustStore(t, s, model.Batch{Accounts: []model.Account{account("a1", "crm:o1")}, Owners: []model.Owner{owner}},
		connectors.Watermark{"contacts": "1", "accounts": "1"})
	c := mustClient(t, s, "crm:a1")
	if got, want := contactIDs(c), []string{"crm:c1", "crm:c2"}; !slices.Equal(got, want) {
		t.Errorf("contacts = %v, want %v", got, want)
	}
	if got, want := dealIDs(c), []string{"crm:d1", "crm:d2"}; !slices.Equal(got, want) {
		t.Errorf("deals = %v, want %v", got, want)
	}
	if c.Owner == nil || *c.Owner != owner {
		t.Errorf("owner = %+v, want %+v", c.Owner, owner)
	}
	if !c.Account.CreatedAt.Equal(t0) || c.Account.Name != "Acme a1" || c.Deals[1].Amount != 20 {
		t.Errorf("records did not round-trip: %+v", c)
	}
}

func testMoveRecords(t *testing.T, s *Store) {
	mustStore(t, s, model.Batch{
		Accounts: []model.Account{account("a1", ""), account("a2", "")},
		Contacts: []model.Contact{contact("c1", "a1", "Ann@X.io"), contact("c2", "a1", "bob@x.io")},
		Deals:    []model.Deal{deal("d1", "a1", 5)},
	}, nil)
	// c1 moves to a2 and changes address; c2 is listed twice in one page,
	// ending at a2; d1 moves to a2.
	mustStore(t, s, model.Batch{
		Contacts: []model.Contact{contact("c1", "a2", "ann@y.io"), contact("c2", "a2", "bob@x.io"), contact("c2", "a1", "bob@x.io"), contact("c2", "a2", "bob@x.io")},
		Deals:    []model.Deal{deal("d1", "a2", 5)},
	}, nil)
	a1, a2 := mustClient(t, s, "crm:a1"), mustClient(t, s, "crm:a2")
	tests := []struct {
		name      string
		got, want []string
	}{
		{"a1 contacts", contactIDs(a1), []string{}},
		{"a2 contacts", contactIDs(a2), []string{"crm:c1", "crm:c2"}},
		{"a1 deals", dealIDs(a1), []string{}},
		{"a2 deals", dealIDs(a2), []string{"crm:d1"}},
	}
	for _, tt := range tests {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// testConcurrentMoves moves one contact back and forth from two
// goroutines: it must end filed under exactly one account.
func testConcurrentMoves(t *testing.T, s *Store) {
	mustStore(t, s, model.Batch{Accounts: []model.Account{account("a1", ""), account("a2", "")}}, nil)
	errs := make(chan error, 2)
	for _, acct := range []string{"a1", "a2"} {
		go func() {
			var err error
			for range 50 {
				err = errors.Join(err, s.Records.StorePage(context.Background(), "crm",
					model.Batch{Contacts: []model.Contact{contact("c1", acct, "c@x.io")}}, nil, nil))
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	n := len(mustClient(t, s, "crm:a1").Contacts) + len(mustClient(t, s, "crm:a2").Contacts)
	if n != 1 {
		t.Errorf("contact filed under %d accounts, want 1", n)
	}
}

func testWatermark(t *testing.T, s *Store) {
	ctx := context.Background()
	steps := []struct {
		name  string
		do    func() error
		wantN int
	}{
		{"none", func() error { return nil }, 0},
		{"set", func() error {
			return s.Records.StorePage(ctx, "crm", model.Batch{}, nil, connectors.Watermark{"accounts": "t1", "deals": "c9"})
		}, 2},
		{"replaced", func() error {
			return s.Records.StorePage(ctx, "crm", model.Batch{}, nil, connectors.Watermark{"accounts": "t2"})
		}, 1},
		{"reset", func() error { return s.Records.ResetWatermark(ctx, "crm") }, 0},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		wm, err := s.Records.Watermark(ctx, "crm")
		if err != nil || wm == nil || len(wm) != st.wantN {
			t.Errorf("%s: Watermark = %v, %v; want %d non-nil entries", st.name, wm, err, st.wantN)
		}
	}
	if err := s.Records.StorePage(ctx, "crm", model.Batch{Accounts: []model.Account{account("a1", "")}}, nil,
		connectors.Watermark{"accounts": "t3"}); err != nil {
		t.Fatal(err)
	}
	wm, _ := s.Records.Watermark(ctx, "crm")
	if _, ok, _ := s.Records.Client(ctx, "crm:a1"); !ok || wm["accounts"] != "t3" {
		t.Errorf("after StorePage: account stored %v, watermark %v; want both", ok, wm)
	}
	if other, _ := s.Records.Watermark(ctx, "other"); len(other) != 0 {
		t.Errorf("other source's watermark = %v, want empty", other)
	}
}

func testStorePageCanceled(t *testing.T, s *Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Records.StorePage(ctx, "crm", model.Batch{Accounts: []model.Account{account("a1", "")},
		Contacts: []model.Contact{contact("c1", "a1", "")}},
		[]model.Reject{{Reason: "bad"}}, connectors.Watermark{"accounts": "t1"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("StorePage(canceled) = %v, want context.Canceled", err)
	}
	keys, err := s.Redis().Keys(context.Background(), s.Namespace()+":*").Result()
	if err != nil || len(keys) != 0 {
		t.Errorf("keys after a canceled StorePage = %v, %v; want none", keys, err)
	}
}

func testRejects(t *testing.T, s *Store) {
	ctx := context.Background()
	var page []model.Reject
	for i := range 1005 {
		page = append(page, model.Reject{Entity: "contact", Where: fmt.Sprintf("contacts.csv:%d", i), Reason: "no id"})
	}
	if err := s.Records.StorePage(ctx, "crm", model.Batch{}, page[:5], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Records.StorePage(ctx, "crm", model.Batch{}, page[5:], nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		source    string
		n         int
		wantLen   int
		wantTotal int64
		wantFirst string
	}{
		{"crm", 3, 3, 1005, "contacts.csv:1004"},
		{"crm", 2000, MaxRejects, 1005, "contacts.csv:1004"},
		{"crm", 0, 0, 1005, ""},
		{"none", 10, 0, 0, ""},
	}
	for _, tt := range tests {
		got, total, err := s.Records.Rejects(ctx, tt.source, tt.n)
		if err != nil || len(got) != tt.wantLen || total != tt.wantTotal {
			t.Errorf("Rejects(%s, %d) = %d, %d, %v; want %d, %d", tt.source, tt.n, len(got), total, err, tt.wantLen, tt.wantTotal)
			continue
		}
		if tt.wantFirst == "" {
			continue
		}
		if got[0].Where != tt.wantFirst || got[0].Source != "crm" || got[0].At.IsZero() {
			t.Errorf("newest reject = %+v, want %s with source and time", got[0], tt.wantFirst)
		}
		if last := got[len(got)-1].Where; tt.n > MaxRejects && last != "contacts.csv:5" {
			t.Errorf("oldest kept reject = %s, want contacts.csv:5", last)
		}
	}
}

func testCountAccounts(t *testing.T, s *Store) {
	ctx := context.Background()
	mustStore(t, s, model.Batch{Accounts: []model.Account{account("c", ""), account("a", ""), account("b", ""), account("a", "")}}, nil)
	if n, err := s.Records.CountAccounts(ctx); err != nil || n != 3 {
		t.Errorf("CountAccounts = %d, %v; want 3", n, err)
	}
}

func testClientsAndOwner(t *testing.T, s *Store) {
	ctx := context.Background()
	owner := model.Owner{Ref: model.NewRef("crm", "o1"), Name: "Rep", Email: "rep@x.io"}
	mustStore(t, s, model.Batch{
		Accounts: []model.Account{account("a1", "crm:o1"), account("a2", "crm:gone"), account("a3", "crm:o1")},
		Owners:   []model.Owner{owner},
	}, nil)
	cs, err := s.Records.Clients(ctx, []string{"crm:a3", "crm:missing", "crm:a2", "crm:a1"})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(cs, func(c model.Client) string { return c.Account.ID })
	if want := []string{"crm:a3", "crm:a2", "crm:a1"}; !slices.Equal(got, want) {
		t.Fatalf("Clients = %v, want %v", got, want)
	}
	if cs[0].Owner == nil || cs[0].Owner.Email != "rep@x.io" || cs[1].Owner != nil || cs[1].Contacts != nil {
		t.Errorf("owners = %+v, %+v; want rep, nil", cs[0].Owner, cs[1].Owner)
	}
	if _, ok, err := s.Records.Client(ctx, "crm:missing"); ok || err != nil {
		t.Errorf("Client(missing) = %v, %v; want false, nil", ok, err)
	}
}

func testEachClient(t *testing.T, s *Store) {
	ctx := context.Background()
	var want []string
	var b model.Batch
	for i := 7; i > 0; i-- {
		b.Accounts = append(b.Accounts, account(fmt.Sprintf("a%d", i), ""))
		want = append([]string{fmt.Sprintf("crm:a%d", i)}, want...)
	}
	mustStore(t, s, b, nil)
	for _, batch := range []int{1, 3, 7, 100} {
		var got []string
		err := s.Records.EachClient(ctx, batch, func(c model.Client) error {
			got = append(got, c.Account.ID)
			return nil
		})
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("EachClient(batch %d) = %v, %v; want %v", batch, got, err, want)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := s.Records.EachClient(ctx, 3, func(model.Client) error {
		n++
		if n == 4 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 4 {
		t.Errorf("EachClient stopping = %v after %d; want stop after 4", err, n)
	}
}

func testCooldown(t *testing.T, s *Store) {
	ctx := context.Background()
	steps := []struct {
		rule, acct, pass string
		ttl              time.Duration
		want             bool
	}{
		{"inactive", "crm:a1", "p1", time.Hour, true},
		{"inactive", "crm:a1", "p1", time.Hour, true},  // same pass retried
		{"inactive", "crm:a1", "p2", time.Hour, false}, // next pass within cooldown
		{"inactive", "crm:a2", "p2", time.Hour, true},
		{"churn", "crm:a1", "p2", time.Hour, true},
		{"x:inactive", "a1", "p2", time.Hour, true}, // rule ':' never collides
		{"x", "inactive:a1", "p2", time.Hour, true},
		{"short", "crm:a1", "p1", 150 * time.Millisecond, true},
	}
	for i, st := range steps {
		got, err := s.Passes.AcquireCooldown(ctx, st.rule, st.acct, st.pass, st.ttl)
		if err != nil || got != st.want {
			t.Errorf("step %d: AcquireCooldown(%s, %s, %s) = %v, %v; want %v", i, st.rule, st.acct, st.pass, got, err, st.want)
		}
	}
	if ok, _ := s.Passes.AcquireCooldown(ctx, "short", "crm:a1", "p2", time.Hour); ok {
		t.Error("short cooldown acquired by another pass before it expired")
	}
	time.Sleep(300 * time.Millisecond)
	if ok, err := s.Passes.AcquireCooldown(ctx, "short", "crm:a1", "p2", time.Hour); !ok || err != nil {
		t.Errorf("after expiry: AcquireCooldown = %v, %v; want true", ok, err)
	}
	if _, err := s.Passes.AcquireCooldown(ctx, "r", "a", "p", 0); err == nil {
		t.Error("AcquireCooldown(ttl 0) succeeded, want an error")
	}
	until, ok, err := s.Passes.Cooldown(ctx, "inactive", "crm:a1")
	if err != nil || !ok || time.Until(until) <= 0 || time.Until(until) > time.Hour {
		t.Errorf("Cooldown(inactive, crm:a1) = %v, %v, %v; want running for up to an hour", until, ok, err)
	}
	if _, ok, err := s.Passes.Cooldown(ctx, "inactive", "crm:nobody"); ok || err != nil {
		t.Errorf("Cooldown of an account never flagged = %v, %v; want not running", ok, err)
	}
}

func entry(key string) Entry {
	return Entry{Key: key, Rule: "inactive", AccountID: "crm:a1", Recipient: "Ann@X.io", Channel: "email",
		Pass: "p1", Expression: "days_inactive >= 90", Features: map[string]any{"days_inactive": 120.0}}
}

func testClaimStateMachine(t *testing.T, s *Store) {
	ctx := context.Background()
	const key = "inactive:crm:a1:ann@x.io#2026-03"
	lease := time.Minute
	steps := []struct {
		name   string
		do     func() error // nil: no action before the claim
		token  string
		now    time.Time
		want   ClaimResult
		status string
	}{
		{"new", nil, "t1", t0, Claimed, StatusClaimed},
		{"other token within lease", nil, "t2", t0.Add(30 * time.Second), HeldByOther, StatusClaimed},
		{"released", func() error { return s.Ledger.Release(ctx, key, "t1", "smtp 451") }, "t2", t0.Add(time.Minute), Claimed, StatusClaimed},
		{"same token, never recorded", nil, "t2", t0.Add(90 * time.Second), NowUnknown, StatusUnknown},
		{"unknown stays unknown", nil, "t3", t0.Add(time.Hour), Unknown, StatusUnknown},
		{"reclaimed after a lookup", func() error { _, err := s.Ledger.Reclaim(ctx, key, "t3", lease, t0.Add(3*time.Minute)); return err },
			"t4", t0.Add(3*time.Minute + time.Second), HeldByOther, StatusClaimed},
		{"sent", func() error { return s.Ledger.MarkSent(ctx, key, "t3", t0.Add(4*time.Minute)) }, "t4", t0.Add(time.Hour), AlreadySent, StatusSent},
		{"sent, same token", nil, "t3", t0.Add(time.Hour), AlreadySent, StatusSent},
	}
	for _, st := range steps {
		if st.do != nil {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		got, err := s.Ledger.Claim(ctx, entry(key), st.token, lease, st.now)
		if err != nil || got != st.want {
			t.Fatalf("%s: Claim(%s) = %v, %v; want %v", st.name, st.token, got, err, st.want)
		}
		e, err := s.Ledger.Entry(ctx, key)
		if err != nil || e.Status != st.status {
			t.Fatalf("%s: entry status = %q, %v; want %q", st.name, e.Status, err, st.status)
		}
	}
	e, _ := s.Ledger.Entry(ctx, key)
	if e.Token != "t3" || !e.ClaimedAt.Equal(t0.Add(3*time.Minute)) || !e.SentAt.Equal(t0.Add(4*time.Minute)) ||
		e.Error != "" || e.Features["days_inactive"] != 120.0 || e.Recipient != "Ann@X.io" {
		t.Errorf("final entry = %+v", e)
	}
	ttl, err := s.Redis().PTTL(ctx, s.ledgerKey(key)).Result()
	if err != nil || ttl < LedgerTTL-time.Minute || ttl > LedgerTTL {
		t.Errorf("entry TTL = %v, %v; want about %v", ttl, err, LedgerTTL)
	}
	if _, err := s.Ledger.Claim(ctx, entry(key), "t1", 0, t0); err == nil {
		t.Error("Claim with no lease succeeded, want an error")
	}
}

func testMarkSentAndRelease(t *testing.T, s *Store) {
	ctx := context.Background()
	if _, err := s.Ledger.Claim(ctx, entry("k"), "t1", time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		do      func() error
		wantErr error
		status  string
	}{
		{"mark sent by other", func() error { return s.Ledger.MarkSent(ctx, "k", "t2", t0) }, ErrClaimLost, StatusClaimed},
		{"release by other", func() error { return s.Ledger.Release(ctx, "k", "t2", "x") }, ErrClaimLost, StatusClaimed},
		{"release", func() error { return s.Ledger.Release(ctx, "k", "t1", "timeout") }, nil, StatusFailed},
		{"mark sent after release", func() error { return s.Ledger.MarkSent(ctx, "k", "t1", t0) }, ErrClaimLost, StatusFailed},
		{"reclaim", func() error { _, err := s.Ledger.Claim(ctx, entry("k"), "t2", time.Minute, t0); return err }, nil, StatusClaimed},
		{"mark sent by old holder", func() error { return s.Ledger.MarkSent(ctx, "k", "t1", t0) }, ErrClaimLost, StatusClaimed},
		{"mark sent", func() error { return s.Ledger.MarkSent(ctx, "k", "t2", t0) }, nil, StatusSent},
		{"mark sent again", func() error { return s.Ledger.MarkSent(ctx, "k", "t2", t0) }, nil, StatusSent},
		{"release after sent", func() error { return s.Ledger.Release(ctx, "k", "t2", "x") }, ErrClaimLost, StatusSent},
		{"mark sent unknown", func() error { return s.Ledger.MarkSent(ctx, "nope", "t2", t0) }, ErrClaimLost, StatusSent},
	}
	for _, st := range steps {
		if err := st.do(); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if e, err := s.Ledger.Entry(ctx, "k"); err != nil || e.Status != st.status {
			t.Fatalf("%s: status = %q, %v; want %q", st.name, e.Status, err, st.status)
		}
	}
	if _, err := s.Ledger.Entry(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Entry(nope) = %v, want ErrNotFound", err)
	}
}

func testHistory(t *testing.T, s *Store) {
	ctx := context.Background()
	claims := []struct {
		key, acct, rcpt string
		at              time.Duration
	}{
		{"k1", "crm:a1", "ann@x.io", 0},
		{"k2:x@y#1", "crm:a1", "#sales", time.Hour},
		{"k3", "crm:a2", "ANN@x.io", 2 * time.Hour},
		{"k4", "crm:a1", "ann@x.io", 3 * time.Hour},
	}
	for _, c := range claims {
		e := Entry{Key: c.key, Rule: "r", AccountID: c.acct, Recipient: c.rcpt, Channel: "email"}
		if _, err := s.Ledger.Claim(ctx, e, "t", time.Minute, t0.Add(c.at)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Redis().Del(ctx, s.ledgerKey("k4")).Err(); err != nil { // as if it expired
		t.Fatal(err)
	}
	tests := []struct {
		name string
		get  func() ([]Entry, error)
		want []string
	}{
		{"account a1", func() ([]Entry, error) { return s.Ledger.History(ctx, "crm:a1") }, []string{"k2:x@y#1", "k1"}},
		{"account a2", func() ([]Entry, error) { return s.Ledger.History(ctx, "crm:a2") }, []string{"k3"}},
		{"unknown account", func() ([]Entry, error) { return s.Ledger.History(ctx, "crm:zz") }, []string{}},
		{"recipient", func() ([]Entry, error) { return s.Ledger.HistoryByRecipient(ctx, "Ann@X.io") }, []string{"k3", "k1"}},
		{"slack target", func() ([]Entry, error) { return s.Ledger.HistoryByRecipient(ctx, "#sales") }, []string{"k2:x@y#1"}},
	}
	for _, tt := range tests {
		es, err := tt.get()
		got := ids(es, func(e Entry) string { return e.Key })
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	if n, _ := s.Redis().ZCard(ctx, s.accountIndex("crm:a1")).Result(); n != 2 {
		t.Errorf("account index holds %d keys after pruning, want 2", n)
	}
}

// testClaimConcurrent claims the same 200 keys from 8 goroutines with
// different tokens: each key must be Claimed exactly once.
func testClaimConcurrent(t *testing.T, s *Store) {
	const workers, keys = 8, 200
	counts := make(chan []int, workers)
	for w := range workers {
		go func() {
			got := make([]int, keys)
			for k := range keys {
				e := Entry{Key: fmt.Sprintf("r:crm:a%d:x@y", k), AccountID: "crm:a", Recipient: "x@y"}
				r, err := s.Ledger.Claim(context.Background(), e, fmt.Sprintf("task-%d", w), time.Minute, time.Now())
				if err != nil {
					t.Error(err)
				}
				if r == Claimed {
					got[k]++
				}
			}
			counts <- got
		}()
	}
	total := make([]int, keys)
	for range workers {
		for k, n := range <-counts {
			total[k] += n
		}
	}
	for k, n := range total {
		if n != 1 {
			t.Errorf("key %d claimed %d times, want 1", k, n)
		}
	}
}

func testSuppression(t *testing.T, s *Store) {
	ctx := context.Background()
	if err := s.Suppressions.Suppress(ctx, " Ann@Example.COM ", "unsubscribed", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Suppressions.Suppress(ctx, "", "x", t0); err == nil {
		t.Error("Suppress(\"\") succeeded, want an error")
	}
	tests := []struct {
		email, reason string
		ok            bool
	}{
		{"ann@example.com", "unsubscribed", true},
		{"ANN@EXAMPLE.COM", "unsubscribed", true},
		{"bob@example.com", "", false},
	}
	check := func(stage string) {
		for _, tt := range tests {
			reason, ok, err := s.Suppressions.Suppressed(ctx, tt.email)
			if err != nil || ok != tt.ok || reason != tt.reason {
				t.Errorf("%s: Suppressed(%s) = %q, %v, %v; want %q, %v", stage, tt.email, reason, ok, err, tt.reason, tt.ok)
			}
		}
	}
	check("suppressed")
	if err := s.Suppressions.Unsuppress(ctx, "aNN@example.com"); err != nil {
		t.Fatal(err)
	}
	tests[0].ok, tests[0].reason, tests[1].ok, tests[1].reason = false, "", false, ""
	check("unsuppressed")
}

func testReports(t *testing.T, s *Store) {
	ctx := context.Background()
	if _, _, err := s.Passes.LatestReport(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("LatestReport(empty) = %v, want ErrNotFound", err)
	}
	for _, p := range []string{"p1", "p2"} {
		if err := s.Passes.SaveReport(ctx, p, []byte(`{"pass":"`+p+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		pass, want string
		err        error
	}{
		{"p1", `{"pass":"p1"}`, nil},
		{"p2", `{"pass":"p2"}`, nil},
		{"p3", "", ErrNotFound},
	}
	for _, tt := range tests {
		got, err := s.Passes.Report(ctx, tt.pass)
		if !errors.Is(err, tt.err) || string(got) != tt.want {
			t.Errorf("Report(%s) = %s, %v; want %s, %v", tt.pass, got, err, tt.want, tt.err)
		}
	}
	pass, data, err := s.Passes.LatestReport(ctx)
	if err != nil || pass != "p2" || string(data) != `{"pass":"p2"}` {
		t.Errorf("LatestReport = %s, %s, %v; want p2", pass, data, err)
	}
}

func TestOpenEmbeddedTTLFollowsWallClock(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "", "demo")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Embedded() {
		t.Fatal("Embedded() = false for Open(\"\")")
	}
	if err := s.Redis().Set(ctx, "demo:k", "v", time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Passes.AcquireCooldown(ctx, "r", "a", "p1", time.Second); !ok || err != nil {
		t.Fatalf("AcquireCooldown = %v, %v", ok, err)
	}
	time.Sleep(1200 * time.Millisecond)
	if n, err := s.Redis().Exists(ctx, "demo:k").Result(); err != nil || n != 0 {
		t.Errorf("1s key exists after 1.2s: %d, %v", n, err)
	}
	if ok, err := s.Passes.AcquireCooldown(ctx, "r", "a", "p2", time.Second); !ok || err != nil {
		t.Errorf("cooldown not expired after 1.2s: %v, %v", ok, err)
	}
}

func TestOpen(t *testing.T) {
	m := miniredis.RunT(t)
	tests := []struct {
		name     string
		url      string
		wantErr  bool
		embedded bool
	}{
		{"real server", "redis://" + m.Addr() + "/0", false, false},
		{"embedded", "", false, true},
		{"bad url", "http://nope", true, false},
		{"unreachable", "redis://127.0.0.1:1/0", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := Open(ctx, tt.url, "")
			if (err != nil) != tt.wantErr {
				t.Fatalf("Open(%q) err = %v, want error %v", tt.url, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer s.Close()
			if s.Embedded() != tt.embedded || s.Namespace() != DefaultNamespace {
				t.Errorf("Embedded() = %v, Namespace() = %q", s.Embedded(), s.Namespace())
			}
			if err := s.Redis().Ping(ctx).Err(); err != nil {
				t.Errorf("ping: %v", err)
			}
		})
	}
}

// roundTrips counts the commands and pipelines a client sends.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

func TestClientsRoundTrips(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { rdb.Close() })
	s := New(rdb, "t")
	var b model.Batch
	var want []string
	for i := range 50 {
		id := fmt.Sprintf("a%02d", i)
		b.Accounts = append(b.Accounts, account(id, fmt.Sprintf("crm:o%d", i%3)))
		b.Contacts = append(b.Contacts, contact("c"+id, id, ""))
		want = append(want, "crm:"+id)
	}
	mustStore(t, s, b, nil)
	rt := &roundTrips{}
	rdb.AddHook(rt)
	// Warm the pool: opening a connection sends its own setup commands.
	if _, err := s.Records.Clients(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ids  []string
		want int64
	}{
		{want[:1], 2},
		{want, 2},
		{[]string{}, 0},
	}
	for _, tt := range tests {
		rt.n.Store(0)
		cs, err := s.Records.Clients(context.Background(), tt.ids)
		if err != nil || len(cs) != len(tt.ids) {
			t.Fatalf("Clients(%d ids) = %d, %v", len(tt.ids), len(cs), err)
		}
		if got := rt.n.Load(); got != tt.want {
			t.Errorf("Clients(%d ids) took %d round trips, want %d", len(tt.ids), got, tt.want)
		}
	}
}

func testAccountIDRange(t *testing.T, s *Store) {
	ctx := context.Background()
	var b model.Batch
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		b.Accounts = append(b.Accounts, account(id, ""))
	}
	if err := s.Records.StorePage(ctx, "crm", b, nil, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from, to string
		limit    int64
		want     []string
	}{
		{"", "", 10, []string{"crm:a", "crm:b", "crm:c", "crm:d", "crm:e"}},
		{"crm:b", "crm:d", 10, []string{"crm:b", "crm:c"}},
		{"crm:d", "", 10, []string{"crm:d", "crm:e"}},
		{"", "crm:b", 10, []string{"crm:a"}},
		{"", "", 2, []string{"crm:a", "crm:b"}},
		{"crm:bb", "crm:e", 10, []string{"crm:c", "crm:d"}},
	}
	for _, tt := range tests {
		got, err := s.Records.AccountIDRange(ctx, tt.from, tt.to, tt.limit)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("AccountIDRange(%q, %q, %d) = %v, %v; want %v", tt.from, tt.to, tt.limit, got, err, tt.want)
		}
	}
}

func testPasses(t *testing.T, s *Store) {
	ctx := context.Background()
	steps := []struct {
		pass       string
		ok         bool
		wantHolder string
	}{
		{"p1", true, "p1"},
		{"p1", true, "p1"},  // a retried coordinator
		{"p2", false, "p1"}, // passes never overlap
	}
	for _, st := range steps {
		ok, holder, err := s.Passes.LockPass(ctx, st.pass, time.Hour)
		if err != nil || ok != st.ok || holder != st.wantHolder {
			t.Fatalf("LockPass(%s) = %v, %q, %v; want %v, %q", st.pass, ok, holder, err, st.ok, st.wantHolder)
		}
	}
	if err := s.Passes.UnlockPass(ctx, "p2"); err != nil { // not the holder: no effect
		t.Fatal(err)
	}
	if ok, _, _ := s.Passes.LockPass(ctx, "p2", time.Hour); ok {
		t.Fatal("p2 took the lock p1 holds")
	}
	if err := s.Passes.UnlockPass(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := s.Passes.LockPass(ctx, "p2", time.Hour); !ok {
		t.Fatal("p2 could not lock after p1 ended")
	}

	if _, err := s.Passes.PassPlan(ctx, "p1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PassPlan of an unknown pass: %v, want ErrNotFound", err)
	}
	if err := s.Passes.SavePassPlan(ctx, "p1", []byte(`{"shards":3}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Passes.PassPlan(ctx, "p1"); err != nil || string(b) != `{"shards":3}` {
		t.Fatalf("PassPlan = %s, %v", b, err)
	}
	for i, st := range []struct {
		shard int
		want  int64
	}{{2, 1}, {0, 2}, {2, 2}, {10, 3}} { // shard 2 saved twice counts once
		n, err := s.Passes.SaveShardResult(ctx, "p1", st.shard, []byte(strconv.Itoa(st.shard)))
		if err != nil || n != st.want {
			t.Fatalf("step %d: SaveShardResult(%d) = %d, %v; want %d", i, st.shard, n, err, st.want)
		}
	}
	res, err := s.Passes.ShardResults(ctx, "p1")
	if err != nil || len(res) != 3 || string(res[0]) != "0" || string(res[1]) != "2" || string(res[2]) != "10" {
		t.Fatalf("ShardResults = %q, %v; want shards 0, 2, 10 in order", res, err)
	}
}

func testFlagStates(t *testing.T, s *Store) {
	ctx := context.Background()
	got, err := s.Passes.FlagStates(ctx, "x:quiet", []string{"crm:a", "crm:b"})
	if err != nil || len(got) != 2 || got[0] != nil || got[1] != nil {
		t.Fatalf("FlagStates before any = %v, %v; want two nils", got, err)
	}
	set := map[string]FlagState{
		"crm:a": {Since: t0},
		"crm:b": {Since: t0, FiredAt: t0.Add(time.Hour), Pass: "p1"},
	}
	if err := s.Passes.SaveRuleStates(ctx, []RuleUpdate{{Rule: "x:quiet", Set: set}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Passes.FlagStates(ctx, "x", []string{"crm:a"}); got[0] != nil {
		t.Fatal("rule names with ':' collide")
	}
	got, err = s.Passes.FlagStates(ctx, "x:quiet", []string{"crm:b", "crm:c", "crm:a"})
	if err != nil || got[0] == nil || !got[0].FiredAt.Equal(t0.Add(time.Hour)) || got[0].Pass != "p1" || got[1] != nil || got[2] == nil || !got[2].FiredAt.IsZero() {
		t.Fatalf("FlagStates = %+v, %v", got, err)
	}
	if err := s.Passes.SaveRuleStates(ctx, []RuleUpdate{{Rule: "x:quiet", Set: map[string]FlagState{"crm:c": {Since: t0}}, Clear: []string{"crm:a"}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Passes.FlagStates(ctx, "x:quiet", []string{"crm:a", "crm:c"})
	if got[0] != nil || got[1] == nil {
		t.Fatalf("after set+clear: %+v; want a cleared, c set", got)
	}

	e := Entry{Key: "resolve|quiet|crm:a|p2", Rule: "quiet", AccountID: "crm:a", Pass: "p2", Expression: "days_inactive >= 90", Features: map[string]any{"days_inactive": 3.0}}
	if err := s.Passes.RecordResolved(ctx, e, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	hist, err := s.Ledger.History(ctx, "crm:a")
	if err != nil || len(hist) != 1 || hist[0].Status != StatusResolved || !hist[0].ClaimedAt.Equal(t0.Add(2*time.Hour)) || hist[0].Features["days_inactive"] != 3.0 {
		t.Fatalf("History after RecordResolved = %+v, %v", hist, err)
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := Open(context.Background(), "", "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v, want the first result", err)
	}
}

func testFirstSeen(t *testing.T, s *Store) {
	ctx := context.Background()
	for i, want := range []bool{true, false, false} {
		got, err := s.Suppressions.FirstSeen(ctx, "sg:evt-1", time.Hour)
		if err != nil || got != want {
			t.Fatalf("call %d: FirstSeen = %v, %v; want %v", i, got, err, want)
		}
	}
	if got, _ := s.Suppressions.FirstSeen(ctx, "sg:evt-2", time.Hour); !got {
		t.Fatal("another key was taken for a duplicate")
	}
	if err := s.Suppressions.Forget(ctx, "sg:evt-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Suppressions.FirstSeen(ctx, "sg:evt-1", time.Hour); !got {
		t.Fatal("a forgotten key is not first again")
	}
}

func testRejectAndDead(t *testing.T, s *Store) {
	ctx := context.Background()
	e := entry("k-rejected")
	if _, err := s.Ledger.Claim(ctx, e, "t1", time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Ledger.Reject(ctx, "k-rejected", "t2", "bad address"); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("Reject by another token = %v, want ErrClaimLost", err)
	}
	if err := s.Ledger.Reject(ctx, "k-rejected", "t1", "bad address"); err != nil {
		t.Fatal(err)
	}
	// A rejected message is never claimed again, not even by its own task's retry.
	if res, err := s.Ledger.Claim(ctx, e, "t1", time.Minute, t0.Add(time.Hour)); err != nil || res != AlreadySent {
		t.Fatalf("Claim after Reject = %v, %v; want AlreadySent", res, err)
	}
	if ok, _ := s.Ledger.MarkDead(ctx, e, "late", t0); ok {
		t.Fatal("MarkDead overwrote a rejected entry")
	}

	// A failed (released) message whose retries ran out becomes dead.
	f := entry("k-failed")
	if _, err := s.Ledger.Claim(ctx, f, "t1", time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Ledger.Release(ctx, "k-failed", "t1", "503"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Ledger.MarkDead(ctx, f, "503 after 8 retries", t0.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("MarkDead = %v, %v", ok, err)
	}
	// A message never claimed (its batch failed before it) gets a record too.
	n := entry("k-never")
	n.AccountID = "crm:a9"
	if ok, err := s.Ledger.MarkDead(ctx, n, "store down", t0); !ok || err != nil {
		t.Fatalf("MarkDead of an unclaimed entry = %v, %v", ok, err)
	}
	for _, k := range []string{"k-failed", "k-never"} {
		got, err := s.Ledger.Entry(ctx, k)
		if err != nil || got.Status != StatusDead || got.Error == "" {
			t.Fatalf("Entry(%s) = %+v, %v; want dead with its error", k, got, err)
		}
		if res, _ := s.Ledger.Claim(ctx, got, "t9", time.Minute, t0.Add(2*time.Hour)); res != AlreadySent {
			t.Fatalf("a dead entry was claimed again: %v", res)
		}
	}
	if h, err := s.Ledger.History(ctx, "crm:a9"); err != nil || len(h) != 1 || h[0].Status != StatusDead {
		t.Fatalf("History of the unclaimed dead entry = %+v, %v", h, err)
	}
	// A sent message is never turned into a dead letter.
	sent := entry("k-sent")
	s.Ledger.Claim(ctx, sent, "t1", time.Minute, t0)
	s.Ledger.MarkSent(ctx, "k-sent", "t1", t0)
	if ok, _ := s.Ledger.MarkDead(ctx, sent, "x", t0); ok {
		t.Fatal("MarkDead overwrote a sent entry")
	}
}

func testSnoozeAndContacted(t *testing.T, s *Store) {
	ctx := context.Background()
	if _, ok, err := s.Passes.Snoozed(ctx, "quiet", "crm:a"); ok || err != nil {
		t.Fatalf("Snoozed before any = %v, %v", ok, err)
	}
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	if err := s.Passes.Snooze(ctx, "quiet", "crm:a", until); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.Passes.Snoozed(ctx, "quiet", "crm:a"); !ok || err != nil || !got.Equal(until) {
		t.Fatalf("Snoozed = %v, %v, %v; want until %v", got, ok, err, until)
	}
	if _, ok, _ := s.Passes.Snoozed(ctx, "other", "crm:a"); ok {
		t.Fatal("a snooze of one rule held back another")
	}

	a := account("c1", "")
	a.LastActivityAt = t0
	if err := s.Records.StorePage(ctx, "crm", model.Batch{Accounts: []model.Account{a}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{t0.Add(48 * time.Hour), t0.Add(24 * time.Hour)} { // an older click never wins
		if err := s.Records.MarkContacted(ctx, "crm:c1", at); err != nil {
			t.Fatal(err)
		}
	}
	c, _, err := s.Records.Client(ctx, "crm:c1")
	if err != nil || !c.Account.LastActivityAt.Equal(t0.Add(48*time.Hour)) {
		t.Fatalf("LastActivityAt = %v, %v; want the contacted time", c.Account.LastActivityAt, err)
	}
	// A later activity from the CRM wins over the click.
	a.LastActivityAt = t0.Add(72 * time.Hour)
	s.Records.StorePage(ctx, "crm", model.Batch{Accounts: []model.Account{a}}, nil, nil)
	if c, _, _ := s.Records.Client(ctx, "crm:c1"); !c.Account.LastActivityAt.Equal(t0.Add(72 * time.Hour)) {
		t.Fatalf("LastActivityAt = %v; want the CRM's later activity", c.Account.LastActivityAt)
	}
}

func testDigestItems(t *testing.T, s *Store) {
	ctx := context.Background()
	if got, err := s.Passes.DigestItems(ctx, "p1"); err != nil || len(got) != 0 {
		t.Fatalf("DigestItems of a pass without digests = %v, %v", got, err)
	}
	s.Passes.AddDigestItems(ctx, "p1", map[string][][]byte{"quiet|rep@x": {[]byte("a"), []byte("b")}})
	s.Passes.AddDigestItems(ctx, "p1", map[string][][]byte{"quiet|rep@x": {[]byte("c")}, "quiet|#sales": {[]byte("d")}})
	got, err := s.Passes.DigestItems(ctx, "p1")
	if err != nil || len(got) != 2 || string(bytes.Join(got["quiet|rep@x"], nil)) != "abc" || string(got["quiet|#sales"][0]) != "d" {
		t.Fatalf("DigestItems = %q, %v", got, err)
	}
}

// TestMaybeDone: an error Redis answered means the command did not run;
// a connection that failed may have carried it out.
func TestMaybeDone(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	defer rdb.Close()
	m.SetError("LOADING Redis is loading the dataset in memory")
	replied := rdb.Set(ctx, "k", "v", 0).Err()
	m.SetError("")
	m.Close()
	lost := rdb.Set(ctx, "k", "v", 0).Err()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"answered by Redis", replied, false},
		{"connection gone", lost, true},
		{"timed out", context.DeadlineExceeded, true},
	}
	for _, tt := range tests {
		if got := MaybeDone(tt.err); got != tt.want {
			t.Errorf("%s: MaybeDone(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
