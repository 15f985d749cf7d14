package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// DefaultNamespace is the key prefix used when New or Open get none.
const DefaultNamespace = "crmsync"

// ErrNotFound reports that the requested document does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrClaimLost reports that a ledger claim is no longer held by the token
// that tries to complete or release it.
var ErrClaimLost = errors.New("store: claim lost")

// Store is crmsync's Redis store: one connection and namespace, and a
// part for each kind of state, so that each consumer names only the part it
// uses. It is safe for concurrent use.
type Store struct {
	// Records is the synced portfolio: accounts, contacts, deals, owners,
	// watermarks, rejects, sweeps.
	Records *Records
	// Syncs is the bookkeeping of each source's syncs: locks, readiness,
	// progress, failures, the CRM's pauses, rotated refresh tokens.
	Syncs *Syncs
	// Passes is the state of evaluation passes: the pass lock, plans,
	// shard results, reports, digests, deferred passes, and the rules'
	// flags, cooldowns and snoozes that passes carry from one to the next.
	Passes *Passes
	// Ledger is the notification ledger (claim, send, record) and the
	// delivery channels' pauses.
	Ledger *Ledger
	// Suppressions is the local suppression list and the webhook events
	// already handled.
	Suppressions *Suppressions

	conn
	mr *miniredis.Miniredis // embedded server, nil on a real Redis

	stopClock, clockDone chan struct{} // the embedded server's TTL clock
	closeOnce            sync.Once
	closeErr             error
}

// Open connects to the Redis at url (redis:// or rediss://) and pings it.
// An empty url starts an embedded, in-memory miniredis whose TTLs follow
// the wall clock; its state is lost on Close.
func Open(ctx context.Context, url, namespace string) (*Store, error) {
	return Dial(ctx, Target{URL: url}, namespace)
}

// Target says which Redis Dial connects to: the Cluster when set, else the
// primary the Sentinels name when Sentinel is set, else the server at URL
// (redis:// or rediss://), else an embedded miniredis (see Open).
type Target struct {
	URL      string
	Sentinel *Sentinel
	Cluster  *Cluster
}

// Sentinel is a primary found, and failed over, by Redis Sentinel.
type Sentinel struct {
	Master           string   // the primary's name in the Sentinels' configuration
	Addrs            []string // the Sentinels, host:port
	Username         string   // ACL user of the primary and replicas
	Password         string   // password of the primary and replicas
	SentinelPassword string   // password of the Sentinels
	DB               int
	TLS              bool
}

// Cluster is a Redis Cluster reached through some of its nodes.
type Cluster struct {
	Nodes    []string // host:port of some of its nodes
	Username string
	Password string
	TLS      bool
}

// Dial connects to t and pings it. On a cluster, a namespace without a
// hash tag is used as "{namespace}" (see New).
func Dial(ctx context.Context, t Target, namespace string) (*Store, error) {
	rdb, where, err := t.client()
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if rdb == nil {
		return openEmbedded(namespace)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("store: open: ping %s: %w", where, err)
	}
	return New(rdb, namespace), nil
}

// client builds t's client and says where it points, for errors; nil for
// the embedded server.
func (t Target) client() (redis.UniversalClient, string, error) {
	switch {
	case t.Cluster != nil:
		c := t.Cluster
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: c.Nodes, Username: c.Username, Password: c.Password, TLSConfig: tlsConfig(c.TLS),
		}), "cluster " + strings.Join(c.Nodes, ","), nil
	case t.Sentinel != nil:
		s := t.Sentinel
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: s.Master, SentinelAddrs: s.Addrs, SentinelPassword: s.SentinelPassword,
			Username: s.Username, Password: s.Password, DB: s.DB, TLSConfig: tlsConfig(s.TLS),
		}), "primary " + s.Master + " of sentinels " + strings.Join(s.Addrs, ","), nil
	case t.URL != "":
		opt, err := redis.ParseURL(t.URL)
		if err != nil {
			return nil, "", err
		}
		return redis.NewClient(opt), opt.Addr, nil
	}
	return nil, "", nil
}

func tlsConfig(on bool) *tls.Config {
	if !on {
		return nil
	}
	return &tls.Config{MinVersion: tls.VersionTLS12}
}

func openEmbedded(namespace string) (*Store, error) {
	mr, err := miniredis.Run()
	if err != nil {
		return nil, fmt.Errorf("store: open embedded: %w", err)
	}
	s := New(redis.NewClient(&redis.Options{Addr: mr.Addr()}), namespace)
	s.mr = mr
	s.stopClock = make(chan struct{})
	s.clockDone = make(chan struct{})
	go tickTTLs(mr, s.stopClock, s.clockDone)
	return s, nil
}

