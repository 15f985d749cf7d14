package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A sweep removes the records a CRM deleted without saying so (a hard
// delete, or a delete older than the CRM's delete log). It brackets a full
// sync: BeginSweep opens it, every page stored meanwhile marks its records
// as seen, and EndSweep removes the source's accounts, contacts and deals
// that were not seen. An interrupted full sync leaves the sweep open, so
// the resumed sync goes on marking. Owners are never swept: a departed
// rep's name and email still label history.

// sweepBatch is how many ids EndSweep checks per round trip.
const sweepBatch = 1000

func (s *Store) sweepKey(source string) string { return s.key("sweep", source) }

func (s *Store) seenKey(source string) string { return s.key("sweep", source, "seen") }

// BeginSweep opens a sweep for source, forgetting any earlier one.
func (s *Store) BeginSweep(ctx context.Context, source string, at time.Time) error {
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, s.seenKey(source))
		pipe.Set(ctx, s.sweepKey(source), at.UnixMilli(), 0)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: begin sweep: %w", err)
	}
	return nil
}

// Sweeping reports whether a sweep is open for source.
func (s *Store) Sweeping(ctx context.Context, source string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.sweepKey(source)).Result()
	if err != nil {
		return false, fmt.Errorf("store: sweeping: %w", err)
	}
	return n > 0, nil
}

// sweeping is Sweeping inside StorePage's transaction; the key is not
// watched: BeginSweep runs before the sync's first page.
func (s *Store) sweeping(ctx context.Context, tx *redis.Tx, source string) (bool, error) {
	n, err := tx.Exists(ctx, s.sweepKey(source)).Result()
	if err != nil {
		return false, fmt.Errorf("sweep state: %w", err)
	}
	return n > 0, nil
}

// queueSeen marks the page's accounts, contacts and deals as seen.
func (s *Store) queueSeen(ctx context.Context, pipe redis.Pipeliner, source string, p page) {
	members := make([]any, 0, len(p.accounts)+len(p.contacts)+len(p.deals))
	for _, a := range p.accounts {
		members = append(members, "a:"+a.id)
	}
	for _, c := range p.contacts {
		members = append(members, "c:"+c.id)
	}
	for _, d := range p.deals {
		members = append(members, "d:"+d.id)
	}
	if len(members) > 0 {
		pipe.SAdd(ctx, s.seenKey(source), members...)
	}
}

// SweepStats counts what EndSweep removed.
type SweepStats struct {
	Accounts, Contacts, Deals int
}

// EndSweep removes the source's accounts, contacts and deals not seen
// since BeginSweep and closes the sweep. Without an open sweep it does
// nothing.
func (s *Store) EndSweep(ctx context.Context, source string) (SweepStats, error) {
	var st SweepStats
	open, err := s.Sweeping(ctx, source)
	if err != nil || !open {
		return st, err
	}
	if st.Accounts, err = s.sweepAccounts(ctx, source); err != nil {
		return st, fmt.Errorf("store: end sweep: accounts: %w", err)
	}
	if st.Contacts, err = s.sweepFiled(ctx, source, "contact", "contacts", "c:"); err != nil {
		return st, fmt.Errorf("store: end sweep: contacts: %w", err)
	}
	if st.Deals, err = s.sweepFiled(ctx, source, "deal", "deals", "d:"); err != nil {
		return st, fmt.Errorf("store: end sweep: deals: %w", err)
	}
	if err := s.rdb.Del(ctx, s.sweepKey(source), s.seenKey(source)).Err(); err != nil {
		return st, fmt.Errorf("store: end sweep: %w", err)
	}
	return st, nil
}

// sweepAccounts removes the source's unseen accounts, walking the account
// index by id (ids are "source:external", so the source's are a range).
func (s *Store) sweepAccounts(ctx context.Context, source string) (int, error) {
	removed := 0
	lower := "[" + source + ":"
	upper := "(" + source + ";" // ';' follows ':'
	for {
		ids, err := s.rdb.ZRangeByLex(ctx, s.key("accounts"), &redis.ZRangeBy{Min: lower, Max: upper, Count: sweepBatch}).Result()
		if err != nil || len(ids) == 0 {
			return removed, err
		}
		unseen, err := s.unseen(ctx, source, "a:", ids)
		if err != nil {
			return removed, err
		}
		_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, id := range unseen {
				s.queueDeleteAccount(ctx, pipe, id)
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
		removed += len(unseen)
		lower = "(" + ids[len(ids)-1]
	}
}

// sweepFiled removes the source's unseen contacts or deals, found by
// scanning their pointer keys (kind:source:*).
func (s *Store) sweepFiled(ctx context.Context, source, kind, hash, mark string) (int, error) {
	prefix := s.key(kind, source) + ":"
	iter := s.rdb.Scan(ctx, 0, globEscape(prefix)+"*", sweepBatch).Iterator()
	removed := 0
	var keys []string
	flush := func() error {
		n, err := s.removeUnseenFiled(ctx, source, kind, hash, mark, prefix, keys)
		removed += n
		keys = keys[:0]
		return err
	}
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == sweepBatch {
			if err := flush(); err != nil {
				return removed, err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return removed, err
	}
	return removed, flush()
}

// removeUnseenFiled removes, of the records whose pointer keys are given,
// those not seen.
func (s *Store) removeUnseenFiled(ctx context.Context, source, kind, hash, mark, prefix string, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = source + ":" + strings.TrimPrefix(k, prefix)
	}
	unseen, err := s.unseen(ctx, source, mark, ids)
	if err != nil || len(unseen) == 0 {
		return 0, err
	}
	pointers := make([]string, len(unseen))
	for i, id := range unseen {
		pointers[i] = s.key(kind, id)
	}
	accts, err := s.rdb.MGet(ctx, pointers...).Result()
	if err != nil {
		return 0, err
	}
	_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range unseen {
			if acct, _ := accts[i].(string); acct != "" {
				pipe.HDel(ctx, s.key(hash, acct), id)
			}
			pipe.Del(ctx, s.key(kind, id))
		}
		return nil
	})
	return len(unseen), err
}

// unseen returns the ids not marked seen with mark.
func (s *Store) unseen(ctx context.Context, source, mark string, ids []string) ([]string, error) {
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = mark + id
	}
	seen, err := s.rdb.SMIsMember(ctx, s.seenKey(source), members...).Result()
	if err != nil {
		return nil, err
	}
	var out []string
	for i, ok := range seen {
		if !ok {
			out = append(out, ids[i])
		}
	}
	return out, nil
}

// globEscape escapes the glob metacharacters of a SCAN MATCH pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) queueDeleteAccount(ctx context.Context, pipe redis.Pipeliner, id string) {
	pipe.ZRem(ctx, s.key("accounts"), id)
	pipe.Del(ctx, s.key("acct", id), s.key("contacts", id), s.key("deals", id))
}
