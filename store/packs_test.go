package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
)

// filedPointer reads where the pointer of field says its record is filed.
func filedPointer(ctx context.Context, s *Store, field string) (string, error) {
	prefix := packPrefix(field)
	v, err := s.rdb.HGet(ctx, s.key("ptrs", packBucket(prefix)), prefix).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return packLookup(v, field[len(field)-1])
}

func TestPacks(t *testing.T) {
	es := []packEntry{{'7', "crm:a2"}, {'0', "crm:a1"}, {'9', ""}, {'3', string(make([]byte, 300))}}
	v := encodePack(slices.Clone(es))
	got, err := decodePack(v)
	if err != nil {
		t.Fatal(err)
	}
	want := []packEntry{{'0', "crm:a1"}, {'3', string(make([]byte, 300))}, {'7', "crm:a2"}, {'9', ""}}
	if !slices.Equal(got, want) {
		t.Errorf("decodePack(encodePack) = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		last byte
		want string
	}{{'7', "crm:a2"}, {'0', "crm:a1"}, {'5', ""}} {
		if got, err := packLookup(v, tt.last); got != tt.want || err != nil {
			t.Errorf("packLookup(%c) = %q, %v; want %q", tt.last, got, err, tt.want)
		}
	}
	if encodePack(nil) != "" {
		t.Error("an empty pack is not empty")
	}
	for _, bad := range []string{"7", "7\x05crm", "7\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"} {
		if _, err := decodePack(bad); !errors.Is(err, errBadPack) {
			t.Errorf("decodePack(%q) = %v, want errBadPack", bad, err)
		}
	}
	if packBucket("ccrm:C00001") != packBucket("ccrm:C00009") || packPrefix("ccrm:C000017") != "ccrm:C00001" {
		t.Error("consecutive ids do not share a pack and a bucket")
	}
}

func init() {
	coreTests = append(coreTests, coreTest{"MigratePacksPointers", testMigratePacksPointers})
}

// testMigratePacksPointers: the pointers of a layout 7 store, a field
// each in <ns>:filed:<bucket>, become packs; a pack a newer sync wrote
// meanwhile is kept; the old buckets go; a contact then moves between
// accounts as it would have before.
func testMigratePacksPointers(t *testing.T, s *Store) {
	ctx := context.Background()
	b := model.Batch{Accounts: []model.Account{account("a1", ""), account("a2", "")}}
	want := map[string]string{}
	pipe := s.rdb.Pipeline()
	for i := 5; i < 35; i++ {
		c := contact(fmt.Sprintf("c%d", i), "a1", "")
		b.Contacts = append(b.Contacts, c)
		f := filedField('c', c.ID)
		want[f] = "crm:a1"
		pipe.HSet(ctx, s.key("filed", filedBucket(f)), f, "crm:a1")
	}
	mustStore(t, s, b, nil)
	if err := s.rdb.Del(ctx, s.rdb.Keys(ctx, s.key("ptrs", "*")).Val()...).Err(); err != nil {
		t.Fatal(err)
	}
	newer := encodePack([]packEntry{{'0', "crm:a2"}})
	pipe.HSet(ctx, s.key("ptrs", packBucket("ccrm:c3")), "ccrm:c3", newer) // c30-c34's pack
	want["ccrm:c30"] = "crm:a2"
	for _, f := range []string{"ccrm:c31", "ccrm:c32", "ccrm:c33", "ccrm:c34"} {
		want[f] = ""
	}
	pipe.Set(ctx, s.key("schema"), "7", 0)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Records.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for f, w := range want {
		if got, err := filedPointer(ctx, s, f); got != w || err != nil {
			t.Errorf("pointer %s = %q, %v; want %q", f, got, err, w)
		}
	}
	if keys := s.rdb.Keys(ctx, s.key("filed", "*")).Val(); len(keys) != 0 {
		t.Errorf("layout 7 buckets left: %v", keys)
	}
	mustStore(t, s, model.Batch{Contacts: []model.Contact{contact("c12", "a2", "")}}, nil)
	if got := contactIDs(mustClient(t, s, "crm:a2")); !slices.Equal(got, []string{"crm:c12"}) {
		t.Errorf("a2 contacts = %v, want [crm:c12]", got)
	}
	if got, _ := filedPointer(ctx, s, "ccrm:c12"); got != "crm:a2" {
		t.Errorf("c12 is filed under %q, want crm:a2", got)
	}
	if got := len(contactIDs(mustClient(t, s, "crm:a1"))); got != 29 {
		t.Errorf("a1 has %d contacts, want 29", got)
	}
}

func init() {
	coreTests = append(coreTests, coreTest{"DropKeepsPointerElsewhere", testDropKeepsPointerElsewhere})
}

// testDropKeepsPointerElsewhere: an account that goes drops the pointers
// of its contacts, but not one that points at another account by then
// (its bundle still listed the contact: a write that moved it, then a
// crash, in an earlier crmsync), nor its pack's other pointers.
func testDropKeepsPointerElsewhere(t *testing.T, s *Store) {
	ctx := context.Background()
	mustStore(t, s, model.Batch{
		Accounts: []model.Account{account("a1", ""), account("a2", "")},
		Contacts: []model.Contact{contact("c1", "a1", ""), contact("c2", "a1", ""), contact("c3", "a2", "")},
	}, nil)
	moved := encodePack([]packEntry{{'1', "crm:a2"}, {'2', "crm:a1"}, {'3', "crm:a2"}})
	if err := s.rdb.HSet(ctx, s.key("ptrs", packBucket("ccrm:c")), "ccrm:c", moved).Err(); err != nil {
		t.Fatal(err)
	}
	mustStore(t, s, model.Batch{Deleted: []model.Deletion{{Entity: model.EntityAccount, ID: "crm:a1"}}}, nil)
	for f, want := range map[string]string{"ccrm:c1": "crm:a2", "ccrm:c2": "", "ccrm:c3": "crm:a2"} {
		if got, err := filedPointer(ctx, s, f); got != want || err != nil {
			t.Errorf("%s = %q, %v; want %q", f, got, err, want)
		}
	}
}
