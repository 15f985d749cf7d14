package workers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/store"
)

// pageStore is where a sync stores the portfolio, page by page.
type pageStore interface {
	Watermark(ctx context.Context, source string) (connectors.Watermark, error)
	ResetWatermark(ctx context.Context, source string) error
	PageWriter(source, holder string) *store.PageWriter
	BeginSweepIfStored(ctx context.Context, source string, at time.Time) (bool, error)
	EndSweep(ctx context.Context, source string) (store.SweepStats, error)
}

// syncBook is the bookkeeping of sources' syncs: one at a time per source,
// readiness and progress, failures, the CRM's pauses.
type syncBook interface {
	LockSync(ctx context.Context, source, holder string, ttl time.Duration) (ok bool, current string, err error)
	RenewSync(ctx context.Context, source, holder string, ttl time.Duration) (bool, error)
	UnlockSync(ctx context.Context, source, holder string) error
	PauseSource(ctx context.Context, source, reason string, until time.Time) error
	SourcePause(ctx context.Context, source string) (until time.Time, reason string, ok bool, err error)
	SyncLockHolder(ctx context.Context, source string) (string, error)
	BeginSync(ctx context.Context, source string, at time.Time, kind string) error
	SaveSyncProgress(ctx context.Context, source string, p store.SyncProgress) error
	FailSync(ctx context.Context, source string, started, at time.Time, why string) error
	EndSync(ctx context.Context, g store.Gate, source string, started, at time.Time, full bool) ([]byte, error)
	SyncStates(ctx context.Context, sources []string) ([]store.SyncState, error)
}

// taskControl is what the syncer and the evaluator need of asynq's
// Inspector: to run a deferred pass at once, and to tell a live pass from
// a dead one.
type taskControl interface {
	GetTaskInfo(queue, id string) (*asynq.TaskInfo, error)
	RunTask(queue, id string) error
	DeleteTask(queue, id string) error
}

// syncLockTTL is how long a sync's lock on its source outlives the last
// renewal (every third of it): a crashed process frees the source after
// at most this, and ResumeInterrupted then resumes its sync.
const syncLockTTL = 30 * time.Second

// progressEvery is how often a running sync records its progress, for
// passes waiting on it and /healthz.
const progressEvery = 2 * time.Second

// ErrSyncRunning is returned when another sync of the source is running.
var ErrSyncRunning = errors.New("another sync of this source is running")

// defaultPause is how long scheduled syncs leave a source alone after it
// stopped without saying when to resume.
const defaultPause = time.Hour

// SyncStats counts what one sync stored and waited for.
type SyncStats struct {
	Pages, Accounts, Contacts, Deals, Owners, Rejects int
	Deleted                                           int           // records the CRM said were deleted or merged
	Swept                                             int           // records a full sync did not see again, removed
	Requests                                          int           // HTTP requests sent to the CRM
	Waits                                             int           // rate-limit and retry waits
	Waited                                            time.Duration // their total
	Expected                                          int           // records the CRM announced (0 when it does not say)
	Started                                           time.Time
	// WaitingFor is the reason of the wait in progress, "" when none.
	WaitingFor string
	WaitUntil  time.Time
	// Stopped says why the sync stopped early (a daily API allocation
	// spent); it resumes from its watermark next time.
	Stopped string
}

// Records returns the number of records stored.
func (s SyncStats) Records() int { return s.Accounts + s.Contacts + s.Deals + s.Owners }

// ETA estimates the time left from the announced total and the rate so
// far; false when it cannot tell.
func (s SyncStats) ETA(now time.Time) (time.Duration, bool) {
	done := s.Records() + s.Rejects
	elapsed := now.Sub(s.Started)
	if s.Expected <= done || done == 0 || elapsed <= 0 {
		return 0, false
	}
	rate := float64(done) / elapsed.Seconds()
	return time.Duration(float64(s.Expected-done) / rate * float64(time.Second)), true
}

func (s *SyncStats) add(p connectors.Page) {
	s.Pages++
	s.Accounts += len(p.Accounts)
	s.Contacts += len(p.Contacts)
	s.Deals += len(p.Deals)
	s.Owners += len(p.Owners)
	s.Rejects += len(p.Rejects)
	s.Deleted += len(p.Deleted)
	s.WaitingFor = ""
}

