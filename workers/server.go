package workers

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
)

// ServerConfig returns the asynq server configuration crmsync runs with:
// its queues and weights, a slog logger, and a retry delay that backs off
// from seconds to about an hour rather than asynq's three weeks.
func ServerConfig(concurrency int, logger *slog.Logger) asynq.Config {
	return asynq.Config{
		Concurrency:     concurrency,
		Queues:          QueueWeights,
		Logger:          Logger{L: logger},
		LogLevel:        asynq.WarnLevel,
		ShutdownTimeout: 20 * time.Second,
		RetryDelayFunc:  RetryDelay,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			id, _ := asynq.GetTaskID(ctx)
			if retried >= maxRetry || errors.Is(err, asynq.SkipRetry) {
				logger.Error("task failed for good", "type", t.Type(), "task_id", id, "err", err)
				return
			}
			logger.Warn("task failed, will retry", "type", t.Type(), "task_id", id, "retried", retried, "err", err)
		}),
	}
}

// RetryDelay is 2^n seconds (n = retries so far), capped at one hour.
func RetryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	if n > 12 {
		return time.Hour
	}
	return min(time.Duration(1<<n)*time.Second, time.Hour)
}

// Handlers are the task handlers of one crmsync process.
type Handlers struct {
	Sync     *Syncer
	Evaluate *Evaluator
	Email    *Deliverer
	Slack    *Deliverer
}

// Mux routes every task type to its handler.
func (h Handlers) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Handle(TypeSync, h.Sync)
	mux.Handle(TypeEvaluate, h.Evaluate)
	mux.HandleFunc(TypeEvaluateShard, h.Evaluate.ProcessShard)
	mux.Handle(TypeDeliverEmail, h.Email)
	mux.Handle(TypeDeliverSlack, h.Slack)
	return mux
}
