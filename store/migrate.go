package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
)

// schemaVersion is the layout of the records Migrate brings a store to:
// 9 keeps each account's features record (features.go) where 4 to 8 kept
// its won deals (<ns>:won); 8 marks each source that holds records (stored.go); 7 indexes the
// accounts that have a rule's flag state or open outcome (flagindex.go);
// 6 spreads the filed pointers over 1,048,576 buckets, named by five hex
// digits (bundle.go), where 5 and earlier had 65,536, named by their
// number in hex without leading zeros, and indexes the pass reports saved
// before the reports index (reportlist.go); 5 indexes the reps' "contacted" marks by account id (contacted.go); 4
// keeps all the records of an account in its bundle (bundle.go) and its
// won deals apart as well; 3 had the bundles only. The earlier
// layouts kept a key per record: the account under
// <ns>:acct:<id> (1) or in <ns>:summary (2), its contacts and deals in
// <ns>:contacts:<id> and <ns>:deals:<id> hashes of JSON, and a pointer
// per contact and deal (<ns>:contact:<id>, <ns>:deal:<id>).
const schemaVersion = "9"

// Migrate brings records written by an earlier crmsync to the current
// layout, once: it builds the bundle of every account (and of every id
// that only contacts or deals are filed under) from the stored records,
// moves the pointers into the filed buckets and removes the keys they
// replace; then it indexes the reps' "contacted" marks; then it moves the
// pointers into the current buckets (rebucket) and indexes the pass
// reports saved before the reports index; then it indexes the accounts
// that have a rule's flag state or open outcome; then it packs the
// pointers and marks the sources that hold records; then it writes every
// account's features record (and drops the won deals kept before). A
// store already at the current layout costs one GET. Run it before syncs
// or passes start; bundles written meanwhile by a newer sync are kept.
func (s *Records) Migrate(ctx context.Context) error {
	v, n, err := s.layout(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if v == schemaVersion {
		return nil
	}
	ver, _ := strconv.Atoi(v) // 0: none, a store never migrated
	stored := pending(v, n)
	if n > 0 && ver < 4 {
		if err := s.migrateTo4(ctx, v); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	if stored && ver < 5 {
		if err := s.indexContacted(ctx); err != nil {
			return fmt.Errorf("store: migrate: contacted marks: %w", err)
		}
	}
	if stored && ver < 6 {
		if err := s.rebucket(ctx); err != nil {
			return fmt.Errorf("store: migrate: filed pointers: %w", err)
		}
		if err := s.indexReports(ctx); err != nil {
			return fmt.Errorf("store: migrate: reports: %w", err)
		}
	}
	if stored && ver < 7 {
		if err := s.indexFlags(ctx); err != nil {
			return fmt.Errorf("store: migrate: flagged index: %w", err)
		}
	}
	if stored && ver < 8 {
		if err := s.packFilled(ctx); err != nil {
			return fmt.Errorf("store: migrate: pointer packs: %w", err)
		}
		if err := s.markStored(ctx); err != nil {
			return fmt.Errorf("store: migrate: stored marks: %w", err)
		}
	}
	if stored && ver < 9 {
		if err := s.buildFeatures(ctx); err != nil {
			return fmt.Errorf("store: migrate: features records: %w", err)
		}
	}
	if err := s.rdb.Set(ctx, s.key("schema"), schemaVersion, 0).Err(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// MigrationPending reports whether Migrate has records to bring to the
// current layout: false for a store at it, or that holds nothing yet. A
// million accounts' take it 10-15 s (from layout 5), so a caller may
// say so first.
func (s *Records) MigrationPending(ctx context.Context) (bool, error) {
	v, n, err := s.layout(ctx)
	if err != nil {
		return false, fmt.Errorf("store: migrate: %w", err)
	}
	return pending(v, n), nil
}

// pending tells, from the records' layout v and whether the account
// index exists (n), whether a store holds anything to migrate: it is not
// at the current layout, and holds accounts or was migrated before.
func pending(v string, n int64) bool { return v != schemaVersion && (n > 0 || v != "") }

// layout returns the layout version of the records ("" for none) and
// whether the account index exists (1) or not (0): a store with no
// account index was never written by an earlier crmsync (or holds only
// records without their account), so nothing needs scanning.
func (s *Records) layout(ctx context.Context) (string, int64, error) {
	v, err := s.rdb.Get(ctx, s.key("schema")).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, err
	}
	if v == schemaVersion {
		return v, 0, nil
	}
	n, err := s.rdb.Exists(ctx, s.key("accounts")).Result()
	return v, n, err
}

// migrateTo4 brings records of layout v to bundles (from a layout before
// 3); layout 9 builds their features records.
func (s *Records) migrateTo4(ctx context.Context, v string) error {
	if v != "3" {
		if err := s.migrateRecords(ctx); err != nil {
			return err
		}
	}
	return nil
}

// migrateRecords bundles the ids that legacy keys hold records of, a
// batch at a time, then moves the pointers and drops the summaries.
func (s *Records) migrateRecords(ctx context.Context) error {
	for _, kind := range []string{"acct", "contacts", "deals"} {
		if err := s.scanIDs(ctx, kind, s.bundleLegacy); err != nil {
			return err
		}
	}
	iter := s.rdb.HScan(ctx, s.key("summary"), 0, "", 1000).Iterator()
	var ids []string
	for iter.Next(ctx) {
		ids = append(ids, iter.Val())
		iter.Next(ctx) // the value
		if len(ids) == 500 {
			if err := s.bundleLegacy(ctx, ids); err != nil {
				return err
			}
			ids = ids[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if err := s.bundleLegacy(ctx, ids); err != nil {
		return err
	}
	for _, kind := range []string{"contact", "deal"} {
		if err := s.scanIDs(ctx, kind, func(ctx context.Context, ids []string) error { return s.movePointers(ctx, kind, ids) }); err != nil {
			return err
		}
	}
	return s.rdb.Del(ctx, s.key("summary")).Err()
}

// scanIDs calls fn with the ids of the keys <ns>:<kind>:<id>, 500 at a
// time; never with none.
func (s *Records) scanIDs(ctx context.Context, kind string, fn func(context.Context, []string) error) error {
	prefix := s.key(kind) + ":"
	iter := s.rdb.Scan(ctx, 0, globEscaper.Replace(prefix)+"*", 1000).Iterator()
	var ids []string
	for iter.Next(ctx) {
		ids = append(ids, strings.TrimPrefix(iter.Val(), prefix))
		if len(ids) == 500 {
			if err := fn(ctx, ids); err != nil {
				return err
			}
			ids = ids[:0]
		}
	}
	if err := iter.Err(); err != nil || len(ids) == 0 {
		return err
	}
	return fn(ctx, ids)
}

// bundleLegacy writes the bundles of ids from their legacy records,
// unless one exists, and deletes the legacy keys.
func (s *Records) bundleLegacy(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	accts := make([]*redis.StringCmd, len(ids))
	sums := make([]*redis.StringCmd, len(ids))
	contacts := make([]*redis.MapStringStringCmd, len(ids))
	deals := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			accts[i] = pipe.Get(ctx, s.key("acct", id))
			sums[i] = pipe.HGet(ctx, s.key("summary"), id)
			contacts[i] = pipe.HGetAll(ctx, s.key("contacts", id))
			deals[i] = pipe.HGetAll(ctx, s.key("deals", id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	_, err = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			acct := accts[i].Val()
			if acct == "" {
				acct = legacySummaryAccount(sums[i].Val())
			}
			b, err := legacyBundle(acct, contacts[i].Val(), deals[i].Val())
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			if !b.empty() {
				pipe.HSetNX(ctx, s.key("records"), id, b.encode())
			}
			pipe.Del(ctx, s.key("acct", id), s.key("contacts", id), s.key("deals", id))
			pipe.HDel(ctx, s.key("summary"), id)
		}
		return nil
	})
	return err
}

// legacySummaryAccount is the account JSON a layout-2 summary starts
// with: "<len>:<json>"; "" when none.
func legacySummaryAccount(sum string) string {
	n, rest, ok := strings.Cut(sum, ":")
	size, err := strconv.Atoi(n)
	if !ok || err != nil || size > len(rest) {
		return ""
	}
	return rest[:size]
}

// legacyBundle builds a bundle from records stored as JSON.
func legacyBundle(acct string, contacts, deals map[string]string) (*bundle, error) {
	b := &bundle{}
	if acct != "" {
		var a model.Account
		if err := json.Unmarshal([]byte(acct), &a); err != nil {
			return nil, fmt.Errorf("decode account: %w", err)
		}
		b.account = encodeAccount(&a)
	}
	for _, v := range contacts {
		var c model.Contact
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			return nil, fmt.Errorf("decode contact: %w", err)
		}
		b.contacts = put(b.contacts, filedEntry{c.ID, encodeContact(&c)})
	}
	for _, v := range deals {
		var d model.Deal
		if err := json.Unmarshal([]byte(v), &d); err != nil {
			return nil, fmt.Errorf("decode deal: %w", err)
		}
		b.deals = put(b.deals, filedEntry{d.ID, encodeDeal(&d)})
	}
	return b, nil
}

// movePointers moves the legacy pointers <ns>:<kind>:<id> of ids into
// the filed buckets.
func (s *Records) movePointers(ctx context.Context, kind string, ids []string) error {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.key(kind, id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return err
	}
	_, err = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			if acct, _ := vals[i].(string); acct != "" {
				f := filedField(kind[0], id)
				pipe.HSetNX(ctx, s.key("filed", filedBucket(f)), f, acct)
			}
		}
		pipe.Del(ctx, keys...)
		return nil
	})
	return err
}

// legacyBuckets is how many buckets the filed pointers had up to layout 5.
const legacyBuckets = 1 << 16

// rebucket moves the filed pointers of layout 5 into the current buckets:
// it reads the old buckets whole, 256 at a time (their names are known,
// so no SCAN walks the key space), sets each pointer in its bucket unless
// one is there already (a newer write), and removes the old bucket. Run
// again after a crash, it goes on where it stopped.
func (s *Records) rebucket(ctx context.Context) error {
	const per = 256
	keys := make([]string, per)
	olds := make([]*redis.MapStringStringCmd, per)
	for from := 0; from < legacyBuckets; from += per {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range keys {
				keys[i] = s.key("filed", strconv.FormatUint(uint64(from+i), 16))
				olds[i] = p.HGetAll(ctx, keys[i])
			}
			return nil
		})
		if err != nil {
			return err
		}
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, old := range olds {
				for f, acct := range old.Val() {
					p.HSetNX(ctx, s.key("filed", filedBucket(f)), f, acct)
				}
				if len(old.Val()) > 0 {
					p.Unlink(ctx, keys[i])
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
