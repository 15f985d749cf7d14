package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Suppress records that email (case-insensitive) must never be emailed,
// and why. Suppressing it again replaces the reason.
func (s *Suppressions) Suppress(ctx context.Context, email, reason string, at time.Time) error {
	if normEmail(email) == "" {
		return errors.New("store: suppress: empty address")
	}
	err := s.rdb.HSet(ctx, s.key("suppress", normEmail(email)),
		"reason", reason, "at", at.UTC().Format(time.RFC3339Nano)).Err()
	if err != nil {
		return fmt.Errorf("store: suppress: %w", err)
	}
	return nil
}

// Unsuppress lifts the suppression of email, if any.
func (s *Suppressions) Unsuppress(ctx context.Context, email string) error {
	if err := s.rdb.Del(ctx, s.key("suppress", normEmail(email))).Err(); err != nil {
		return fmt.Errorf("store: unsuppress: %w", err)
	}
	return nil
}

// Suppressed reports whether email (case-insensitive) is suppressed, and
// why.
func (s *Suppressions) Suppressed(ctx context.Context, email string) (reason string, ok bool, err error) {
	vals, err := s.rdb.HMGet(ctx, s.key("suppress", normEmail(email)), "reason", "at").Result()
	if err != nil {
		return "", false, fmt.Errorf("store: suppressed: %w", err)
	}
	if vals[1] == nil {
		return "", false, nil
	}
	return str(vals[0]), true, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
