package store

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// AddDigestItems appends items to the digests of a pass, by digest key
// (a rule and a recipient), for the shard that completes the pass to send.
func (s *Passes) AddDigestItems(ctx context.Context, pass string, items map[string][][]byte) error {
	if len(items) == 0 {
		return nil
	}
	set := s.key("pass", pass, "digests")
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for k, list := range items {
			lk := s.key("pass", pass, "digest", k)
			p.RPush(ctx, lk, anys(list)...)
			p.Expire(ctx, lk, PassTTL)
			p.SAdd(ctx, set, k)
		}
		p.Expire(ctx, set, PassTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: add digest items: %w", err)
	}
	return nil
}

// DigestItems returns the digests of a pass, by digest key, items in the
// order they were added.
func (s *Passes) DigestItems(ctx context.Context, pass string) (map[string][][]byte, error) {
	keys, err := s.rdb.SMembers(ctx, s.key("pass", pass, "digests")).Result()
	if err != nil {
		return nil, fmt.Errorf("store: digest items: %w", err)
	}
	cmds := make(map[string]*redis.StringSliceCmd, len(keys))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			cmds[k] = p.LRange(ctx, s.key("pass", pass, "digest", k), 0, -1)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: digest items: %w", err)
	}
	out := make(map[string][][]byte, len(keys))
	for k, c := range cmds {
		for _, v := range c.Val() {
			out[k] = append(out[k], []byte(v))
		}
	}
	return out, nil
}
