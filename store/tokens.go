package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Some CRMs rotate refresh tokens: each refresh returns a new one and
// invalidates the old, so the token in the config file stops working after
// the first refresh. The latest is kept here, tied to the configured token
// it descends from: when someone puts a new token in the config (after
// re-authorising the app), it wins over the stored one.

func (s conn) refreshKey(source string) string { return s.key("refresh-token", source) }

func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// RefreshToken returns the latest refresh token of source descending from
// configured, or configured itself when none was saved.
func (s *Syncs) RefreshToken(ctx context.Context, source, configured string) (string, error) {
	h, err := s.rdb.HMGet(ctx, s.refreshKey(source), "from", "token").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("store: refresh token: %w", err)
	}
	from, _ := h[0].(string)
	tok, _ := h[1].(string)
	if from != fingerprint(configured) || tok == "" {
		return configured, nil
	}
	return tok, nil
}

// SaveRefreshToken records token as the latest refresh token of source,
// descending from the configured one.
func (s *Syncs) SaveRefreshToken(ctx context.Context, source, configured, token string) error {
	err := s.rdb.HSet(ctx, s.refreshKey(source), "from", fingerprint(configured), "token", token).Err()
	if err != nil {
		return fmt.Errorf("store: save refresh token: %w", err)
	}
	return nil
}
