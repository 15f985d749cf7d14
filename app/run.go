package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/crmsync/crmsync/workers"
)

// Start starts the asynq workers of this process.
func (a *App) Start() error {
	a.server = asynq.NewServerFromRedisClient(a.Store.Redis(), a.serverConfig())
	if err := a.server.Start(a.Handlers.Mux()); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	return nil
}

// serverConfig is the configuration of this process's asynq server.
func (a *App) serverConfig() asynq.Config {
	cfg := workers.ServerConfig(a.ns(), a.Config.Workers.Concurrency, a.log, a.Handlers.DeadLetter)
	cfg.TaskCheckInterval = a.opts.TaskCheckInterval
	if a.opts.TaskCheckInterval > 0 {
		cfg.DelayedTaskCheckInterval = a.opts.TaskCheckInterval
	}
	return cfg
}

// Stop stops the workers, waiting for running tasks up to the shutdown
// timeout; unfinished tasks go back to their queue.
func (a *App) Stop() {
	if a.server != nil {
		a.server.Shutdown()
		a.server = nil
	}
}

// RunOptions tune `crmsync run`.
type RunOptions struct {
	// EvaluateNow runs one evaluation pass at start (run --evaluate-now),
	// as soon as the start-up syncs let it (the pass gate), besides the
	// scheduled ones.
	EvaluateNow bool
}

// Run is `crmsync run`: workers, the scheduler and the HTTP server, until
// ctx is done. Every source is synced once at start, then on its schedule.
func (a *App) Run(ctx context.Context) error { return a.RunWith(ctx, RunOptions{}) }

// RunWith is Run with options.
func (a *App) RunWith(ctx context.Context, o RunOptions) error {
	up := time.Now()
	if err := a.Start(); err != nil {
		return err
	}
	defer a.Stop()
	sched, err := a.scheduler()
	if err != nil {
		return err
	}
	// One start-up sync per source, and one start-up pass, per minute,
	// however many processes start together.
	started := time.Now().Truncate(time.Minute)
	for _, s := range a.Config.Sources {
		id := a.ns().TaskID(workers.TickID("sync-start:"+s.Name, started))
		if err := a.EnqueueSync(ctx, s.Name, false, id); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
	}
	if o.EvaluateNow {
		pass := workers.TickID("evaluate-start", started)
		if err := a.EnqueueEvaluate(ctx, pass, time.Now()); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
		a.log.Info("evaluation pass at start enqueued: it runs once the sources are synced", "pass", pass)
	}
	a.logPlan(time.Now())
	srv := a.httpServer()
	errc := make(chan error, 2)
	go func() { errc <- sched.Run(ctx) }()
	go a.resumeInterrupted(ctx)
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	a.log.Info("crmsync running", "http", a.Config.HTTP.Listen, "sources", len(a.Config.Sources), "rules", len(a.Rules.Rules))
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopping := time.Now()
	a.logStopping(ctx, err)
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = errors.Join(err, srv.Shutdown(shutdown))
	a.Stop()
	a.logStopped(up, stopping)
	return err
}