// ttlTick is how often the embedded server's TTLs are moved forward.
const ttlTick = 100 * time.Millisecond

// tickTTLs moves the embedded server's TTLs with the wall clock until stop
// is closed. Without it miniredis TTLs only move on FastForward: cooldowns,
// ledger entries and asynq's locks would never expire. (miniredis's own
// ClockTTL does this on every command, walking every key each time, which
// makes a page of writes quadratic in the size of the store.)
func tickTTLs(mr *miniredis.Miniredis, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(ttlTick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			mr.FastForward(now.Sub(last))
			last = now
		}
	}
}

// New returns a Store over an existing client, for tests or to share one
// client with asynq. An empty namespace means DefaultNamespace.
//
// On a Redis Cluster (a *redis.ClusterClient), every key of the store must
// hash to one slot, since scripts and transactions touch several keys at
// once: a namespace without a hash tag is used as "{namespace}", and SCAN
// goes to the primary that holds the namespace's slot.
func New(rdb redis.UniversalClient, namespace string) *Store {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		if !HasHashTag(namespace) {
			namespace = "{" + namespace + "}"
		}
		rdb = &clusterClient{ClusterClient: cc, slotKey: namespace}
	}
	c := conn{rdb: rdb, ns: namespace}
	return &Store{
		Records: &Records{c}, Syncs: &Syncs{c}, Passes: &Passes{c}, Ledger: &Ledger{c}, Suppressions: &Suppressions{c},
		conn: c,
	}
}

// HasHashTag reports whether key holds a Redis Cluster hash tag: a '{'
// followed, later, by a '}' with at least one byte between them. A key
// that starts with such a namespace hashes on the tag alone.
func HasHashTag(key string) bool {
	i := strings.IndexByte(key, '{')
	return i >= 0 && strings.IndexByte(key[i+1:], '}') > 0
}

// clusterClient is a Cluster client whose SCAN walks the primary serving
// the store's slot: a cluster client sends a keyless command such as SCAN
// to any node, which would list some other node's keys.
type clusterClient struct {
	*redis.ClusterClient
	slotKey string // any key of the namespace
}

// Scan scans the primary that holds the namespace's slot.
func (c *clusterClient) Scan(ctx context.Context, cursor uint64, match string, count int64) *redis.ScanCmd {
	node, err := c.MasterForKey(ctx, c.slotKey)
	if err != nil {
		cmd := redis.NewScanCmd(ctx, func(context.Context, redis.Cmder) error { return err }, "scan", cursor)
		cmd.SetErr(err)
		return cmd
	}
	return node.Scan(ctx, cursor, match, count)
}

// conn is what every part of the store shares: the client, the namespace
// and the key layout (doc.go).
type conn struct {
	rdb redis.UniversalClient
	ns  string
}

// Records is the synced portfolio (see Store).
type Records struct{ conn }

// Syncs is the bookkeeping of sources' syncs (see Store).
type Syncs struct{ conn }

// Passes is the state of evaluation passes (see Store).
type Passes struct{ conn }

// Ledger is the notification ledger and the channels' pauses (see Store).
type Ledger struct{ conn }

// Suppressions is the suppression list and handled events (see Store).
type Suppressions struct{ conn }

// Redis returns the underlying client, to share with asynq
// (asynq.NewServerFromRedisClient).
func (s *Store) Redis() redis.UniversalClient { return s.rdb }

// Embedded reports whether the store runs on an embedded miniredis.
func (s *Store) Embedded() bool { return s.mr != nil }

// Namespace returns the key prefix, without the trailing ':'.
func (s *Store) Namespace() string { return s.ns }

// Close closes the client and stops the embedded server, if any. Closing
// again does nothing and returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		err := s.rdb.Close()
		if s.mr != nil {
			close(s.stopClock)
			<-s.clockDone
			s.mr.Close()
		}
		if err != nil {
			s.closeErr = fmt.Errorf("store: close: %w", err)
		}
	})
	return s.closeErr
}

// key joins the namespace and parts with ':'.
func (s conn) key(parts ...string) string {
	return s.ns + ":" + strings.Join(parts, ":")
}

// normEmail is the form of an address used in keys: trimmed, lower-cased.
func normEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// MaybeDone reports whether a call that failed with err may have been
// carried out by Redis all the same: the connection failed or timed out
// after the command may have been sent. An error Redis answered (LOADING,
// a script error, READONLY...) means it did not run the command.
func MaybeDone(err error) bool {
	var reply redis.Error
	return err != nil && !errors.As(err, &reply)
}
