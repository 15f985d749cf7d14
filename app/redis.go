package app

import (
	"context"
	"strings"

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