// httpServer returns the HTTP server of `run`, with timeouts: a client
// that sends slowly or never reads cannot hold a connection for ever.
func (a *App) httpServer() *http.Server {
	return &http.Server{
		Addr:              a.Config.HTTP.Listen,
		Handler:           a.HTTPHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

// resumeEvery is how often a process looks for interrupted syncs.
const resumeEvery = 10 * time.Second

// resumeInterrupted resumes, until ctx is done, the syncs a crash, a kill
// or a Redis outage interrupted (Syncer.ResumeInterrupted).
func (a *App) resumeInterrupted(ctx context.Context) {
	t := time.NewTicker(resumeEvery)
	defer t.Stop()
	for {
		if err := a.Handlers.Sync.ResumeInterrupted(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("cannot look for interrupted syncs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// logPlan logs what this process will do: when the next scheduled pass
// is due, and whether messages are only written to the outbox.
func (a *App) logPlan(now time.Time) {
	schedule := a.Config.Evaluate.Schedule
	if next, err := NextPass(schedule, a.Config.Location(), now); err == nil {
		a.log.Info("next evaluation pass", "at", next.Format(time.RFC3339), "evaluate.schedule", schedule)
	}
	if a.Outbox != nil {
		a.log.Info("outbox mode: messages are written to files, nothing is sent", "dir", a.Outbox.Dir())
	}
}

// NextPass returns the first tick of the evaluation schedule (a cron
// spec, read in loc, as the scheduler reads it) after t.
func NextPass(schedule string, loc *time.Location, t time.Time) (time.Time, error) {
	sc, err := workers.ParseSchedule(schedule)
	if err != nil {
		return time.Time{}, fmt.Errorf("evaluate.schedule %q: %w", schedule, err)
	}
	if loc == nil {
		loc = time.UTC
	}
	return sc.Next(t.In(loc)), nil
}

// scheduler registers a sync job per source and the evaluation job.
func (a *App) scheduler() (*workers.Scheduler, error) {
	s := &workers.Scheduler{Queue: a.client, Location: a.Config.Location(), Logger: a.log}
	for _, src := range a.Config.Sources {
		name := src.Name
		err := s.Add(workers.Job{Name: "sync:" + name, Schedule: src.Schedule, Task: func(tick time.Time) (*asynq.Task, error) {
			return workers.NewSyncTask(a.ns(), workers.SyncPayload{Source: name}, a.ns().TaskID(workers.TickID("sync:"+name, tick)), asynq.Retention(time.Hour))
		}})
		if err != nil {
			return nil, err
		}
	}
	err := s.Add(workers.Job{Name: "evaluate", Schedule: a.Config.Evaluate.Schedule, Task: func(tick time.Time) (*asynq.Task, error) {
		return workers.NewEvaluateTask(a.ns(), workers.EvaluatePayload{Pass: workers.TickID("evaluate", tick), Now: tick})
	}})
	return s, err
}

// EnqueueSync queues a sync of one source.
func (a *App) EnqueueSync(ctx context.Context, source string, full bool, opts ...asynq.Option) error {
	t, err := workers.NewSyncTask(a.ns(), workers.SyncPayload{Source: source, Full: full}, opts...)
	if err != nil {
		return err
	}
	_, err = a.client.EnqueueContext(ctx, t)
	return err
}

// EnqueueEvaluate queues an evaluation pass at now.
func (a *App) EnqueueEvaluate(ctx context.Context, pass string, now time.Time) error {
	t, err := workers.NewEvaluateTask(a.ns(), workers.EvaluatePayload{Pass: pass, Now: now})
	if err != nil {
		return err
	}
	_, err = a.client.EnqueueContext(ctx, t)
	return err
}

// WaitIdle waits until no task is pending, running, scheduled or waiting
// for a retry in any of crmsync's queues.
func (a *App) WaitIdle(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		busy, err := a.busy()
		if err != nil {
			return err
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (a *App) busy() (bool, error) {
	existing, err := a.inspector.Queues()
	if err != nil {
		return false, fmt.Errorf("queues: %w", err)
	}
	for _, q := range existing {
		if !slices.Contains(a.ns().Queues(), q) {
			continue
		}
		info, err := a.inspector.GetQueueInfo(q)
		if err != nil {
			return false, fmt.Errorf("queue %s: %w", q, err)
		}
		if info.Pending+info.Active+info.Scheduled+info.Retry+info.Aggregating > 0 {
			return true, nil
		}
	}
	return false, nil
}

// HTTPHandler serves /healthz (Redis reachable), /readyz (the Health
// document, 503 when Redis is down), /metrics, which requires
// "Authorization: Bearer <http.admin_token>" when a token is set, and the
// configured webhooks (/webhooks/sendgrid, /slack/interactions).
func (a *App) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.serveHealth)
	mux.HandleFunc("GET /readyz", a.serveReady)
	mux.Handle("GET /metrics", a.admin(promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{})))
	for pattern, h := range a.hooks {
		mux.Handle(pattern, h)
	}
	mux.Handle("/", a.pages)
	return mux
}

// admin guards h with the admin token, when one is configured.
func (a *App) admin(h http.Handler) http.Handler {
	token := a.Config.HTTP.AdminToken.Reveal()
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
