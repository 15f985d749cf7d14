// Package redistest connects integration tests to a real Redis server.
//
// The server is CRMSYNC_TEST_REDIS_URL, else redis://127.0.0.1:6379. When it
// does not answer, tests skip with a clear message, except under CI=true,
// where they fail: CI must run them.
//
// Tests never flush a database: each takes a fresh namespace (Namespace)
// for its store keys and asynq queues, so tests, packages and whole test
// runs can share one Redis without touching each other's keys.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is the server tried when CRMSYNC_TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379"

// URL returns the URL of a reachable real Redis, or skips (fails under CI)
// when there is none.
func URL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("CRMSYNC_TEST_REDIS_URL")
	if base == "" {
		base = DefaultURL
	}
	opt, err := redis.ParseURL(base)
	if err != nil {
		tb.Fatalf("redistest: CRMSYNC_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		msg := fmt.Sprintf("redistest: no real Redis at %s (%v); set CRMSYNC_TEST_REDIS_URL to run integration tests", base, err)
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return base
}

// Client returns a client of a reachable real Redis (see URL), closed when
// the test ends.
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { c.Close() })
	return c
}

// Namespace returns a namespace no other test uses, for the store's keys
// ("<ns>:…") and the deployment's asynq queues ("<ns>:<queue>"). Its keys
// are deleted when the test ends, unless CRMSYNC_TEST_KEEP_KEYS is set
// (to look at them after a failure).
func Namespace(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	ns := "t-" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		if os.Getenv("CRMSYNC_TEST_KEEP_KEYS") != "" {
			tb.Logf("redistest: keys kept under namespace %s", ns)
			return
		}
		if err := Drop(URL(tb), ns); err != nil {
			tb.Logf("redistest: dropping namespace %s: %v", ns, err)
		}
	})
	return ns
}

// Drop deletes every key of namespace ns on the Redis at url: the store's
// and those asynq keeps for the namespace's queues.
func Drop(url, ns string) error {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, pattern := range []string{ns + ":*", "asynq:{" + ns + ":*"} {
		if err := unlinkMatching(ctx, c, pattern); err != nil {
			return err
		}
	}
	queues, err := c.SMembers(ctx, "asynq:queues").Result()
	if err != nil {
		return err
	}
	for _, q := range queues {
		if strings.HasPrefix(q, ns+":") {
			if err := c.SRem(ctx, "asynq:queues", q).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

func unlinkMatching(ctx context.Context, c *redis.Client, pattern string) error {
	iter := c.Scan(ctx, 0, pattern, 20000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return c.Unlink(ctx, batch...).Err()
	}
	return nil
}

// ConfigLine returns the `redis:` line of a crmsync config pointing at a
// reachable real Redis with a fresh namespace (see URL and Namespace).
func ConfigLine(tb testing.TB) string {
	tb.Helper()
	return fmt.Sprintf("redis: {url: %q, namespace: %s}\n", URL(tb), Namespace(tb))
}
