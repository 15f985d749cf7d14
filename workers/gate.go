package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/store"
)

// wait holds pass back while a source's first or full sync has not
// committed: scoring a half-synced portfolio computes wrong classes and
// sends wrong messages, which cooldowns then lock in for a month. The
// pass is recorded as deferred and returns a RetryLater; the sync whose
// commit frees the portfolio runs it at once. A pass already planned (a
// retried task) is not held back.
func (e *Evaluator) wait(ctx context.Context, pass string, now time.Time) error {
	if len(e.Gate.Sources) == 0 {
		return nil
	}
	if _, err := e.Passes.PassPlan(ctx, pass); err == nil {
		return nil
	}
	req, _ := json.Marshal(EvaluatePayload{Pass: pass, Now: now}) // plain fields: always encodes
	held, replaced, err := e.Passes.GatePass(ctx, e.Gate, time.Now(), req)
	if err != nil {
		return fmt.Errorf("evaluate %s: %w", pass, err)
	}
	if len(held) == 0 {
		return nil
	}
	e.dropReplaced(pass, replaced)
	why := e.describeHeld(ctx, held)
	for _, src := range held {
		e.Metrics.PassesHeld.WithLabelValues("waiting_for_sync", src).Inc()
	}
	e.Logger.Info("evaluation pass deferred: it runs as soon as the sync commits", "pass", pass, "waiting_for", why)
	return &RetryLater{Reason: "pass " + pass + " waits for " + why, After: deferRetry}
}

// describeHeld says which syncs a pass waits for and how far they are:
// "hubspot (first sync since 10:02:03, 12000 of ~20000 records)".
func (e *Evaluator) describeHeld(ctx context.Context, held []string) string {
	states, err := e.Syncs.SyncStates(ctx, held)
	if err != nil {
		return strings.Join(held, ", ")
	}
	parts := make([]string, len(states))
	for i, st := range states {
		parts[i] = describeSync(st)
	}
	return strings.Join(parts, "; ")
}

// describeSync says what a source's sync is doing, for logs and health.
func describeSync(st store.SyncState) string {
	kind := "first sync"
	if st.FullKind == store.FullAgain {
		kind = "full sync"
	}
	since := st.FullSince
	if since.IsZero() {
		since = st.FirstAttempt
	}
	s := st.Source + " (" + kind
	if !since.IsZero() {
		s += " since " + since.UTC().Format(time.RFC3339)
	}
	if p := st.Progress; p.Records > 0 {
		s += fmt.Sprintf(", %d records", p.Records)
		if p.Expected > 0 {
			s += fmt.Sprintf(" of ~%d", p.Expected)
		}
	}
	if st.Running.IsZero() && st.LastError != "" {
		s += ", last attempt failed: " + st.LastError
	}
	return s + ")"
}

// dropReplaced deletes the task of the deferred pass that pass replaced:
// once the portfolio is complete, only the latest pass needs to run.
func (e *Evaluator) dropReplaced(pass string, replaced []byte) {
	var old EvaluatePayload
	if e.Tasks == nil || json.Unmarshal(replaced, &old) != nil || old.Pass == "" || old.Pass == pass {
		return
	}
	err := e.Tasks.DeleteTask(e.NS.Queue(QueueEvaluate), string(e.NS)+":"+EvaluateTaskID(old.Pass))
	if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		e.Logger.Debug("older deferred pass left in place", "pass", old.Pass, "err", err)
	}
}

// lock makes pass the running pass. A pass holding the lock whose tasks
// are all gone (failed for good, lost) is dead: its lock is taken over at
// once rather than blocking passes until it expires.
func (e *Evaluator) lock(ctx context.Context, pass string) (bool, error) {
	ok, holder, err := e.Passes.LockPass(ctx, pass, PassLockTTL)
	if err != nil || ok {
		return ok, wrapPass(pass, err)
	}
	alive, err := e.passAlive(holder)
	if err != nil {
		return false, wrapPass(pass, err)
	}
	if !alive {
		if ok, err := e.Passes.TakeOverPass(ctx, holder, pass, PassLockTTL); err != nil || ok {
			if ok {
				e.Metrics.LocksReleased.WithLabelValues("pass").Inc()
				e.Logger.Warn("took over the lock of a dead pass: none of its tasks is left to run", "pass", pass, "dead", holder)
			}
			return ok, wrapPass(pass, err)
		}
	}
	e.Metrics.PassesHeld.WithLabelValues("running", "").Inc()
	e.Logger.Warn("evaluation pass skipped: another pass is running", "pass", pass, "running", holder)
	return false, nil
}

func wrapPass(pass string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("evaluate %s: %w", pass, err)
}

// passAlive reports whether any task of pass is still to run: its
// coordinator or one of its shards pending, running, scheduled or waiting
// for a retry. Without a task inspector every pass is alive.
func (e *Evaluator) passAlive(pass string) (bool, error) {
	if e.Tasks == nil {
		return true, nil
	}
	ids := []string{EvaluateTaskID(pass)}
	if doc, err := e.loadPlan(context.Background(), pass); err == nil {
		for i := range doc.Bounds {
			ids = append(ids, ShardTaskID(pass, i))
		}
	}
	queue := e.NS.Queue(QueueEvaluate)
	for _, id := range ids {
		info, err := e.Tasks.GetTaskInfo(queue, string(e.NS)+":"+id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			continue
		case err != nil:
			return false, err
		}
		if info.State != asynq.TaskStateCompleted && info.State != asynq.TaskStateArchived {
			return true, nil
		}
	}
	return false, nil
}

// staleSources lists the sources the pass uses although stale.
func (e *Evaluator) staleSources(ctx context.Context, now time.Time) ([]StaleSource, error) {
	if len(e.Gate.Sources) == 0 {
		return nil, nil
	}
	states, err := e.Syncs.SyncStates(ctx, e.Gate.Sources)
	if err != nil {
		return nil, err
	}
	var out []StaleSource
	for i, st := range states {
		if st.Stale(now, e.Gate.StaleAfter[i]) {
			out = append(out, StaleSource{Source: st.Source, LastSuccess: st.LastSuccessEnd, LastError: st.LastError})
		}
	}
	return out, nil
}
