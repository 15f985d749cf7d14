package workers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/store"
)

// pageStore is what a sync needs of the store.
type pageStore interface {
	Watermark(ctx context.Context, source string) (connectors.Watermark, error)
	ResetWatermark(ctx context.Context, source string) error
	StorePage(ctx context.Context, source string, b model.Batch, rejects []model.Reject, wm connectors.Watermark) error
	BeginSweep(ctx context.Context, source string, at time.Time) error
	Sweeping(ctx context.Context, source string) (bool, error)
	EndSweep(ctx context.Context, source string) (store.SweepStats, error)
	HasAccounts(ctx context.Context, source string) (bool, error)
	LockSync(ctx context.Context, source, holder string, ttl time.Duration) (ok bool, current string, err error)
	RenewSync(ctx context.Context, source, holder string, ttl time.Duration) (bool, error)
	UnlockSync(ctx context.Context, source, holder string) error
	PauseSource(ctx context.Context, source, reason string, until time.Time) error
	SourcePause(ctx context.Context, source string) (until time.Time, reason string, ok bool, err error)
}

// syncLockTTL is how long a sync's lock on its source outlives the last
// renewal (every third of it): a crashed process frees the source after
// at most this.
const syncLockTTL = 2 * time.Minute

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
	Store   pageStore
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
	conn, ok := y.Sources[source]
	if !ok {
		return SyncStats{}, fmt.Errorf("sync: unknown source %q", source)
	}
	ctx, unlock, err := y.lock(ctx, source)
	if err != nil {
		return SyncStats{}, fmt.Errorf("sync %s: %w", source, err)
	}
	defer unlock()
	wm, err := y.start(ctx, source, full)
	if err != nil {
		return SyncStats{}, fmt.Errorf("sync %s: %w", source, err)
	}
	run := &syncRun{y: y, source: source, st: SyncStats{Started: time.Now()}}
	err = conn.Pull(run.traced(ctx), wm, run.page)
	if stop, ok := connectors.AsStop(err); ok {
		st := run.stats()
		st.Stopped = stop.Error()
		resume := stop.Resume
		if resume.IsZero() {
			resume = time.Now().Add(defaultPause)
		}
		if perr := y.Store.PauseSource(ctx, source, stop.Reason, resume); perr != nil {
			y.Logger.Error("cannot record the pause; scheduled syncs will try again", "source", source, "err", perr)
		}
		y.Logger.Warn("sync stopped early; scheduled syncs resume from its watermark after the pause", "source", source, "reason", stop.Reason, "resume", resume, "records", st.Records())
		return st, fmt.Errorf("sync %s: %w", source, err)
	}
	if err != nil {
		return run.stats(), fmt.Errorf("sync %s: %w", source, err)
	}
	swept, err := y.Store.EndSweep(ctx, source)
	if err != nil {
		return run.stats(), fmt.Errorf("sync %s: %w", source, err)
	}
	if err := y.Store.PauseSource(ctx, source, "", time.Time{}); err != nil {
		return run.stats(), fmt.Errorf("sync %s: %w", source, err)
	}
	st := run.stats()
	st.Swept = swept.Accounts + swept.Contacts + swept.Deals
	y.Metrics.SyncDeleted.WithLabelValues(source).Add(float64(st.Swept))
	y.Logger.Info("sync done", "source", source, "pages", st.Pages, "records", st.Records(), "rejects", st.Rejects,
		"deleted", st.Deleted, "swept", st.Swept, "requests", st.Requests, "waits", st.Waits, "waited", st.Waited.Round(time.Millisecond))
	return st, nil
}

// lock makes this the one sync of source and keeps it so while it runs;
// the returned context is cancelled if the lock is lost (Redis lost it,
// or the process stalled past its lease), so that two pulls never run at
// once. unlock releases it.
func (y *Syncer) lock(ctx context.Context, source string) (context.Context, func(), error) {
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s pid %d since %s #%d", host, os.Getpid(), time.Now().UTC().Format(time.RFC3339), rand.Int64())
	ok, current, err := y.Store.LockSync(ctx, source, holder, syncLockTTL)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("%w (%s)", ErrSyncRunning, current)
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
				if ok, err := y.Store.RenewSync(ctx, source, holder, syncLockTTL); err != nil || !ok {
					cancel(fmt.Errorf("sync lock lost: %w", cmp.Or(err, ErrSyncRunning)))
					return
				}
			}
		}
	}()
	unlock := func() {
		close(done)
		cancel(nil)
		if err := y.Store.UnlockSync(context.WithoutCancel(ctx), source, holder); err != nil {
			y.Logger.Warn("cannot release the sync lock; it expires on its own", "source", source, "err", err)
		}
	}
	return ctx, unlock, nil
}

// start returns the watermark to pull from, opening a sweep when the pull
// starts from scratch over records stored before (the first sync of a
// source has nothing to sweep, and skips the cost of marking).
func (y *Syncer) start(ctx context.Context, source string, full bool) (connectors.Watermark, error) {
	if full {
		if err := y.Store.ResetWatermark(ctx, source); err != nil {
			return nil, err
		}
	}
	wm, err := y.Store.Watermark(ctx, source)
	if err != nil || len(wm) > 0 {
		return wm, err
	}
	stored, err := y.Store.HasAccounts(ctx, source)
	if err != nil || !stored {
		return wm, err
	}
	return wm, y.Store.BeginSweep(ctx, source, time.Now())
}

// syncRun is one Sync in progress. The connector's trace hooks may run on
// its prefetching goroutine, so the stats are guarded.
type syncRun struct {
	y      *Syncer
	source string

	mu        sync.Mutex
	st        SyncStats
	estimates map[string]int

	progress sync.Mutex // serialises Progress calls
}

func (r *syncRun) stats() SyncStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// page stores one page and reports it.
func (r *syncRun) page(ctx context.Context, p connectors.Page) error {
	if err := r.y.Store.StorePage(ctx, r.source, p.Batch, p.Rejects, p.Watermark); err != nil {
		return err
	}
	r.y.count(r.source, p)
	r.update(func(st *SyncStats) { st.add(p) })
	return nil
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
func (y *Syncer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p SyncPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	if _, ok := y.Sources[p.Source]; !ok {
		return fmt.Errorf("sync: unknown source %q: %w", p.Source, asynq.SkipRetry)
	}
	until, reason, paused, err := y.Store.SourcePause(ctx, p.Source)
	if err != nil {
		return err
	}
	if paused {
		y.Logger.Info("sync skipped: the CRM asked to wait", "source", p.Source, "reason", reason, "until", until)
		return nil
	}
	_, err = y.Sync(ctx, p.Source, p.Full)
	if _, stopped := connectors.AsStop(err); stopped {
		return nil
	}
	if errors.Is(err, ErrSyncRunning) {
		y.Logger.Info("sync skipped: the previous one is still running", "source", p.Source, "err", err)
		return nil
	}
	return err
}