// Syncer pulls sources into the store, page by page.
type Syncer struct {
	Sources map[string]connectors.Connector
	Records pageStore
	Syncs   syncBook
	// Gate lists every configured source and its stale_after: a sync that
	// frees the portfolio runs the pass that waited for it.
	Gate store.Gate
	// Queue, NS and Tasks run deferred passes and resume interrupted syncs;
	// without them, neither is done.
	Queue   enqueuer
	NS      Namespace
	Tasks   taskControl
	Metrics *Metrics
	Logger  *slog.Logger
	// Progress, when set, is called after each stored page and before
	// each wait, with a snapshot of the stats. Calls never overlap, though
	// they may come from different goroutines.
	Progress func(source string, s SyncStats)
}

// Sync pulls one source from its watermark (from scratch when full) and
// stores every page together with the watermark it reaches, so a crash
// resumes after the last stored page and never skips one. A sync from
// scratch is bracketed by a sweep: what the CRM no longer has leaves the
// store. A sync the CRM stops (daily allocation spent) returns an error
// holding a *connectors.StopError and the stats so far, with Stopped set.
func (y *Syncer) Sync(ctx context.Context, source string, full bool) (SyncStats, error) {
	return y.sync(ctx, source, full, time.Time{})
}

// sync is Sync for a request made at requested: when a sync of the source
// (a full one, for a full request) started and completed since then, the
// request is done already and nothing is pulled.
func (y *Syncer) sync(ctx context.Context, source string, full bool, requested time.Time) (SyncStats, error) {
	conn, ok := y.Sources[source]
	if !ok {
		return SyncStats{}, fmt.Errorf("sync: unknown source %q", source)
	}
	ctx, holder, unlock, err := y.lock(ctx, source)
	if err != nil {
		return SyncStats{}, fmt.Errorf("sync %s: %w", source, err)
	}
	defer unlock()
	plan, err := y.start(ctx, source, full, requested)
	if err != nil || plan.covered {
		return SyncStats{}, wrapSync(source, err)
	}
	run := &syncRun{y: y, source: source, w: y.Records.PageWriter(source, holder), st: SyncStats{Started: time.Now()}}
	ahead := run.pipeline(ctx)
	err = ahead.close(conn.Pull(run.traced(ctx), plan.wm, ahead.put))
	if err != nil {
		return y.failed(ctx, run, err)
	}
	return y.complete(ctx, run, plan.full)
}

func wrapSync(source string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sync %s: %w", source, err)
}

// failed records a sync that ended early. A stop (the CRM's allocation
// spent) pauses the source's scheduled syncs until the CRM's resume time.
func (y *Syncer) failed(ctx context.Context, run *syncRun, err error) (SyncStats, error) {
	source, st := run.source, run.stats()
	y.Metrics.SyncFailed(source, st.Started, err)
	// Record the failure even when ctx is why the sync ended (a shutdown,
	// a lost lock): the resumed sync must know the last one did not end.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if ferr := y.Syncs.FailSync(rctx, source, st.Started, time.Now(), err.Error()); ferr != nil {
		y.Logger.Error("cannot record the failed sync", "source", source, "err", ferr)
	}
	if errors.Is(err, connectors.ErrAuth) {
		y.Logger.Error("source paused: the CRM refused the credentials; fix the source's auth in the config, its next scheduled sync tries again",
			"source", source, "err", err)
		return st, wrapSync(source, err)
	}
	stop, ok := connectors.AsStop(err)
	if !ok {
		return st, wrapSync(source, err)
	}
	st.Stopped = stop.Error()
	resume := stop.Resume
	if resume.IsZero() {
		resume = time.Now().Add(defaultPause)
	}
	if perr := y.Syncs.PauseSource(rctx, source, stop.Reason, resume); perr != nil {
		y.Logger.Error("cannot record the pause; scheduled syncs will try again", "source", source, "err", perr)
	}
	y.Logger.Warn("sync stopped early; scheduled syncs resume from its watermark after the pause", "source", source, "reason", stop.Reason, "resume", resume, "records", st.Records())
	return st, wrapSync(source, err)
}

// complete closes a sync that pulled everything: its sweep, its pause,
// and its state, which makes the source ready. When that frees the
// portfolio, the pass that waited for it runs now.
func (y *Syncer) complete(ctx context.Context, run *syncRun, full bool) (SyncStats, error) {
	source := run.source
	swept, err := y.Records.EndSweep(ctx, source)
	if err != nil {
		return run.stats(), wrapSync(source, err)
	}
	if err := y.Syncs.PauseSource(ctx, source, "", time.Time{}); err != nil {
		return run.stats(), wrapSync(source, err)
	}
	st := run.stats()
	deferred, err := y.Syncs.EndSync(ctx, y.Gate, source, st.Started, time.Now(), full)
	if err != nil {
		return st, wrapSync(source, err)
	}
	y.Metrics.SyncDone(source, st.Started)
	st.Swept = swept.Accounts + swept.Contacts + swept.Deals
	y.Metrics.SyncDeleted.WithLabelValues(source).Add(float64(st.Swept))
	y.Logger.Info("sync done", "source", source, "full", full, "pages", st.Pages, "records", st.Records(), "rejects", st.Rejects,
		"deleted", st.Deleted, "swept", st.Swept, "requests", st.Requests, "waits", st.Waits, "waited", st.Waited.Round(time.Millisecond))
	if deferred != nil {
		y.runDeferred(ctx, source, deferred)
	}
	return st, nil
}

