package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
)

// schemaVersion is the layout of the records Migrate brings a store to:
// 2 keeps each account's record in its summary (summary.go) instead of
// under <ns>:acct:<id>.
const schemaVersion = "2"

// Migrate brings records written by an earlier crmsync to the current
// layout, once: it builds the summary of every account (and of every id
// that only contacts or deals are filed under) from the stored records,
// and removes the <ns>:acct:<id> keys it replaces. A store already at the
// current layout costs one GET. Run it before syncs or passes start;
// summaries written meanwhile by a newer sync are kept.
func (s *Records) Migrate(ctx context.Context) error {
	v, err := s.rdb.Get(ctx, s.key("schema")).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if v == schemaVersion {
		return nil
	}
	// A store with no account index was never written by an earlier
	// crmsync (or holds only records without their account): nothing to
	// scan the key space for.
	n, err := s.rdb.Exists(ctx, s.key("accounts")).Result()
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if n == 0 {
		return s.setSchema(ctx)
	}
	if err := s.migrateSummaries(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return s.setSchema(ctx)
}

func (s *Records) setSchema(ctx context.Context) error {
	if err := s.rdb.Set(ctx, s.key("schema"), schemaVersion, 0).Err(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// migrateSummaries walks the keys of accounts, contacts and deals and
// summarises the ids they belong to, a batch at a time.
func (s *Records) migrateSummaries(ctx context.Context) error {
	for _, kind := range []string{"acct", "contacts", "deals"} {
		prefix := s.key(kind) + ":"
		iter := s.rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var ids []string
		for iter.Next(ctx) {
			ids = append(ids, strings.TrimPrefix(iter.Val(), prefix))
			if len(ids) == 500 {
				if err := s.summarise(ctx, ids); err != nil {
					return err
				}
				ids = ids[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if err := s.summarise(ctx, ids); err != nil {
			return err
		}
	}
	return nil
}

// summarise writes the summaries of ids from their legacy records, unless
// one exists, and deletes their legacy account keys.
func (s *Records) summarise(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	accts := make([]*redis.StringCmd, len(ids))
	contacts := make([]*redis.MapStringStringCmd, len(ids))
	deals := make([]*redis.MapStringStringCmd, len(ids))
	contacted := make([]*redis.StringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			accts[i] = pipe.Get(ctx, s.key("acct", id))
			contacts[i] = pipe.HGetAll(ctx, s.key("contacts", id))
			deals[i] = pipe.HGetAll(ctx, s.key("deals", id))
			contacted[i] = pipe.Get(ctx, s.key("contacted", id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	_, err = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			sum, err := legacySummary(accts[i], contacts[i], deals[i], contacted[i])
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			pipe.HSetNX(ctx, s.key("summary"), id, sum)
			pipe.Del(ctx, s.key("acct", id))
		}
		return nil
	})
	return err
}

// legacySummary builds a summary from records stored the earlier way.
func legacySummary(acct *redis.StringCmd, contacts, deals *redis.MapStringStringCmd, contacted *redis.StringCmd) (string, error) {
	raw, err := acct.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", err
	}
	var c model.Client
	if c.Contacts, err = decodeSorted(contacts.Val(), func(x model.Contact) string { return x.ID }); err != nil {
		return "", fmt.Errorf("decode contacts: %w", err)
	}
	if c.Deals, err = decodeSorted(deals.Val(), func(x model.Deal) string { return x.ID }); err != nil {
		return "", fmt.Errorf("decode deals: %w", err)
	}
	return encodeSummaryRaw(raw, &c, contacted.Val())
}
