package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// redisServer is a private redis-server with an append-only file, for the
// scenarios that stop Redis: it can be stopped and started again on the
// same folder and port, and comes back with what it had acknowledged.
type redisServer struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis starts a private redis-server from PATH on a spare port. It
// skips the test when there is none, except under CI=true.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		msg := "chaos: no redis-server on PATH (apt-get install redis-server); the scenarios that stop Redis need their own"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	r := &redisServer{dir: t.TempDir()}
	var err error
	for range 5 { // a port taken between the check and the bind: another one
		if r.port, err = sparePort(); err != nil {
			t.Fatal(err)
		}
		if err = r.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.kill)
	return r
}

// sparePort returns a free port below the ephemeral range: a client
// retrying a connection to a stopped server on an ephemeral port can end
// up connected to itself on it (TCP self-connect), and the server then
// cannot come back.
func sparePort() (int, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	for range 100 {
		port := 10000 + rand.IntN(max(low-10000, 1000))
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no spare port below the ephemeral range")
}

// URL is the server's redis:// URL.
func (r *redisServer) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// start runs redis-server and waits until it answers (having loaded its
// append-only file).
func (r *redisServer) start() error {
	r.cmd = exec.Command("redis-server",
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--logfile", filepath.Join(r.dir, "redis.log"), "--daemonize", "no")
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	r.done = make(chan struct{})
	go func() { r.cmd.Wait(); close(r.done) }()
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer c.Close()
	_, err := waitUntil(15*time.Second, "redis-server to answer", func() (bool, string) {
		select {
		case <-r.done:
			return true, "redis-server exited"
		default:
		}
		err := c.Ping(context.Background()).Err()
		return err == nil, fmt.Sprint(err)
	})
	select {
	case <-r.done:
		err = errors.New("redis-server exited")
	default:
	}
	if err != nil {
		r.kill()
		log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
		return fmt.Errorf("redis-server on port %d: %w\n%s", r.port, err, log)
	}
	return nil
}

// stop shuts the server down gracefully (SIGTERM: it flushes the
// append-only file) and waits for it to exit.
func (r *redisServer) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		r.kill()
	}
}

func (r *redisServer) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.done:
	default:
		r.cmd.Process.Kill()
		<-r.done
	}
}

func init() {
	// The test's own clients keep polling while a scenario stops Redis:
	// their dial errors are expected, not worth a line each.
	redis.SetLogger(quietLogger{})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// client returns a client of url, closed when the test ends.
func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// snapshot is the portfolio a store holds, flattened: one entry per record
// (an account's summary, one contact or deal of an account's hash, an owner,
// an index entry), keyed without the namespace.
type snapshot map[string]string

// recordPrefixes are the store keys that hold synced records (store/doc.go);
// locks, watermarks, sweeps, ledger and reports are left out.
var recordPrefixes = []string{"accounts", "summary", "contacts:", "deals:", "contact:", "deal:", "owner:"}

// snapshotStore reads the records namespace ns holds.
func snapshotStore(ctx context.Context, c *redis.Client, ns string) (snapshot, error) {
	snap := snapshot{}
	iter := c.Scan(ctx, 0, ns+":*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		rel := strings.TrimPrefix(key, ns+":")
		if !slices.ContainsFunc(recordPrefixes, func(p string) bool {
			return rel == p || strings.HasSuffix(p, ":") && strings.HasPrefix(rel, p)
		}) {
			continue
		}
		typ, err := c.Type(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		switch typ {
		case "string":
			v, err := c.Get(ctx, key).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return nil, err
			}
			snap[rel] = v
		case "hash":
			h, err := c.HGetAll(ctx, key).Result()
			if err != nil {
				return nil, err
			}
			for f, v := range h {
				snap[rel+"#"+f] = v
			}
		case "zset":
			ms, err := c.ZRange(ctx, key, 0, -1).Result()
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				snap[rel+"#"+m] = ""
			}
		}
	}
	return snap, iter.Err()
}

// storeDiff compares a store with the reference's: records missing,
// records that differ, records the reference does not have, and a few
// examples.
type storeDiff struct {
	missing, changed, extra int
	examples                []string
}