// lock makes this the one sync of source and keeps it so while it runs;
// the returned context is cancelled if the lock is lost (Redis lost it,
// or the process stalled past its lease), so that two pulls never run at
// once, and the sync's writes are fenced by holder (store.PageWriter).
// unlock releases it.
func (y *Syncer) lock(ctx context.Context, source string) (_ context.Context, holder string, unlock func(), _ error) {
	host, _ := os.Hostname()
	holder = fmt.Sprintf("%s pid %d since %s #%d", host, os.Getpid(), time.Now().UTC().Format(time.RFC3339), rand.Int64())
	ok, current, err := y.Syncs.LockSync(ctx, source, holder, syncLockTTL)
	if err != nil {
		return nil, "", nil, err
	}
	if !ok {
		return nil, "", nil, fmt.Errorf("%w (%s)", ErrSyncRunning, current)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(syncLockTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if ok, err := y.Syncs.RenewSync(ctx, source, holder, syncLockTTL); err != nil || !ok {
					cancel(fmt.Errorf("sync lock lost: %w", cmp.Or(err, ErrSyncRunning)))
					return
				}
			}
		}
	}()
	unlock = func() {
		close(done)
		cancel(nil)
		if err := y.Syncs.UnlockSync(context.WithoutCancel(ctx), source, holder); err != nil {
			y.Logger.Warn("cannot release the sync lock; it expires on its own", "source", source, "err", err)
		}
	}
	return ctx, holder, unlock, nil
}

// syncPlan is how a sync starts.
type syncPlan struct {
	wm      connectors.Watermark // where to pull from
	full    bool                 // a full sync: the first, a --full one, or one resumed
	covered bool                 // the request was done by a sync since: pull nothing
}

// start decides where the sync pulls from and records that it started. A
// full sync already in progress (interrupted: a crash, a kill, a deploy)
// is resumed from its last stored page, even when a full sync is asked
// for again; a full sync from scratch over records stored before opens a
// sweep (the first sync of a source has nothing to sweep, and skips the
// cost of marking).
func (y *Syncer) start(ctx context.Context, source string, full bool, requested time.Time) (syncPlan, error) {
	states, err := y.Syncs.SyncStates(ctx, []string{source})
	if err != nil {
		return syncPlan{}, err
	}
	state := states[0]
	if covered(state, full, requested) {
		y.Logger.Info("sync skipped: one that started after it was asked for has completed", "source", source, "full", full)
		return syncPlan{covered: true}, nil
	}
	resuming := !state.FullSince.IsZero()
	if full && !resuming {
		if err := y.Records.ResetWatermark(ctx, source); err != nil {
			return syncPlan{}, err
		}
	}
	wm, err := y.Records.Watermark(ctx, source)
	if err != nil {
		return syncPlan{}, err
	}
	kind := "" // an incremental sync, or a full one resumed
	if len(wm) == 0 && !resuming {
		kind = store.FullFirst
		if !state.Ready.IsZero() {
			kind = store.FullAgain
		}
	}
	if err := y.Syncs.BeginSync(ctx, source, time.Now(), kind); err != nil {
		return syncPlan{}, err
	}
	plan := syncPlan{wm: wm, full: kind != "" || resuming}
	if len(wm) > 0 {
		return plan, nil
	}
	_, err = y.Records.BeginSweepIfStored(ctx, source, time.Now())
	return plan, err
}

// covered reports whether a sync asked for at requested (zero: by hand,
// never covered) was done by one that started since and completed.
func covered(st store.SyncState, full bool, requested time.Time) bool {
	if requested.IsZero() {
		return false
	}
	last := st.LastSuccess
	if full {
		last = st.LastFullSuccess
	}
	return !last.IsZero() && !last.Before(requested)
}

// syncRun is one Sync in progress. The connector's trace hooks may run on
// its prefetching goroutine, so the stats are guarded.
type syncRun struct {
	y      *Syncer
	source string
	w      *store.PageWriter // stores the pages, one written while the next is planned

	mu        sync.Mutex
	st        SyncStats
	estimates map[string]int
	saved     time.Time // when the progress was last recorded

	progress sync.Mutex // serialises Progress calls
}

