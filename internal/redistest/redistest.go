// Package redistest connects integration tests to a real Redis server.
//
// The server is CRMSYNC_TEST_REDIS_URL, else redis://127.0.0.1:6379. When it
// does not answer, tests skip with a clear message, except under CI=true,
// where they fail: CI must run them.
package redistest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is the server tried when CRMSYNC_TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379"

// Databases used by each package's integration tests, so that packages
// tested in parallel never share keys. Each test flushes its database.
const (
	DBStore      = 1
	DBWorkers    = 2
	DBApp        = 3
	DBCmd        = 4
	DBRules      = 5
	DBNotify     = 6
	DBDelivery   = 7 // workers' end-to-end delivery test and benchmarks
	DBHubSpot    = 8
	DBSalesforce = 9
)

// URL returns the URL of a reachable real Redis, selecting database db, or
// skips (fails under CI) when there is none. The database is flushed first.
func URL(tb testing.TB, db int) string {
	tb.Helper()
	base := os.Getenv("CRMSYNC_TEST_REDIS_URL")
	if base == "" {
		base = DefaultURL
	}
	opt, err := redis.ParseURL(base)
	if err != nil {
		tb.Fatalf("redistest: CRMSYNC_TEST_REDIS_URL: %v", err)
	}
	opt.DB = db
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
	if err := c.FlushDB(ctx).Err(); err != nil {
		tb.Fatalf("redistest: flush db %d: %v", db, err)
	}
	return fmt.Sprintf("redis://%s/%d", opt.Addr, db)
}

// Client returns a client of a reachable real Redis on database db (see
// URL), closed when the test ends.
func Client(tb testing.TB, db int) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(URL(tb, db))
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { c.Close() })
	return c
}
