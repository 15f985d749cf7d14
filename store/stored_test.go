package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
)

func init() {
	coreTests = append(coreTests,
		coreTest{"FreshSourceReadsOwnWrites", testFreshSourceReadsOwnWrites},
		coreTest{"FreshSourceSweep", testFreshSourceSweep},
		coreTest{"MigrateMarksStored", testMigrateMarksStored},
	)
}

// readCount counts the fields a client asks HMGET about.
type readCount struct{ fields atomic.Int64 }

func (r *readCount) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *readCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.count(cmd)
		return next(ctx, cmd)
	}
}

func (r *readCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			r.count(c)
		}
		return next(ctx, cmds)
	}
}

func (r *readCount) count(c redis.Cmder) {
	if strings.EqualFold(c.Name(), "hmget") {
		r.fields.Add(int64(len(c.Args()) - 2))
	}
}

// countingStore is s on a client of its own that counts its reads.
func countingStore(t *testing.T, s *Store) (*Store, *readCount) {
	t.Helper()
	c, ok := s.rdb.(*redis.Client)
	if !ok {
		t.Skipf("client %T", s.rdb)
	}
	rdb := redis.NewClient(c.Options())
	t.Cleanup(func() { rdb.Close() })
	rc := &readCount{}
	rdb.AddHook(rc)
	return New(rdb, s.ns), rc
}

// testFreshSourceReadsOwnWrites: the first sync of a source asks Redis
// nothing about records its pages did not write, and what it did write
// is read back: a contact that moves to an account of an earlier page,
// and a deal added to one, keep what was there. A second sync reads
// everything.
func testFreshSourceReadsOwnWrites(t *testing.T, s *Store) {
	ctx := context.Background()
	s, rc := countingStore(t, s)
	w := s.Records.PageWriter("crm", lockCRM(t, s, "first"))
	for i := range 3 {
		if err := w.Put(ctx, recordsPage(i, 5), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rc.fields.Load(); n != 0 {
		t.Errorf("a first sync of new records asked about %d fields, want 0", n)
	}
	late := model.Batch{
		Contacts: []model.Contact{contact("a1-0-c0", "a0-0", "moved@x.io")},
		Deals:    []model.Deal{deal("late", "a2-4", 7)},
	}
	if err := w.Put(ctx, late, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rc.fields.Load(); n != 4 { // the contact's pointer, its old and new accounts; the deal's account
		t.Errorf("a page touching earlier pages' records asked about %d fields, want 4", n)
	}
	checkContacts(t, s, "crm:a0-0", "crm:a0-0-c0", "crm:a0-0-c1", "crm:a1-0-c0")
	checkContacts(t, s, "crm:a1-0", "crm:a1-0-c1")
	if got := dealIDs(mustClient(t, s, "crm:a2-4")); !slices.Equal(got, []string{"crm:a2-4-d0", "crm:a2-4-d1", "crm:a2-4-d2", "crm:late"}) {
		t.Errorf("a2-4 deals = %v", got)
	}

	if err := s.rdb.Del(ctx, s.syncLockKey("crm")).Err(); err != nil { // the first sync ended
		t.Fatal(err)
	}
	second := s.Records.PageWriter("crm", lockCRM(t, s, "second"))
	if err := second.Put(ctx, recordsPage(9, 5), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := second.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if second.known != nil {
		t.Error("a second sync took the source as never written")
	}
}

// checkContacts checks the ids of the contacts of account id.
func checkContacts(t *testing.T, s *Store, id string, want ...string) {
	t.Helper()
	if got := contactIDs(mustClient(t, s, id)); !slices.Equal(got, want) {
		t.Errorf("%s contacts = %v, want %v", id, got, want)
	}
}

// testFreshSourceSweep: a full sync's sweep opened before the first page
// of a source never written marks every record its pages store as seen,
// though they ask Redis nothing, so the sweep removes none of them.
func testFreshSourceSweep(t *testing.T, s *Store) {
	ctx := context.Background()
	if err := s.Records.BeginSweep(ctx, "crm", t0); err != nil {
		t.Fatal(err)
	}
	w := s.Records.PageWriter("crm", lockCRM(t, s, "sync"))
	for i := range 2 {
		if err := w.Put(ctx, recordsPage(i, 5), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if w.known == nil {
		t.Fatal("the sync read the source as written before")
	}
	st, err := s.Records.EndSweep(ctx, "crm")
	if err != nil || st != (SweepStats{}) {
		t.Fatalf("EndSweep = %+v, %v; want nothing removed", st, err)
	}
	if n, err := s.Records.CountAccounts(ctx); err != nil || n != 10 {
		t.Errorf("accounts = %d, %v; want 10", n, err)
	}
	checkContacts(t, s, "crm:a1-4", "crm:a1-4-c0", "crm:a1-4-c1")
}

// testMigrateMarksStored: a store of layout 7 holds records of sources
// that have no stored mark; Migrate marks each source that has a bundle
// (one of them only contacts filed under an account not synced yet),
// over several HSCAN slices, and no other.
func testMigrateMarksStored(t *testing.T, s *Store) {
	ctx := context.Background()
	var fields []any
	x := (&bundle{contacts: []filedEntry{{id: "x"}}}).encode() // a bundle of contacts only
	for i := range 2500 {
		fields = append(fields, fmt.Sprintf("crm:a%d", i), x)
	}
	fields = append(fields, "erp:7", x, "files-2:a:b", x)
	if err := s.rdb.HSet(ctx, s.key("records"), fields...).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.ZAdd(ctx, s.key("accounts"), redis.Z{Member: "crm:a1"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.Set(ctx, s.key("schema"), "7", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Records.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"crm", "erp", "files-2", "hubspot"} {
		n, err := s.rdb.Exists(ctx, s.key("stored", src)).Result()
		if want := int64(1); src == "hubspot" {
			want = 0
			if n != want || err != nil {
				t.Errorf("%s marked stored: %d, %v", src, n, err)
			}
		} else if n != want || err != nil {
			t.Errorf("%s not marked stored: %d, %v", src, n, err)
		}
	}
	if ok, _, err := s.Syncs.LockSync(ctx, "erp", "sync", time.Minute); !ok || err != nil {
		t.Fatalf("lock: %v, %v", ok, err)
	}
	w := s.Records.PageWriter("erp", "sync")
	if err := w.Put(ctx, model.Batch{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if w.known != nil {
		t.Error("a migrated source read as never written")
	}
}
