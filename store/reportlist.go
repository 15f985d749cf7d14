package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RecentReports returns the reports of the last n passes, newest first,
// by pass: the newest of the reports index (SaveReportKeeping), read in
// two round trips whatever the key space holds. A report expired since
// it was indexed is left out (the older ones have too). None is an empty
// slice.
func (s *Passes) RecentReports(ctx context.Context, n int) ([]string, [][]byte, error) {
	if n <= 0 {
		return nil, nil, nil
	}
	passes, err := s.rdb.ZRevRange(ctx, s.key("reports", "index"), 0, int64(n-1)).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("store: recent reports: %w", err)
	}
	if len(passes) == 0 {
		return nil, nil, nil
	}
	keys := make([]string, len(passes))
	for i, p := range passes {
		keys[i] = s.key("report", p)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("store: recent reports: %w", err)
	}
	var kept []string
	var data [][]byte
	for i, v := range vals {
		if b, ok := v.(string); ok {
			kept, data = append(kept, passes[i]), append(data, []byte(b))
		}
	}
	return kept, data, nil
}

// indexReports indexes the reports saved before the reports index
// existed, by when they were saved (they all live ReportTTL), so that
// RecentReports lists them and retention trims them: one SCAN, once
// (Migrate).
func (s conn) indexReports(ctx context.Context) error {
	prefix := s.key("report", "")
	var keys []string
	iter := s.rdb.Scan(ctx, 0, globEscaper.Replace(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil || len(keys) == 0 {
		return err
	}
	ttls, err := s.pttls(ctx, keys)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			if ttls[i] > 0 {
				saved := now - (ReportTTL - ttls[i]).Milliseconds()
				p.ZAddNX(ctx, s.key("reports", "index"), redis.Z{Score: float64(saved), Member: k[len(prefix):]})
			}
		}
		return nil
	})
	return err
}

// negative duration for a key gone or without expiry.
func (s conn) pttls(ctx context.Context, keys []string) ([]time.Duration, error) {
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