func (r *syncRun) stats() SyncStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// page stores one page and reports it: its write is sent, and that of
// the page before done (store.PageWriter).
func (r *syncRun) page(ctx context.Context, p connectors.Page) error {
	if err := r.w.Put(ctx, p.Batch, p.Rejects, p.Watermark); err != nil {
		return err
	}
	r.y.count(r.source, p)
	r.update(func(st *SyncStats) { st.add(p) })
	r.saveProgress(ctx)
	return nil
}

// saveProgress records how far the sync has gone, every progressEvery,
// for the passes that wait for it and /healthz. Losing it loses nothing.
func (r *syncRun) saveProgress(ctx context.Context) {
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.saved) < progressEvery {
		r.mu.Unlock()
		return
	}
	r.saved = now
	p := store.SyncProgress{Pages: r.st.Pages, Records: r.st.Records() + r.st.Rejects, Expected: r.st.Expected, At: now}
	r.mu.Unlock()
	if err := r.y.Syncs.SaveSyncProgress(ctx, r.source, p); err != nil {
		r.y.Logger.Warn("cannot record the sync's progress", "source", r.source, "err", err)
	}
}

// update changes the stats and reports them.
func (r *syncRun) update(fn func(st *SyncStats)) {
	r.mu.Lock()
	fn(&r.st)
	st := r.st
	r.mu.Unlock()
	if r.y.Progress != nil {
		r.progress.Lock()
		defer r.progress.Unlock()
		r.y.Progress(r.source, st)
	}
}

// traced returns ctx with a trace counting the connector's requests and
// waits into the stats.
func (r *syncRun) traced(ctx context.Context) context.Context {
	m := r.y.Metrics
	return connectors.WithTrace(ctx, &connectors.Trace{
		Wait: func(reason string, d time.Duration) {
			m.SyncWaits.WithLabelValues(r.source).Inc()
			m.SyncWaitSeconds.WithLabelValues(r.source).Add(d.Seconds())
			r.update(func(st *SyncStats) {
				st.Waits++
				st.Waited += d
				st.WaitingFor = reason
				st.WaitUntil = time.Now().Add(d)
			})
		},
		Estimate: func(entity string, total int) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.estimates == nil {
				r.estimates = map[string]int{}
			}
			r.st.Expected += total - r.estimates[entity]
			r.estimates[entity] = total
		},
		Request: func(status int) {
			m.SyncRequests.WithLabelValues(r.source, statusClass(status)).Inc()
			r.mu.Lock()
			r.st.Requests++
			r.mu.Unlock()
		},
	})
}

// statusClass groups HTTP statuses for metrics: "2xx", "429", "5xx",
// "error" for no response.
func statusClass(status int) string {
	switch {
	case status == 0:
		return "error"
	case status == 429:
		return "429"
	default:
		return fmt.Sprintf("%dxx", status/100)
	}
}

func (y *Syncer) count(source string, p connectors.Page) {
	m := y.Metrics
	m.SyncPages.WithLabelValues(source).Inc()
	m.SyncRecords.WithLabelValues(source, "account").Add(float64(len(p.Accounts)))
	m.SyncRecords.WithLabelValues(source, "contact").Add(float64(len(p.Contacts)))
	m.SyncRecords.WithLabelValues(source, "deal").Add(float64(len(p.Deals)))
	m.SyncRecords.WithLabelValues(source, "owner").Add(float64(len(p.Owners)))
	m.SyncRejects.WithLabelValues(source).Add(float64(len(p.Rejects)))
	m.SyncDeleted.WithLabelValues(source).Add(float64(len(p.Deleted)))
	for _, r := range p.Rejects {
		y.Logger.Warn("record set aside", "source", source, "entity", r.Entity, "where", r.Where, "reason", r.Reason)
	}
}

// ProcessTask implements asynq.Handler for TypeSync. A sync the CRM
// stopped (daily allocation spent) is not retried, and scheduled syncs of
// that source are skipped until the CRM's resume time; the first one after
// it resumes from the watermark. (crmsync sync, run by hand, tries anyway.)
// A sync whose source is held by another live sync is tried again later
// (when that one has completed since, there is nothing left to do); one
// whose credentials the CRM refused waits for the next scheduled sync.
func (y *Syncer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p SyncPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	if _, ok := y.Sources[p.Source]; !ok {
		return fmt.Errorf("sync: unknown source %q: %w", p.Source, asynq.SkipRetry)
	}
	until, reason, paused, err := y.Syncs.SourcePause(ctx, p.Source)
	if err != nil {
		return err
	}
	if paused {
		y.Logger.Info("sync skipped: the CRM asked to wait", "source", p.Source, "reason", reason, "until", until)
		return nil
	}
	_, err = y.sync(ctx, p.Source, p.Full, p.At)
	if _, stopped := connectors.AsStop(err); stopped || errors.Is(err, connectors.ErrAuth) {
		return nil
	}
	if errors.Is(err, ErrSyncRunning) {
		y.Logger.Info("sync postponed: another sync of the source is running", "source", p.Source, "err", err)
		return &RetryLater{Reason: err.Error(), After: syncLockTTL / 2}
	}
	return err
}

