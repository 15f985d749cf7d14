package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// SaveMergeGroups keeps the groups of accounts the latest pass read as
// one (primary → every member, primary first), replacing the previous
// ones whole, so that commands can tell which sources an account comes
// from and find a merged account under any of its ids. Nil or empty g
// clears them.
func (s *Records) SaveMergeGroups(ctx context.Context, g map[string][]string) error {
	key, tmp := s.key("merge-groups"), s.key("merge-groups", "new")
	if len(g) == 0 {
		if err := s.rdb.Del(ctx, key).Err(); err != nil {
			return fmt.Errorf("store: merge groups: %w", err)
		}
		return nil
	}
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, tmp)
		for _, members := range g {
			joined := strings.Join(members, "\n")
			for _, m := range members {
				pipe.HSet(ctx, tmp, m, joined)
			}
		}
		pipe.Rename(ctx, tmp, key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: merge groups: %w", err)
	}
	return nil
}

// MergeGroup returns the accounts merged with account id by the latest
// pass, its group's primary first; nil when id was not merged.
func (s *Records) MergeGroup(ctx context.Context, id string) ([]string, error) {
	v, err := s.rdb.HGet(ctx, s.key("merge-groups"), id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: merge group: %w", err)
	}
	return strings.Split(v, "\n"), nil
}
