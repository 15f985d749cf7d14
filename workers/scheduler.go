package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"
)

// Job is one periodic task: a schedule and the task to enqueue on each
// tick. Task builds the task for a tick; its id must derive from the tick so
// that every process running the scheduler enqueues each tick once.
type Job struct {
	Name     string
	Schedule string // 5-field cron or a descriptor such as "@every 15m"
	Task     func(tick time.Time) (*asynq.Task, error)
}

// Scheduler enqueues periodic jobs. Several crmsync processes may run one
// each against the same Redis: ticks are aligned to the schedule (an
// "@every" interval is aligned to the Unix epoch, not to the start of the
// process) and tasks carry a per-tick id, so each tick is enqueued once.
// asynq's own scheduler would enqueue a copy per process.
type Scheduler struct {
	Queue    enqueuer
	Location *time.Location
	Logger   *slog.Logger
	jobs     []scheduled
}

type scheduled struct {
	Job
	sched cron.Schedule
}

// Add registers a job, refusing an invalid schedule.
func (s *Scheduler) Add(j Job) error {
	sc, err := ParseSchedule(j.Schedule)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", j.Name, err)
	}
	s.jobs = append(s.jobs, scheduled{Job: j, sched: sc})
	return nil
}

// ParseSchedule parses a cron spec the way the scheduler reads it.
func ParseSchedule(spec string) (cron.Schedule, error) {
	sc, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	if every, ok := sc.(cron.ConstantDelaySchedule); ok {
		return alignedEvery(every.Delay), nil
	}
	return sc, nil
}

// alignedEvery ticks at multiples of d since the Unix epoch.
type alignedEvery time.Duration

func (a alignedEvery) Next(t time.Time) time.Time {
	d := time.Duration(a)
	return t.Truncate(d).Add(d)
}

// Run enqueues each job at its ticks until ctx is done.
func (s *Scheduler) Run(ctx context.Context) error {
	if len(s.jobs) == 0 {
		<-ctx.Done()
		return nil
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	next := make([]time.Time, len(s.jobs))
	for i, j := range s.jobs {
		next[i] = j.sched.Next(time.Now().In(loc))
	}
	for {
		i := earliest(next)
		timer := time.NewTimer(time.Until(next[i]))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		s.fire(ctx, s.jobs[i].Job, next[i])
		next[i] = s.jobs[i].sched.Next(next[i])
	}
}

func earliest(ts []time.Time) int {
	min := 0
	for i, t := range ts {
		if t.Before(ts[min]) {
			min = i
		}
	}
	return min
}

func (s *Scheduler) fire(ctx context.Context, j Job, tick time.Time) {
	t, err := j.Task(tick)
	if err == nil {
		_, err = s.Queue.EnqueueContext(ctx, t)
	}
	switch {
	case err == nil:
		s.Logger.Info("scheduled task enqueued", "job", j.Name, "tick", tick)
	case errors.Is(err, asynq.ErrTaskIDConflict), errors.Is(err, asynq.ErrDuplicateTask):
		s.Logger.Debug("tick already enqueued by another process", "job", j.Name, "tick", tick)
	default:
		s.Logger.Error("scheduled task not enqueued", "job", j.Name, "tick", tick, "err", err)
	}
}

// TickID names a tick of a job, for task ids.
func TickID(job string, tick time.Time) string {
	return fmt.Sprintf("%s@%d", job, tick.Unix())
}
