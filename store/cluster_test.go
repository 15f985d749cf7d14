package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterStore is a store on the Redis Cluster .ci/redis-cluster starts
// (CRMSYNC_TEST_REDIS_CLUSTER, its nodes comma-separated), through Dial,
// with a fresh namespace without a hash tag; it skips when that is unset.
func clusterStore(t *testing.T) (*Store, []string) {
	t.Helper()
	env := os.Getenv("CRMSYNC_TEST_REDIS_CLUSTER")
	if env == "" {
		t.Skip("CRMSYNC_TEST_REDIS_CLUSTER is not set: run .ci/redis-cluster")
	}
	nodes := strings.Split(env, ",")
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	s, err := Dial(t.Context(), Target{Cluster: &Cluster{Nodes: nodes}}, "t-"+hex.EncodeToString(b[:]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.rdb.(*clusterClient).ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			iter := c.Scan(ctx, 0, s.ns+":*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Unlink(ctx, iter.Val())
			}
			return iter.Err()
		})
		if err != nil {
			t.Logf("dropping %s: %v", s.ns, err)
		}
		s.Close()
	})
	return s, nodes
}

// TestScriptsOnRedisCluster runs, on a real 3-master cluster, each store
// step that is a Lua script or a transaction the demo (app's
// TestDemoOnRedisCluster) does not reach, and the two that SCAN: each
// must stay in the namespace's slot and answer as on one server.
func TestScriptsOnRedisCluster(t *testing.T) {
	s, _ := clusterStore(t)
	if !strings.HasPrefix(s.Namespace(), "{t-") || !strings.HasSuffix(s.Namespace(), "}") {
		t.Fatalf("namespace %q: want the hash tag Dial adds on a cluster", s.Namespace())
	}
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	entry := func(key string) Entry {
		return Entry{Key: key, Rule: "r", AccountID: "src:A1", Recipient: key + "@example.com", Channel: "email", Pass: "p1"}
	}
	claim := func(key string) error {
		res, err := s.Ledger.Claim(ctx, entry(key), "tok", time.Minute, now)
		if err == nil && res != Claimed {
			err = fmt.Errorf("claim %s: %v, want claimed", key, res)
		}
		return err
	}
	want := func(got, want any, err error) error {
		if err == nil && fmt.Sprint(got) != fmt.Sprint(want) {
			err = fmt.Errorf("got %v, want %v", got, want)
		}
		return err
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"pause channel", func() error {
			first, err := s.Ledger.PauseChannel(ctx, "email", "401", now)
			return want(first, true, err)
		}},
		{"claim probe", func() error {
			ok, err := s.Ledger.ClaimProbe(ctx, "email", time.Second, time.Minute, false)
			return want(ok, true, err)
		}},
		{"claim probe again", func() error {
			ok, err := s.Ledger.ClaimProbe(ctx, "email", time.Second, time.Minute, false)
			return want(ok, false, err)
		}},
		{"lock pass", func() error { ok, _, err := s.Passes.LockPass(ctx, "p1", time.Minute); return want(ok, true, err) }},
		{"take over pass", func() error {
			ok, err := s.Passes.TakeOverPass(ctx, "p1", "p2", time.Minute)
			return want(ok, true, err)
		}},
		{"unlock pass", func() error { return s.Passes.UnlockPass(ctx, "p2") }},
		{"lock sync", func() error {
			ok, _, err := s.Syncs.LockSync(ctx, "src", "h1", time.Minute)
			return want(ok, true, err)
		}},
		{"renew sync", func() error { ok, err := s.Syncs.RenewSync(ctx, "src", "h1", time.Minute); return want(ok, true, err) }},
		{"unlock sync", func() error { return s.Syncs.UnlockSync(ctx, "src", "h1") }},
		{"begin sync", func() error { return s.Syncs.BeginSync(ctx, "src", now, "full") }},
		{"end sync", func() error {
			_, err := s.Syncs.EndSync(ctx, Gate{Sources: []string{"src"}, StaleAfter: []time.Duration{time.Hour}}, "src", now, now, true)
			return err
		}},
		{"gate pass", func() error {
			held, _, err := s.Passes.GatePass(ctx, Gate{Sources: []string{"src"}, StaleAfter: []time.Duration{time.Hour}}, now, []byte(`{}`))
			return want(len(held), 0, err)
		}},
		{"begin sweep", func() error { return s.Records.BeginSweep(ctx, "src", now) }},
		{"end sweep", func() error { _, err := s.Records.EndSweep(ctx, "src"); return err }},
		{"acquire cooldown", func() error {
			ok, err := s.Passes.AcquireCooldown(ctx, "r", "src:A1", "p1", time.Hour)
			return want(ok, true, err)
		}},
		{"cooldowns free", func() error {
			free, err := s.Passes.CooldownsFree(ctx, "p2", []RuleAccount{{"r", "src:A1"}, {"r", "src:A2"}})
			return want(fmt.Sprint(free), "[false true]", err)
		}},
		{"release cooldowns", func() error { return s.Passes.ReleaseCooldowns(ctx, "p1", [][2]string{{"r", "src:A1"}}) }},
		{"cooldown released", func() error { _, ok, err := s.Passes.Cooldown(ctx, "r", "src:A1"); return want(ok, false, err) }},
		{"mark contacted", func() error { return s.Records.MarkContacted(ctx, "src:A1", now) }},
		{"claim and mark sent", func() error { return errors.Join(claim("k1-p1"), s.Ledger.MarkSent(ctx, "k1-p1", "tok", now)) }},
		{"claim and release", func() error { return errors.Join(claim("k2-p1"), s.Ledger.Release(ctx, "k2-p1", "tok", "503")) }},
		{"claim and unclaim", func() error {
			if err := claim("k2-p1"); err != nil {
				return err
			}
			ok, err := s.Ledger.Unclaim(ctx, "k2-p1", "tok", now, "lost")
			return want(ok, true, err)
		}},
		{"claim and reject", func() error { return errors.Join(claim("k3-p1"), s.Ledger.Reject(ctx, "k3-p1", "tok", "400")) }},
		{"claim and mark unknown", func() error {
			return errors.Join(claim("k4-p1"), s.Ledger.MarkUnknown(ctx, "k4-p1", "tok", "timeout", []byte("m")), s.Ledger.KeepMessage(ctx, "k4-p1", []byte("m")))
		}},
		{"reclaim", func() error {
			res, err := s.Ledger.Reclaim(ctx, "k4-p1", "tok2", time.Minute, now)
			return want(res, Claimed, err)
		}},
		{"resolve sent", func() error {
			return errors.Join(s.Ledger.MarkUnknown(ctx, "k4-p1", "tok2", "timeout", nil), s.Ledger.ResolveSent(ctx, "k4-p1", now, now))
		}},
		{"mark dead", func() error {
			ok, err := s.Ledger.MarkDead(ctx, entry("k5-p1"), "retries exhausted", now)
			return want(ok, true, err)
		}},
		{"pass entries (scan)", func() error { e, err := s.Ledger.PassEntries(ctx, "p1"); return want(len(e), 5, err) }},
		{"history", func() error { e, err := s.Ledger.History(ctx, "src:A1"); return want(len(e), 5, err) }},
		{"save reports", func() error {
			return errors.Join(s.Passes.SaveReport(ctx, "p1", []byte(`{"n":1}`)), s.Passes.SaveReport(ctx, "p2", []byte(`{"n":2}`)))
		}},
		{"recent reports (scan)", func() error {
			passes, _, err := s.Passes.RecentReports(ctx, 5)
			return want(passes, []string{"p2", "p1"}, err)
		}},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			t.Errorf("%s: %v", st.name, err)
		}
	}
}

// TestNewTagsTheNamespaceOnACluster: New over a cluster client puts a hash
// tag around a namespace that has none, and keeps one that has.
func TestNewTagsTheNamespaceOnACluster(t *testing.T) {
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer c.Close()
	for ns, want := range map[string]string{"": "{crmsync}", "crm": "{crm}", "{crm}": "{crm}", "prod-{crm}": "prod-{crm}"} {
		if got := New(c, ns).Namespace(); got != want {
			t.Errorf("New(cluster, %q).Namespace() = %q, want %q", ns, got, want)
		}
	}
	if got := New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "crm").Namespace(); got != "crm" {
		t.Errorf("New(one server, crm).Namespace() = %q, want crm", got)
	}
}