func (d storeDiff) String() string {
	return fmt.Sprintf("%d records missing, %d different, %d extra (%s)", d.missing, d.changed, d.extra, strings.Join(d.examples, "; "))
}

func (d storeDiff) same() bool { return d.missing+d.changed+d.extra == 0 }

func diffStores(want, got snapshot) storeDiff {
	var d storeDiff
	note := func(s string) {
		if len(d.examples) < 5 {
			d.examples = append(d.examples, s)
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := got[k]
		switch {
		case !ok:
			d.missing++
			note("missing " + k)
		case v != want[k]:
			d.changed++
			note(fmt.Sprintf("%s: %.120s, want %.120s", k, v, want[k]))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d.extra++
			note("extra " + k)
		}
	}
	return d
}

// countPrefix counts the entries of snap whose key starts with prefix.
func (s snapshot) countPrefix(prefix string) int {
	n := 0
	for k := range s {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// passReport is what the chaos tests read of a pass report.
type passReport struct {
	Pass      string         `json:"pass"`
	StartedAt time.Time      `json:"started_at"`
	Duration  time.Duration  `json:"duration"`
	Accounts  int            `json:"accounts"`
	Enqueued  map[string]int `json:"enqueued"`
}

// reports returns the pass reports of namespace ns, oldest first.
func reports(ctx context.Context, c *redis.Client, ns string) ([]passReport, error) {
	var out []passReport
	iter := c.Scan(ctx, 0, ns+":report:*", 1000).Iterator()
	for iter.Next(ctx) {
		b, err := c.Get(ctx, iter.Val()).Bytes()
		if err != nil {
			if errors.Is(err, redis.Nil) {
				continue
			}
			return nil, err
		}
		var r passReport
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("report %s: %w", iter.Val(), err)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out, iter.Err()
}

// queueNames are crmsync's asynq queues within a deployment.
var queueNames = []string{"slack", "email", "evaluate", "sync"}

// queueState counts the tasks of namespace ns that are not done: pending,
// active (orphaned ones included), scheduled and waiting for a retry in
// the delivery and sync queues, and the passes waiting in the evaluate
// queue (deferred, or scheduled for a retry). The evaluation shards
// pending or running are listed apart, by id: every tick's pass has some
// for a second or so, while one orphaned by an outage stays for a minute
// or more.
func queueState(insp *asynq.Inspector, ns string) (busy int, shards []string, state string, err error) {
	var parts []string
	for _, name := range queueNames {
		q := ns + ":" + name // workers.Namespace.Queue
		info, err := insp.GetQueueInfo(q)
		if errors.Is(err, asynq.ErrQueueNotFound) || err != nil && strings.Contains(err.Error(), "does not exist") {
			continue
		}
		if err != nil {
			return 0, nil, "", err
		}
		n := info.Scheduled + info.Retry
		if name != "evaluate" {
			n += info.Pending + info.Active + info.Aggregating
		} else if shards, err = shardsLeft(insp, q); err != nil {
			return 0, nil, "", err
		}
		busy += n
		if n > 0 || name == "evaluate" && len(shards) > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d pending, %d active, %d scheduled, %d retry",
				name, info.Pending, info.Active, info.Scheduled, info.Retry))
		}
	}
	if len(parts) == 0 {
		return 0, nil, "queues idle", nil
	}
	return busy, shards, strings.Join(parts, "; "), nil
}

// shardsLeft returns the ids of the evaluation shards pending or running
// in queue q: a pass's work still to do. (A shard orphaned by a Redis
// outage stays active until asynq's recoverer hands it out again, a minute
// or more.)
func shardsLeft(insp *asynq.Inspector, q string) ([]string, error) {
	var ids []string
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){insp.ListPendingTasks, insp.ListActiveTasks} {
		tasks, err := list(q, asynq.PageSize(1000))
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			if strings.Contains(t.ID, ":shard:") {
				ids = append(ids, t.ID)
			}
		}
	}
	return ids, nil
}
