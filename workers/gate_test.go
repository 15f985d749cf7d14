package workers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/waitfor"
	"github.com/crmsync/crmsync/store"
)

// fakeTasks is asynq's Inspector as the syncer and the evaluator use it:
// tasks by id with a state, and what was run and deleted.
type fakeTasks struct {
	mu      sync.Mutex
	states  map[string]asynq.TaskState // task id → state
	run     []string
	deleted []string
}

func (f *fakeTasks) GetTaskInfo(_, id string) (*asynq.TaskInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.states[id]
	if !ok {
		return nil, asynq.ErrTaskNotFound
	}
	return &asynq.TaskInfo{ID: id, State: st}, nil
}

func (f *fakeTasks) RunTask(_, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.states[id]; !ok {
		return asynq.ErrTaskNotFound
	}
	f.states[id] = asynq.TaskStatePending
	f.run = append(f.run, id)
	return nil
}

func (f *fakeTasks) DeleteTask(_, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.states, id)
	f.deleted = append(f.deleted, id)
	return nil
}

func oneSource(name string) store.Gate {
	return store.Gate{Sources: []string{name}, StaleAfter: []time.Duration{24 * time.Hour}}
}

// TestPassWaitsForTheFirstSync: a pass due while the first sync runs is
// deferred (its task stays, to retry later without spending retries) and
// runs as soon as the sync commits, with its own clock.
func TestPassWaitsForTheFirstSync(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	tasks := &fakeTasks{states: map[string]asynq.TaskState{}}
	e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
	e.NS, e.Gate, e.Tasks = "test", oneSource("crm"), tasks

	conn := &blockingConnector{started: make(chan struct{}), release: make(chan struct{})}
	y := &Syncer{Sources: map[string]connectors.Connector{"crm": conn}, Records: s.Records, Syncs: s.Syncs, Gate: e.Gate,
		Queue: &taskRecorder{}, NS: "test", Tasks: tasks, Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
	done := make(chan error, 1)
	go func() { _, err := y.Sync(ctx, "crm", false); done <- err }()
	<-conn.started

	err := e.Start(ctx, "p1", evalNow)
	later, ok := errors.AsType[*RetryLater](err)
	if !ok || !strings.Contains(later.Reason, "crm (first sync") || IsFailure(err) {
		t.Fatalf("Start during the first sync = %v; want a RetryLater naming crm's first sync", err)
	}
	if _, err := s.Passes.PassPlan(ctx, "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the deferred pass was planned: %v", err)
	}
	// The pass's task now waits in asynq's retry set.
	tasks.states["test:"+EvaluateTaskID("p1")] = asynq.TaskStateRetry
	close(conn.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(tasks.run) != 1 || tasks.run[0] != "test:evaluate:p1" {
		t.Fatalf("tasks run at the commit: %v; want the deferred pass", tasks.run)
	}
	if err := e.Start(ctx, "p1", evalNow); err != nil {
		t.Fatalf("Start after the commit = %v", err)
	}
	if _, err := s.Passes.PassPlan(ctx, "p1"); err != nil {
		t.Fatalf("the pass did not run after the commit: %v", err)
	}
}

// TestNewerPassReplacesTheDeferredOne: while a full sync runs, each tick's
// pass replaces the one before, whose task is deleted: one pass runs after.
func TestNewerPassReplacesTheDeferredOne(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	tasks := &fakeTasks{states: map[string]asynq.TaskState{"test:evaluate:p1": asynq.TaskStateRetry}}
	e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
	e.NS, e.Gate, e.Tasks = "test", oneSource("crm"), tasks
	if err := s.Syncs.BeginSync(ctx, "crm", time.Now(), store.FullFirst); err != nil {
		t.Fatal(err)
	}
	for _, pass := range []string{"p1", "p2"} {
		if _, ok := errors.AsType[*RetryLater](e.Start(ctx, pass, evalNow)); !ok {
			t.Fatalf("%s was not deferred", pass)
		}
	}
	if len(tasks.deleted) != 1 || tasks.deleted[0] != "test:evaluate:p1" {
		t.Fatalf("deleted %v; want p1's task", tasks.deleted)
	}
}

// TestFullSyncResumedNotRestarted: a full sync asked for again after it
// was interrupted (asynq retrying the --full task) resumes from its last
// stored page, and passes wait until it completes.
func TestFullSyncResumedNotRestarted(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	conn := &pagedConnector{n: 5}
	y := &Syncer{Sources: map[string]connectors.Connector{"crm": conn}, Records: s.Records, Syncs: s.Syncs, Gate: oneSource("crm"),
		Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
	if _, err := y.Sync(ctx, "crm", false); err != nil {
		t.Fatal(err)
	}
	conn.failAt = 3
	if _, err := y.Sync(ctx, "crm", true); err == nil {
		t.Fatal("want the connector's error")
	}
	if held, _, _ := s.Passes.GatePass(ctx, y.Gate, time.Now(), nil); len(held) != 1 {
		t.Fatalf("passes held by %v during the interrupted full sync; want crm", held)
	}
	conn.failAt = 0
	if _, err := y.Sync(ctx, "crm", true); err != nil {
		t.Fatal(err)
	}
	if from := conn.froms[len(conn.froms)-1]; from["page"] != "2" {
		t.Fatalf("the full sync asked for again pulled from %v; want page 2, its last stored", from)
	}
	if held, _, _ := s.Passes.GatePass(ctx, y.Gate, time.Now(), nil); len(held) != 0 {
		t.Fatalf("passes held by %v after the full sync completed", held)
	}
}

// TestSyncTaskRetriesWhileAnotherRuns: a sync task finding the source
// locked by a live sync retries later (it does not succeed); once that
// sync has completed, the retried task has nothing left to do.
func TestSyncTaskRetriesWhileAnotherRuns(t *testing.T) {
	ctx := context.Background()
	conn := &blockingConnector{started: make(chan struct{}), release: make(chan struct{})}
	ts := testStore(t)
	y := &Syncer{Sources: map[string]connectors.Connector{"crm": conn}, Records: ts.Records, Syncs: ts.Syncs, Gate: oneSource("crm"),
		Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
	task, _ := NewSyncTask("test", SyncPayload{Source: "crm"})
	time.Sleep(2 * time.Millisecond) // the running sync starts after the task was asked for
	done := make(chan error, 1)
	go func() { _, err := y.Sync(ctx, "crm", false); done <- err }()
	<-conn.started
	err := y.ProcessTask(ctx, task)
	if later, ok := errors.AsType[*RetryLater](err); !ok || later.After <= 0 || IsFailure(err) {
		t.Fatalf("ProcessTask while a sync runs = %v; want a RetryLater", err)
	}
	close(conn.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	conn.started = make(chan struct{}) // a second pull would close it again
	if err := y.ProcessTask(ctx, task); err != nil {
		t.Fatalf("retried task = %v", err)
	}
	select {
	case <-conn.started:
		t.Fatal("the retried task pulled again although a sync completed since it was asked for")
	default:
	}
}

// TestResumeInterrupted: a sync marked running whose lock nobody holds (its
// process died) is resumed, once however often the check runs; one whose
// holder is alive is left alone.
func TestResumeInterrupted(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	ns := redistest.Namespace(t)
	s := store.New(rdb, ns)
	y := &Syncer{Records: s.Records, Syncs: s.Syncs, Gate: store.Gate{Sources: []string{"crm", "live"}, StaleAfter: []time.Duration{time.Hour, time.Hour}},
		Queue: asynq.NewClientFromRedisClient(rdb), NS: Namespace(ns), Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
	started := time.Now()
	for _, src := range y.Gate.Sources {
		if err := s.Syncs.BeginSync(ctx, src, started, store.FullFirst); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _, err := s.Syncs.LockSync(ctx, "live", "another process", time.Minute); !ok || err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := y.ResumeInterrupted(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(y.NS.Queue(QueueSync))
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Type != TypeSync || !strings.Contains(string(pending[0].Payload), `"source":"crm"`) {
		t.Fatalf("%d tasks enqueued; want one sync of crm", len(pending))
	}
}

// TestDeferredPassOnRealRedis runs the deferral through asynq on a real
// Redis: a pass due during the first sync waits in the retry set, and the
// sync's commit runs it within seconds, not at its retry ten minutes on.
func TestDeferredPassOnRealRedis(t *testing.T) {
	rdb := redistest.Client(t)
	ns := Namespace(redistest.Namespace(t))
	s := store.New(rdb, string(ns))
	storeQuietClients(t, s, 5)
	client := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	e := newEvaluator(t, s, nil, &Planner{})
	e.Queue, e.NS, e.Gate, e.Tasks = client, ns, oneSource("crm"), insp
	conn := &blockingConnector{started: make(chan struct{}), release: make(chan struct{})}
	y := &Syncer{Sources: map[string]connectors.Connector{"crm": conn}, Records: s.Records, Syncs: s.Syncs, Gate: e.Gate, Queue: client, NS: ns, Tasks: insp,
		Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
	snd := &recordingSender{}
	h := Handlers{Evaluate: e, Sync: y, Email: newDeliverer(s, snd), Slack: newDeliverer(s, snd)}
	cfg := ServerConfig(ns, 4, testLogger(), h.DeadLetter)
	cfg.TaskCheckInterval = 10 * time.Millisecond
	srv := asynq.NewServerFromRedisClient(rdb, cfg)
	if err := srv.Start(h.Mux()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	sync, _ := NewSyncTask(ns, SyncPayload{Source: "crm"})
	if _, err := client.Enqueue(sync); err != nil {
		t.Fatal(err)
	}
	<-conn.started
	pass, _ := NewEvaluateTask(ns, EvaluatePayload{Pass: "p1", Now: evalNow})
	if _, err := client.Enqueue(pass); err != nil {
		t.Fatal(err)
	}
	id := string(ns) + ":" + EvaluateTaskID("p1")
	waitfor.Until(t, 10*time.Second, "the pass to wait in the retry set", func() (bool, string) {
		info, err := insp.GetTaskInfo(ns.Queue(QueueEvaluate), id)
		if err != nil {
			return false, err.Error()
		}
		return info.State == asynq.TaskStateRetry, info.State.String()
	})
	if _, err := s.Passes.PassPlan(t.Context(), "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the pass was planned during the first sync: %v", err)
	}
	released := time.Now()
	close(conn.release)
	waitfor.Until(t, 20*time.Second, "the deferred pass's report", func() (bool, string) {
		_, err := s.Passes.Report(t.Context(), "p1")
		return err == nil, fmt.Sprint(err)
	})
	t.Logf("the deferred pass completed %s after the sync was released", time.Since(released).Round(time.Millisecond))
}
