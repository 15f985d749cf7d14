package app

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/store"
)

// OpenStore opens the store of cfg's redis section: one server, a
// Sentinel-managed primary, a Redis Cluster or an embedded Redis. Every
// command that reads or writes the store opens it here, so that each
// deployment works everywhere.
func OpenStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	return store.Dial(ctx, redisTarget(&cfg.Redis), cfg.Redis.Namespace)
}

// migrate brings the store's records to the current layout
// (store.Records.Migrate; on a new store it records the layout), saying
// so before and after when there is anything to migrate: at a million
// accounts it takes a while, once.
func migrate(ctx context.Context, st *store.Store, log *slog.Logger) error {
	pending, err := st.Records.MigrationPending(ctx)
	if err != nil {
		return err
	}
	if !pending {
		return st.Records.Migrate(ctx)
	}
	log.Info("migrating the stored records to the current layout: once, about 10-15 s a million accounts")
	start := time.Now()
	if err := st.Records.Migrate(ctx); err != nil {
		return err
	}
	log.Info("records migrated", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// redisTarget turns the redis section into the store's Target.
func redisTarget(r *config.RedisConfig) store.Target {
	t := store.Target{URL: r.URL.Reveal()}
	if s := r.Sentinel; s != nil {
		t.Sentinel = &store.Sentinel{
			Master: s.Master, Addrs: s.Addrs, Username: s.Username, Password: s.Password.Reveal(),
			SentinelPassword: s.SentinelPassword.Reveal(), DB: s.DB, TLS: s.TLS,
		}
	}
	if c := r.Cluster; c != nil {
		t.Cluster = &store.Cluster{Nodes: c.Nodes, Username: c.Username, Password: c.Password.Reveal(), TLS: c.TLS}
	}
	return t
}

// describeRedis says which Redis cfg uses, without any password.
func describeRedis(r *config.RedisConfig) string {
	switch r.Mode() {
	case "cluster":
		return "Redis Cluster at " + strings.Join(r.Cluster.Nodes, ",")
	case "sentinel":
		return "Redis primary " + r.Sentinel.Master + " through Sentinels " + strings.Join(r.Sentinel.Addrs, ",")
	case "single":
		return "Redis at " + r.URL.String()
	}
	return "embedded in-memory Redis"
}
