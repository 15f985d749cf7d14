package app

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/internal/gcfloor"
	"github.com/crmsync/crmsync/internal/gensample"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/workers"
)

// The scale benchmarks run what `crmsync run` does with a generated
// portfolio shaped like the sample, on the real Redis of
// CRMSYNC_TEST_REDIS_URL, with the demo's config and rules (outbox):
//
//	CRMSYNC_TEST_REDIS_URL=redis://127.0.0.1:6379 CRMSYNC_SCALE=100000,1000000 \
//	  go test -run '^$' -bench Scale -benchtime 1x -timeout 60m ./app/
//
// For each size, sync/N is a full sync of the CSV files into a fresh
// namespace; pass/N an evaluation pass as the workers of `run` perform it
// (planning, shards, flags, gates, planning messages and enqueueing their
// delivery tasks; not delivering them), each iteration on the same
// records with the passes' state wiped. Sizes default to 100000. The
// portfolios are generated once (gensample.Cached). The floor
// (internal/floor) runs in the same benchmark: floor_bench_test.go.

// scaleSizes are the portfolio sizes of CRMSYNC_SCALE.
func scaleSizes(b *testing.B) []int {
	v := os.Getenv("CRMSYNC_SCALE")
	if v == "" {
		v = "100000"
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			b.Fatalf("CRMSYNC_SCALE: %v", err)
		}
		out = append(out, n)
	}
	return out
}

