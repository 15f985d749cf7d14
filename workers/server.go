package workers

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
)

// DeadLetterFunc is called with a task whose retries ran out.
type DeadLetterFunc func(ctx context.Context, t *asynq.Task, err error)

// ServerConfig returns the asynq server configuration crmsync runs with:
// its queues and weights, a slog logger, and a retry delay that backs off
// from seconds to about an hour rather than asynq's three weeks. It serves
// the queues of namespace ns only. dead, when set, records tasks whose
// retries ran out.
func ServerConfig(ns Namespace, concurrency int, logger *slog.Logger, dead DeadLetterFunc) asynq.Config {
	return asynq.Config{
		Concurrency:     concurrency,
		Queues:          ns.Weights(),
		Logger:          Logger{L: logger},
		LogLevel:        asynq.WarnLevel,
		ShutdownTimeout: 20 * time.Second,
		RetryDelayFunc:  RetryDelay,
		IsFailure:       IsFailure,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			id, _ := asynq.GetTaskID(ctx)
			// asynq archives a task on its last retry whatever the error,
			// a postponement too: only before it is a postponement harmless.
			if !IsFailure(err) && retried < maxRetry {
				logger.Debug("task postponed", "type", t.Type(), "task_id", id, "err", err)
				return
			}
			if retried >= maxRetry || errors.Is(err, asynq.SkipRetry) {
				logger.Error("task failed for good", "type", t.Type(), "task_id", id, "err", err)
				if dead != nil {
					dead(ctx, t, err)
				}
				return
			}
			logger.Warn("task failed, will retry", "type", t.Type(), "task_id", id, "retried", retried, "err", err)
		}),
	}
}

// RetryDelay waits as long as a postponed task asks: a provider's rate
// limit or a paused channel (plus up to a second of jitter, so retries do
// not arrive together), a RetryLater; else 2^n seconds (n = retries so
// far), capped at one hour.
func RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if rl, ok := errors.AsType[*notify.RateLimitError](err); ok {
		return rl.After + rand.N(time.Second)
	}
	if p, ok := errors.AsType[*PausedError](err); ok {
		return p.After + rand.N(time.Second)
	}
	if later, ok := errors.AsType[*RetryLater](err); ok {
		return later.After
	}
	if n > 12 {
		return time.Hour
	}
	return min(time.Duration(1<<n)*time.Second, time.Hour)
}

// IsFailure tells asynq whether err counts against the task's retry
// budget: a rate limit does not, the message is fine and will go later;
// nor does a paused channel or a RetryLater.
func IsFailure(err error) bool {
	_, limited := errors.AsType[*notify.RateLimitError](err)
	_, paused := errors.AsType[*PausedError](err)
	_, later := errors.AsType[*RetryLater](err)
	return !limited && !paused && !later
}

// Handlers are the task handlers of one crmsync process.
type Handlers struct {
	Sync     *Syncer
	Evaluate *Evaluator
	Email    *Deliverer
	Slack    *Deliverer
	Actions  *Actions
}

// DeadLetter routes a task whose retries ran out to the deliverer of its
// channel, which records its unsent messages.
func (h Handlers) DeadLetter(ctx context.Context, t *asynq.Task, err error) {
	switch t.Type() {
	case TypeDeliverEmail:
		h.Email.DeadLetter(ctx, t, err)
	case TypeDeliverSlack:
		h.Slack.DeadLetter(ctx, t, err)
	}
}

// Mux routes every task type to its handler.
func (h Handlers) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Handle(TypeSync, h.Sync)
	mux.Handle(TypeEvaluate, h.Evaluate)
	mux.HandleFunc(TypeEvaluateShard, h.Evaluate.ProcessShard)
	mux.Handle(TypeDeliverEmail, h.Email)
	mux.Handle(TypeDeliverSlack, h.Slack)
	mux.Handle(TypeSlackAction, h.Actions)
	return mux
}
