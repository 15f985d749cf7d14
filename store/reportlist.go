package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RecentReports returns the reports of the last n passes, newest first,
// by pass. Reports are listed from their keys, one SCAN over the report
// key space, and ordered by the time they have left to live: each is kept
// ReportTTL from when it was saved, so the one saved last has the most.
// It reads only the n reports it returns; none is an empty slice.
func (s *Passes) RecentReports(ctx context.Context, n int) ([]string, [][]byte, error) {
	if n <= 0 {
		return nil, nil, nil
	}
	prefix := s.key("report", "")
	var keys []string
	iter := s.rdb.Scan(ctx, 0, globEscaper.Replace(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: recent reports: %w", err)
	}
	ttls, err := s.pttls(ctx, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("store: recent reports: %w", err)
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(ttls[b], ttls[a]), strings.Compare(keys[b], keys[a]))
	})
	var passes []string
	var data [][]byte
	for _, i := range order {
		if len(passes) == n || ttls[i] < 0 {
			break
		}
		b, err := s.rdb.Get(ctx, keys[i]).Bytes()
		if errors.Is(err, redis.Nil) {
			continue // expired since the scan saw it
		}
		if err != nil {
			return nil, nil, fmt.Errorf("store: recent reports: %w", err)
		}
		passes, data = append(passes, keys[i][len(prefix):]), append(data, b)
	}
	return passes, data, nil
}

// pttls returns the time each key has left to live, in one pipeline; a
// negative duration for a key gone or without expiry.
func (s *Passes) pttls(ctx context.Context, keys []string) ([]time.Duration, error) {
	cmds := make([]*redis.DurationCmd, len(keys))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.PTTL(ctx, k)
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]time.Duration, len(keys))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}
