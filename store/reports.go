package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReportTTL is how long a pass report is kept.
const ReportTTL = 400 * 24 * time.Hour

// SaveReport stores the report of a pass and remembers it as the latest,
// in one MULTI/EXEC.
func (s *Passes) SaveReport(ctx context.Context, pass string, data []byte) error {
	if pass == "" {
		return errors.New("store: save report: empty pass")
	}
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, s.key("report", pass), data, ReportTTL)
		pipe.Set(ctx, s.key("reports", "latest"), pass, 0)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save report: %w", err)
	}
	return nil
}

// Report returns the report of a pass; ErrNotFound when there is none.
func (s *Passes) Report(ctx context.Context, pass string) ([]byte, error) {
	data, err := s.rdb.Get(ctx, s.key("report", pass)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: report %s: %w", pass, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: report: %w", err)
	}
	return data, nil
}

// LatestReport returns the most recently saved report and its pass;
// ErrNotFound when there is none (or it expired).
func (s *Passes) LatestReport(ctx context.Context) (pass string, data []byte, err error) {
	pass, err = s.rdb.Get(ctx, s.key("reports", "latest")).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil, fmt.Errorf("store: latest report: %w", ErrNotFound)
	}
	if err != nil {
		return "", nil, fmt.Errorf("store: latest report: %w", err)
	}
	data, err = s.Report(ctx, pass)
	if err != nil {
		return "", nil, err
	}
	return pass, data, nil
}
