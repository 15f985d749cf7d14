package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SnapshotTTL is how long a month's snapshots are kept: two years of
// evolution, and the month before the first.
const SnapshotTTL = 800 * 24 * time.Hour

// snapshotBatch is how many snapshots one HSET writes.
const snapshotBatch = 1000

// SnapshotMonth is one month's account snapshots (insights.Snapshot,
// encoded) and the rules their flag bits stand for, in bit order.
type SnapshotMonth struct {
	Rules    []string
	Accounts map[string][]byte // account id → encoded snapshot
	// Compare has SaveSnapshots read the stored snapshots first and write
	// only those that differ: what a pass does when an earlier pass saved
	// the month's snapshots the same day (SnapshotDay). On a new day every
	// account's days_inactive moved, and reading them back is wasted.
	Compare bool
}

func (s conn) snapshotKey(month string) string { return s.key("snapshot", month) }

func (s conn) snapshotDayKey(month string) string { return s.key("snapshot-day", month) }

// SnapshotDay records day ("2006-01-02") as the latest day a pass saves
// the snapshots of month, and reports whether it already was: then the
// pass's snapshots mostly equal those stored (SnapshotMonth.Compare).
func (s *Passes) SnapshotDay(ctx context.Context, month, day string) (same bool, err error) {
	old, err := s.rdb.SetArgs(ctx, s.snapshotDayKey(month), day, redis.SetArgs{Get: true, TTL: SnapshotTTL}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("store: snapshot day %s: %w", month, err)
	}
	return old == day, nil
}

func (s conn) snapshotRulesKey(month string) string { return s.key("snapshot-rules", month) }

// checkMonth checks that month reads "2006-01".
func checkMonth(month string) error {
	if _, err := time.Parse("2006-01", month); err != nil {
		return fmt.Errorf("month %q: want YYYY-MM", month)
	}
	return nil
}

// SaveSnapshots stores the snapshots of month ("2006-01"), keyed by
// account id, and the rules their flag bits stand for; both expire
// SnapshotTTL after. Saving a month again replaces the snapshots of the
// accounts given, and its rules. With sm.Compare, only the snapshots that
// differ from those stored are written (changedSnapshots). They are
// written in HSETs of snapshotBatch fields.
func (s *Passes) SaveSnapshots(ctx context.Context, month string, sm SnapshotMonth) error {
	if err := checkMonth(month); err != nil {
		return fmt.Errorf("store: save snapshots: %w", err)
	}
	k := s.snapshotKey(month)
	var fields []any
	if sm.Compare {
		var err error
		if fields, err = s.changedSnapshots(ctx, k, sm.Accounts); err != nil {
			return fmt.Errorf("store: save snapshots %s: %w", month, err)
		}
	} else {
		fields = make([]any, 0, 2*len(sm.Accounts))
		for id, v := range sm.Accounts {
			fields = append(fields, id, v)
		}
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.snapshotRulesKey(month), strings.Join(sm.Rules, "\n"), SnapshotTTL)
		for part := range slices.Chunk(fields, 2*snapshotBatch) {
			p.HSet(ctx, k, part...)
		}
		p.Expire(ctx, k, SnapshotTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save snapshots %s: %w", month, err)
	}
	return nil
}

// changedSnapshots returns, as HSET arguments, the snapshots of accounts
// that differ from those stored in k. A pass saves its month's snapshots
// at every pass and, within a day, most accounts' do not change from one
// to the next: reading a snapshot back costs Redis less than writing it
// again.
func (s *Passes) changedSnapshots(ctx context.Context, k string, accounts map[string][]byte) ([]any, error) {
	ids := slices.Collect(maps.Keys(accounts))
	var reads []*redis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for part := range slices.Chunk(ids, snapshotBatch) {
			reads = append(reads, p.HMGet(ctx, k, part...))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var fields []any
	i := 0
	for _, r := range reads {
		for _, v := range r.Val() {
			id := ids[i]
			i++
			if old, ok := v.(string); !ok || old != string(accounts[id]) {
				fields = append(fields, id, accounts[id])
			}
		}
	}
	return fields, nil
}

// Snapshots returns the snapshots of month ("2006-01"), read a scan page
// at a time; ErrNotFound when none were kept.
func (s *Passes) Snapshots(ctx context.Context, month string) (*SnapshotMonth, error) {
	if err := checkMonth(month); err != nil {
		return nil, fmt.Errorf("store: snapshots: %w", err)
	}
	sm := &SnapshotMonth{Accounts: map[string][]byte{}}
	err := s.scanHash(ctx, s.snapshotKey(month), func(id, v string) error {
		sm.Accounts[id] = []byte(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: snapshots %s: %w", month, err)
	}
	if len(sm.Accounts) == 0 {
		return nil, fmt.Errorf("store: snapshots %s: %w", month, ErrNotFound)
	}
	names, err := s.rdb.Get(ctx, s.snapshotRulesKey(month)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: snapshots %s: %w", month, err)
	}
	if names != "" {
		sm.Rules = strings.Split(names, "\n")
	}
	return sm, nil
}

// SnapshotsKept reports, for each month of months ("2006-01"), whether
// its snapshots were kept, in one round trip.
func (s *Passes) SnapshotsKept(ctx context.Context, months []string) ([]bool, error) {
	cmds := make([]*redis.IntCmd, len(months))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range months {
			cmds[i] = p.Exists(ctx, s.snapshotKey(m))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: snapshots kept: %w", err)
	}
	out := make([]bool, len(months))
	for i, c := range cmds {
		out[i] = c.Val() == 1
	}
	return out, nil
}

// SnapshotsOf returns the snapshots of the accounts ids in each month of
// months, in one round trip: per month, per id in the order of ids, its
// encoded snapshot, nil when it has none.
func (s *Passes) SnapshotsOf(ctx context.Context, months, ids []string) ([][][]byte, error) {
	if len(ids) == 0 {
		return make([][][]byte, len(months)), nil
	}
	cmds := make([]*redis.SliceCmd, len(months))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range months {
			cmds[i] = p.HMGet(ctx, s.snapshotKey(m), ids...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: snapshots of accounts: %w", err)
	}
	out := make([][][]byte, len(months))
	for i, c := range cmds {
		out[i] = make([][]byte, len(ids))
		for j, v := range c.Val() {
			if str, ok := v.(string); ok {
				out[i][j] = []byte(str)
			}
		}
	}
	return out, nil
}

// scanHash calls fn with every field of hash k and its value, a scan page
// at a time. A field may come twice when the hash is rehashed meanwhile.
func (s conn) scanHash(ctx context.Context, k string, fn func(field, value string) error) error {
	var cursor uint64
	for {
		kv, next, err := s.rdb.HScan(ctx, k, cursor, "", snapshotBatch).Result()
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if err := fn(kv[i], kv[i+1]); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}
