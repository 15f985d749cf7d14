package store

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// A sync's pages are written fenced by the source's sync lock instead of
// checked bundle by bundle. Every writer of a source's records in
// crmsync is a sync of that source holding its lock (Syncs.LockSync),
// so the only other writer a sync can meet is one that lost the lock
// and does not know it yet (a process paused past its lease). Taking
// the lock sets <ns>:sync-fence:<source> to the new holder; a fenced
// write WATCHes that key, checks that it still names its holder, and
// writes the change as plain commands in one MULTI. Redis then never
// runs Lua over the bundles (writeScript copied each one in and out of
// the interpreter, and read each stored one back to check its token),
// which was most of what a sync cost Redis.
//
// The fence key changes only when the lock changes hands, not when it
// is renewed, so a write never fails because its own lease was extended.

// ErrLockLost is a fenced write refused because its holder no longer
// holds the source's sync lock: another sync took it over.
var ErrLockLost = errors.New("sync lock lost to another sync")

func (s conn) fenceKey(source string) string { return s.key("sync-fence", source) }

// writeFenced writes the change laid out as l in one MULTI, if holder
// still holds source's fence; ErrLockLost, writing nothing, otherwise.
// On c, a connection of its own (nil on a cluster, whose client gives
// none), the write takes two round trips: WATCH and GET together, then
// the MULTI, whose EXEC ends the WATCH. Without one it takes four
// (redis.Client.Watch sends each and an UNWATCH).
func (s *Records) writeFenced(ctx context.Context, source, holder string, ch *change, l *layout, c *redis.Conn) error {
	fence := s.fenceKey(source)
	if c == nil {
		return lockLost(s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			return s.fencedTx(ctx, tx, tx.Get(ctx, fence), source, holder, ch, l)
		}, fence))
	}
	var get *redis.StringCmd
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "WATCH", fence)
		get = p.Get(ctx, fence)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if err := lockLost(s.fencedTx(ctx, c, get, source, holder, ch, l)); err != nil {
		c.Do(context.WithoutCancel(ctx), "UNWATCH") // a watch left set would fail the next write
		return err
	}
	return nil
}

// fencedTx writes the change in a MULTI on tx if get, the fence read
// under WATCH, names holder.
func (s *Records) fencedTx(ctx context.Context, tx redis.StatefulCmdable, get *redis.StringCmd, source, holder string, ch *change, l *layout) error {
	h, err := get.Result()
	switch {
	case errors.Is(err, redis.Nil) || err == nil && h != holder:
		return ErrLockLost
	case err != nil:
		return err
	}
	_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.queueChange(ctx, p, source, ch, l)
		return nil
	})
	return err
}

// lockLost is err, or ErrLockLost for a MULTI refused because the fence
// it watched moved.
func lockLost(err error) error {
	if errors.Is(err, redis.TxFailedErr) {
		return ErrLockLost
	}
	return err
}

// queueChange queues what writeScript does for a change, without its
// checks: the fence stands for them.
func (s *Records) queueChange(ctx context.Context, p redis.Pipeliner, source string, ch *change, l *layout) {
	s.queueBundles(ctx, p, l)
	s.queuePointers(ctx, p, l)
	for _, o := range ch.owners {
		p.Set(ctx, s.key("owner", o[0]), o[1], 0)
	}
	for _, id := range ch.ownerDel {
		p.Del(ctx, s.key("owner", id))
	}
	for i, seen := range ch.seen {
		if len(seen) > 0 {
			p.SAdd(ctx, s.seenKeys(source)[i], anys(seen)...)
		}
	}
	if len(ch.rejects) > 0 {
		list := s.key("rejects", source)
		p.LPush(ctx, list, ch.rejects...)
		p.LTrim(ctx, list, 0, MaxRejects-1)
		p.IncrBy(ctx, s.key("rejects-total", source), int64(len(ch.rejects)))
	}
	if ch.setWM {
		wm := s.key("watermark", source)
		p.Del(ctx, wm)
		if len(ch.wm) > 0 {
			p.HSet(ctx, wm, map[string]string(ch.wm))
		}
	}
}

// queueBundles queues the bundles' writes: the records, the account
// index and the features records.
func (s *Records) queueBundles(ctx context.Context, p redis.Pipeliner, l *layout) {
	var hset, wset, zrem []any
	var zadd []redis.Z
	wdel := append([]string(nil), l.dels...)
	for _, b := range l.sets {
		hset = append(hset, b.id, b.value)
		switch b.indexed {
		case "1":
			zadd = append(zadd, redis.Z{Member: b.id})
		case "0":
			zrem = append(zrem, b.id)
		}
		if b.features == "" {
			wdel = append(wdel, b.id)
		} else {
			wset = append(wset, b.id, b.features)
		}
	}
	zrem = append(zrem, anys(l.dels)...)
	if len(hset) > 0 {
		p.HSet(ctx, s.key("records"), hset...)
	}
	if len(l.dels) > 0 {
		p.HDel(ctx, s.key("records"), l.dels...)
	}
	if len(zadd) > 0 {
		p.ZAdd(ctx, s.key("accounts"), zadd...)
	}
	if len(zrem) > 0 {
		p.ZRem(ctx, s.key("accounts"), zrem...)
	}
	if len(wset) > 0 {
		p.HSet(ctx, s.key("features"), wset...)
	}
	if len(wdel) > 0 {
		p.HDel(ctx, s.key("features"), wdel...)
	}
}

// queuePointers queues the pointer packs' writes, a bucket's in one
// HSET (and one HDEL for those that go). A pack is read under the fence,
// so it is written without the check writeScript makes.
func (s *Records) queuePointers(ctx context.Context, p redis.Pipeliner, l *layout) {
	prefixes := make([]string, len(l.packs))
	values := make(map[string]string, len(l.packs))
	for i, w := range l.packs {
		prefixes[i], values[w.prefix] = w.prefix, w.value
	}
	_, groups := groupPacks(prefixes)
	for _, g := range groups {
		var sets []any
		var dels []string
		for _, prefix := range g.prefixes {
			if v := values[prefix]; v != "" {
				sets = append(sets, prefix, v)
			} else {
				dels = append(dels, prefix)
			}
		}
		if len(sets) > 0 {
			p.HSet(ctx, s.key("ptrs", g.bucket), sets...)
		}
		if len(dels) > 0 {
			p.HDel(ctx, s.key("ptrs", g.bucket), dels...)
		}
	}
}

// anys returns xs as command arguments.
func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, v := range xs {
		out[i] = v
	}
	return out
}