// runDeferred runs now the pass that waited for source's sync to commit:
// the pass's task waits in the retry set, so it is moved to pending (or,
// when it is gone, enqueued anew).
func (y *Syncer) runDeferred(ctx context.Context, source string, b []byte) {
	var p EvaluatePayload
	if err := json.Unmarshal(b, &p); err != nil {
		y.Logger.Error("deferred pass unreadable; the next tick runs one", "err", err)
		return
	}
	if y.Tasks == nil || y.Queue == nil {
		y.Logger.Warn("deferred pass left for the next tick: this process runs no queue", "pass", p.Pass)
		return
	}
	queue, id := y.NS.Queue(QueueEvaluate), string(y.NS)+":"+EvaluateTaskID(p.Pass)
	err := runTaskSoon(ctx, y.Tasks, queue, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		err = y.enqueuePass(ctx, p)
	}
	if err != nil {
		y.Logger.Error("deferred pass not started; it runs at its next retry", "pass", p.Pass, "err", err)
		return
	}
	y.Logger.Info("deferred evaluation pass runs now: the portfolio is complete", "pass", p.Pass, "source", source)
}

// runTaskSoon moves task id of queue to pending, waiting (a few seconds
// at most) for it to leave the active state: a pass that has just
// deferred itself is still finishing its run.
func runTaskSoon(ctx context.Context, tasks taskControl, queue, id string) error {
	for range 50 {
		info, err := tasks.GetTaskInfo(queue, id)
		if err != nil {
			return err
		}
		switch info.State {
		case asynq.TaskStatePending:
			return nil
		case asynq.TaskStateActive:
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		return tasks.RunTask(queue, id)
	}
	return fmt.Errorf("task %s still running", id)
}

// enqueuePass enqueues pass p anew, under an id of its own.
func (y *Syncer) enqueuePass(ctx context.Context, p EvaluatePayload) error {
	t, err := NewEvaluateTask(y.NS, p, y.NS.TaskID(fmt.Sprintf("%s+%d", EvaluateTaskID(p.Pass), time.Now().UnixMilli())))
	if err != nil {
		return err
	}
	_, err = y.Queue.EnqueueContext(ctx, t)
	return err
}

// ResumeInterrupted enqueues a sync of every source whose last sync was
// interrupted: it is marked running, but no live process holds the
// source's lock (its holder died, was killed or lost Redis). Run every few
// seconds by each crmsync run process, it resumes such a sync from its
// last stored page within about a minute, never leaving it for the next
// schedule tick. Sources the CRM asked to wait for are left alone.
func (y *Syncer) ResumeInterrupted(ctx context.Context) error {
	if y.Queue == nil {
		return nil
	}
	states, err := y.Syncs.SyncStates(ctx, y.Gate.Sources)
	if err != nil {
		return err
	}
	for _, st := range states {
		if st.Running.IsZero() {
			continue
		}
		if err := y.resume(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

func (y *Syncer) resume(ctx context.Context, st store.SyncState) error {
	holder, err := y.Syncs.SyncLockHolder(ctx, st.Source)
	if err != nil || holder != "" {
		return err
	}
	if _, _, paused, err := y.Syncs.SourcePause(ctx, st.Source); err != nil || paused {
		return err
	}
	id := fmt.Sprintf("sync-resume:%s@%d", st.Source, st.Running.UnixMilli())
	t, err := NewSyncTask(y.NS, SyncPayload{Source: st.Source}, y.NS.TaskID(id), asynq.Retention(time.Minute))
	if err != nil {
		return err
	}
	_, err = y.Queue.EnqueueContext(ctx, t)
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return nil // another process, or an earlier round, resumed it
	case err != nil:
		return fmt.Errorf("resume sync %s: %w", st.Source, err)
	}
	y.Logger.Warn("resuming an interrupted sync from its last stored page", "source", st.Source,
		"interrupted_sync_started", st.Running, "full", !st.FullSince.IsZero(), "progress", st.Progress.Records)
	return nil
}