// scalePortfolio returns the directory of a generated portfolio of n
// accounts (gensample.Cached: generated once, shared with the csv and
// floor benchmarks).
func scalePortfolio(b *testing.B, n int) string {
	dir, err := gensample.Cached(n)
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// scaleApp is an app whose source is a generated portfolio, on a fresh
// namespace of the real Redis.
func scaleApp(b testing.TB, dir string) *App {
	path, err := PrepareDemo(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	sample := filepath.Join(filepath.Dir(path), "sample")
	if err := os.RemoveAll(sample); err != nil {
		b.Fatal(err)
	}
	if err := os.Symlink(dir, sample); err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.WriteString(redistest.ConfigLine(b)); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return newApp(b, loadConfig(b, path), Options{TaskCheckInterval: 10 * time.Millisecond})
}

// synced holds, per size, the app the last sync/N filled.
var synced sync.Map // int → *App

func BenchmarkScale(b *testing.B) {
	redistest.Client(b)                              // skips without a real Redis
	gcfloor.Start(b.Context(), gcfloor.DefaultFloor) // as cmd/crmsync does
	for _, n := range scaleSizes(b) {
		dir := scalePortfolio(b, n)
		b.Run(fmt.Sprintf("floor/%d", n), func(b *testing.B) { benchFloor(b, dir, n) })
		parent := b
		b.Run(fmt.Sprintf("sync/%d", n), func(b *testing.B) {
			var cpu, rcpu time.Duration
			for b.Loop() {
				b.StopTimer()
				a := scaleApp(parent, dir) // lives on for pass/N
				c, r := processCPU(), redisCPU(b, a)
				b.StartTimer()
				if _, err := a.Handlers.Sync.Sync(b.Context(), "sample", true); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu, rcpu = cpu+processCPU()-c, rcpu+redisCPU(b, a)-r
				b.StartTimer()
				synced.Store(n, a)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "go-cpu-s")
			b.ReportMetric(rcpu.Seconds()/float64(b.N), "redis-cpu-s")
			reportRedisMemory(b, &synced, n)
		})
		b.Run(fmt.Sprintf("pass/%d", n), func(b *testing.B) {
			v, ok := synced.Load(n)
			if !ok {
				b.Skip("needs sync/N first")
			}
			benchPass(b, v.(*App), n)
		})
		b.Run(fmt.Sprintf("dashboard/%d", n), func(b *testing.B) {
			v, ok := synced.Load(n)
			if !ok {
				b.Skip("needs sync/N and pass/N first")
			}
			benchDashboard(b, v.(*App))
		})
	}
}

// benchPass runs passes through a server that serves the evaluate queue
// only, so that delivery tasks stay queued.
func benchPass(b *testing.B, a *App, size int) {
	cfg := a.serverConfig()
	cfg.Queues = map[string]int{a.ns().Queue(workers.QueueEvaluate): 1}
	srv := asynq.NewServerFromRedisClient(a.Store.Redis(), cfg)
	if err := srv.Start(a.Handlers.Mux()); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	var rep *workers.Report
	i := 0
	if os.Getenv("CRMSYNC_SCALE_STATS") != "" {
		a.Store.Redis().ConfigResetStat(context.Background())
	}
	stop := passProfile(b)
	slow := passSlowlog(b, a)
	var passes, cpu, rcpu time.Duration
	for b.Loop() {
		b.StopTimer()
		wipePasses(b, a)
		i++
		pass := fmt.Sprintf("bench-%d", i)
		c, r := processCPU(), redisCPU(b, a)
		b.StartTimer()
		if err := a.EnqueueEvaluate(b.Context(), pass, gensample.AsOf); err != nil {
			b.Fatal(err)
		}
		var err error
		if rep, err = a.waitReport(b.Context(), pass); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu, rcpu = cpu+processCPU()-c, rcpu+redisCPU(b, a)-r
		b.StartTimer()
		passes += rep.Duration
	}
	stop()
	slow()
	// What a pass costs the machine, less noisy than its duration on a
	// shared one: CPU seconds of this process (the workers) and of Redis,
	// without the wipe between passes.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "go-cpu-s")
	b.ReportMetric(rcpu.Seconds()/float64(b.N), "redis-cpu-s")
	b.ReportMetric(passes.Seconds()/float64(b.N), "mean-pass-s")
	// x-floor is the pass against the floor of the same run (floor/N):
	// the target is at most 1.5.
	if f, ok := floors.Load(size); ok {
		b.ReportMetric(passes.Seconds()/float64(b.N)/f.(time.Duration).Seconds(), "x-floor")
	}
	if os.Getenv("CRMSYNC_SCALE_STATS") != "" {
		// What Redis spent on the passes, by command (CONFIG RESETSTAT
		// was sent before them): the server's side of a pass, costliest
		// first (a benchmark's log keeps 10 lines).
		b.Log(topCommands(a.Store.Redis().Info(context.Background(), "commandstats").Val(), 9))
	}
	// pass-s is the pass's own duration, as crmsync_evaluate_pass_seconds
	// reports it: from planning to its report, without the wait for a
	// worker to take the task that ns/op includes.
	b.ReportMetric(rep.Duration.Seconds(), "pass-s")
	b.ReportMetric(float64(rep.Accounts), "accounts")
	sum := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	b.ReportMetric(float64(sum(rep.Flags)), "flags")
	enq := 0
	for _, v := range rep.Enqueued {
		enq += v
	}
	b.ReportMetric(float64(enq), "enqueued")
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time the Redis server has used (INFO cpu).
func redisCPU(b *testing.B, a *App) time.Duration {
	info, err := a.Store.Redis().Info(b.Context(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, l := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// passProfile starts a CPU profile of the passes alone, without the sync
// before them, when CRMSYNC_SCALE_CPUPROFILE names a file (suffixed with
// the benchmark's size); the returned func stops it. It also writes the
// allocation profiles before and after the passes (.allocs-before,
// .allocs-after), whose difference is what the passes allocated:
// go tool pprof -sample_index=alloc_space -diff_base F.allocs-before F.allocs-after.
func passProfile(b *testing.B) func() {
	path := os.Getenv("CRMSYNC_SCALE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path + "." + filepath.Base(b.Name()))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	allocs := func(suffix string) {
		f, err := os.Create(path + "." + filepath.Base(b.Name()) + suffix)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
	allocs(".allocs-before")
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		allocs(".allocs-after")
	}
}

// benchDashboard builds the dashboard's book after the last pass and
// serves its portfolio, at-risk and evolution pages, as the first visit
// after a pass does; book-B is what the book keeps on the heap.
func benchDashboard(b *testing.B, a *App) {
	srv := httptest.NewServer(a.HTTPHandler())
	defer srv.Close()
	get := func(path string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %s", path, resp.Status)
		}
	}
	var kept uint64
	for b.Loop() {
		b.StopTimer()
		d := a.webData()
		d.mu.Lock()
		d.book = nil // built again, as after a pass
		d.mu.Unlock()
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapInuse
		b.StartTimer()
		get("/portfolio")
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		kept = ms.HeapInuse - min(before, ms.HeapInuse)
		b.StartTimer()
		get("/portfolio?class=A")
		get("/at-risk")
		get("/evolution")
	}
	b.ReportMetric(float64(kept), "book-B")
}

// wipePasses removes what passes leave (flags, cooldowns, reports,
// ledger, outcomes, snapshots, queued tasks), keeping the records, so
// that every pass starts as the first one.
func wipePasses(b *testing.B, a *App) {
	ctx := context.Background()
	rdb := a.Store.Redis()
	ns := a.Store.Namespace()
	keep := []string{"records", "features", "ptrs:", "stored:", "owner:", "accounts", "watermark:", "sync-state:", "schema", "rejects"}
	for _, pattern := range []string{ns + ":*", "asynq:{" + ns + ":*"} {
		iter := rdb.Scan(ctx, 0, pattern, 5000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			k := iter.Val()
			rest := strings.TrimPrefix(k, ns+":")
			if rest != k && hasAnyPrefix(rest, keep) {
				continue
			}
			if batch = append(batch, k); len(batch) == 1000 {
				rdb.Unlink(ctx, batch...)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			rdb.Unlink(ctx, batch...)
		}
		if err := iter.Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// reportRedisMemory reports the bytes per account the namespace of the
// app last synced for n takes in Redis (MEMORY USAGE of each key).
func reportRedisMemory(b *testing.B, m *sync.Map, n int) {
	v, ok := m.Load(n)
	if !ok {
		return
	}
	a := v.(*App)
	ctx := context.Background()
	rdb := a.Store.Redis()
	var total int64
	var keys int
	iter := rdb.Scan(ctx, 0, a.Store.Namespace()+":*", 5000).Iterator()
	var batch []string
	flush := func() {
		cmds, _ := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range batch {
				p.MemoryUsage(ctx, k, 0)
			}
			return nil
		})
		for _, c := range cmds {
			total += c.(*redis.IntCmd).Val()
		}
		keys += len(batch)
		batch = batch[:0]
	}
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			flush()
		}
	}
	flush()
	b.ReportMetric(float64(total)/float64(n), "redis-B/account")
	b.ReportMetric(float64(keys)/float64(n), "keys/account")
}

// topCommands returns the n commands of an INFO commandstats reply that
// took Redis the most time, one per line.
func topCommands(info string, n int) string {
	type stat struct {
		line string
		usec int64
	}
	var stats []stat
	for _, line := range strings.Split(info, "\n") {
		_, rest, ok := strings.Cut(line, "usec=")
		if !ok {
			continue
		}
		us, _, _ := strings.Cut(rest, ",")
		v, _ := strconv.ParseInt(us, 10, 64)
		stats = append(stats, stat{strings.TrimSpace(line), v})
	}
	slices.SortFunc(stats, func(a, b stat) int { return cmp.Compare(b.usec, a.usec) })
	var out []string
	for _, s := range stats[:min(n, len(stats))] {
		out = append(out, s.line)
	}
	return strings.Join(out, "\n")
}

// passSlowlog logs every command Redis runs during the passes in its
// slow log, when CRMSYNC_SCALE_SLOWLOG names a file, and the returned
// func writes there Redis's time by command and kind of key (the key's
// first part after the namespace; a pass's keys by their last part),
// costliest first: what commandstats cannot tell apart (an HSET of
// snapshots from one of staged matches). Redis keeps a few hundred bytes
// per command meanwhile.
func passSlowlog(b *testing.B, a *App) func() {
	path := os.Getenv("CRMSYNC_SCALE_SLOWLOG")
	if path == "" {
		return func() {}
	}
	ctx, rdb := context.Background(), a.Store.Redis()
	old, err := rdb.ConfigGet(ctx, "slowlog-*").Result()
	if err != nil {
		b.Fatal(err)
	}
	rdb.ConfigSet(ctx, "slowlog-max-len", "4000000")
	rdb.ConfigSet(ctx, "slowlog-log-slower-than", "0")
	rdb.SlowLogReset(ctx)
	return func() {
		rdb.ConfigSet(ctx, "slowlog-log-slower-than", "-1")
		logs, err := rdb.SlowLogGet(ctx, -1).Result()
		for k, v := range old {
			rdb.ConfigSet(ctx, k, v)
		}
		rdb.SlowLogReset(ctx)
		if err != nil {
			b.Fatal(err)
		}
		type stat struct {
			calls int
			d     time.Duration
		}
		by := map[string]*stat{}
		var total time.Duration
		for _, l := range logs {
			k := strings.ToLower(l.Args[0])
			switch key := 1; {
			case (k == "evalsha" || k == "eval") && len(l.Args) > 3:
				k += " " + l.Args[1][:min(8, len(l.Args[1]))] // which script
				key = 3
				fallthrough
			case len(l.Args) > key:
				k += " " + keyKind(a.Store.Namespace()+":", l.Args[key])
			}
			if by[k] == nil {
				by[k] = &stat{}
			}
			by[k].calls++
			by[k].d += l.Duration
			total += l.Duration
		}
		keys := slices.Collect(maps.Keys(by))
		slices.SortFunc(keys, func(x, y string) int { return cmp.Compare(by[y].d, by[x].d) })
		var out strings.Builder
		fmt.Fprintf(&out, "%d commands, %v\n", len(logs), total)
		for _, k := range keys {
			fmt.Fprintf(&out, "%-40s %9d calls %12v %5.1f%%\n", k, by[k].calls, by[k].d, 100*by[k].d.Seconds()/total.Seconds())
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// keyKind is the kind of key k: its first part after prefix, or a pass's
// key by its last part.
func keyKind(prefix, k string) string {
	rest, ok := strings.CutPrefix(k, prefix)
	if !ok {
		return "(other)"
	}
	first, after, _ := strings.Cut(rest, ":")
	if first == "pass" {
		return "pass:" + after[strings.LastIndex(after, ":")+1:]
	}
	return first
}
