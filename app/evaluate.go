package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// ManualPass names a pass run on purpose at wall-clock time at:
// "manual@<unix ms>". Scheduled passes are named by their tick
// ("evaluate@<unix s>"), so a pass run by hand never takes the name, the
// task id or the ledger keys of a scheduled one, even when `run` works on
// the same Redis.
func ManualPass(at time.Time) string { return fmt.Sprintf("manual@%d", at.UnixMilli()) }

// ErrPassSkipped reports that a pass did not run because another pass
// held the pass lock: passes never overlap, and the skipped one sent
// nothing.
var ErrPassSkipped = errors.New("another evaluation pass was running; this one was skipped and sent nothing")

// ErrNotRunning reports that RunPass was called without workers in this
// process (Start).
var ErrNotRunning = errors.New("the workers of this process are not running")

// RunPass runs pass at now through the queue, as a scheduled pass runs:
// under the pass lock, its shards and messages handled by the workers of
// this process and of any other on the same Redis. It waits for the
// pass's report, then for each of its messages to be sent (or written),
// to fail for good, or to be scheduled for the end of quiet hours: those
// stay queued for whichever process runs when they are due. It returns
// what the pass did; when ctx ends first, what it did so far, with the
// error. The workers must run (Start).
func (a *App) RunPass(ctx context.Context, pass string, now time.Time) (*PassResult, error) {
	if a.server == nil {
		return nil, fmt.Errorf("pass %s: %w", pass, ErrNotRunning)
	}
	if err := a.EnqueueEvaluate(ctx, pass, now); err != nil {
		return nil, fmt.Errorf("pass %s: %w", pass, err)
	}
	rep, err := a.waitReport(ctx, pass)
	if err != nil {
		return nil, err
	}
	waitErr := a.waitDelivered(ctx, pass)
	// Count what happened, also when ctx ended.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	res, err := a.passResult(cctx, rep)
	return res, errors.Join(waitErr, err)
}

// Unready lists the sources whose first sync has not completed: a pass
// waits for them.
func (a *App) Unready(ctx context.Context) ([]string, error) {
	g := a.gate()
	states, err := a.Store.Syncs.SyncStates(ctx, g.Sources)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, st := range states {
		if st.Ready.IsZero() {
			out = append(out, st.Source)
		}
	}
	return out, nil
}

// pollEvery is how often RunPass looks at the pass's progress.
func (a *App) pollEvery() time.Duration {
	if a.opts.TaskCheckInterval > 0 {
		return max(a.opts.TaskCheckInterval, 20*time.Millisecond)
	}
	return 200 * time.Millisecond
}

// waitReport waits for the report of pass, failing when the pass was
// skipped (another pass held the lock), failed for good, or is gone.
func (a *App) waitReport(ctx context.Context, pass string) (*workers.Report, error) {
	waiting := ""
	for {
		rep, err := a.passReport(ctx, pass)
		if err != nil || rep != nil {
			return rep, err
		}
		why, err := a.passProgress(ctx, pass)
		if err != nil {
			return nil, err
		}
		if why != "" && why != waiting {
			a.log.Warn("evaluation pass waiting", "pass", pass, "reason", why)
			waiting = why
		}
		if err := sleep(ctx, a.pollEvery()); err != nil {
			return nil, fmt.Errorf("pass %s: no report yet: %w", pass, err)
		}
	}
}

// passReport returns the report of pass, nil when it has none yet.
func (a *App) passReport(ctx context.Context, pass string) (*workers.Report, error) {
	b, err := a.Store.Passes.Report(ctx, pass)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pass %s: %w", pass, err)
	}
	var r workers.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("pass %s: decode report: %w", pass, err)
	}
	return &r, nil
}

// passProgress looks at the tasks of a pass without a report: an error
// when it will never have one, else why it waits ("" when it just runs).
func (a *App) passProgress(ctx context.Context, pass string) (string, error) {
	queue := a.ns().Queue(workers.QueueEvaluate)
	info, err := a.inspector.GetTaskInfo(queue, string(a.ns())+":"+workers.EvaluateTaskID(pass))
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return "", fmt.Errorf("pass %s: its task is gone (a newer pass waiting for the same sync replaced it)", pass)
	case err != nil:
		return "", fmt.Errorf("pass %s: %w", pass, err)
	}
	switch info.State {
	case asynq.TaskStateArchived:
		return "", fmt.Errorf("pass %s failed: %s", pass, info.LastErr)
	case asynq.TaskStateRetry:
		return info.LastErr, nil
	case asynq.TaskStateCompleted:
		if _, err := a.Store.Passes.PassPlan(ctx, pass); errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("pass %s: %w", pass, ErrPassSkipped)
		}
		return "", a.failedShard(pass)
	}
	return "", nil
}

// failedShard returns an error when a shard of pass failed for good: the
// pass then never completes.
func (a *App) failedShard(pass string) error {
	tasks, err := a.inspector.ListArchivedTasks(a.ns().Queue(workers.QueueEvaluate), asynq.PageSize(1000))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pass %s: %w", pass, err)
	}
	for _, t := range tasks {
		var p workers.ShardPayload
		if t.Type == workers.TypeEvaluateShard && json.Unmarshal(t.Payload, &p) == nil && p.Pass == pass {
			return fmt.Errorf("pass %s: shard %d failed: %s", pass, p.Shard, t.LastErr)
		}
	}
	return nil
}

// passTask is a delivery task of a pass, as it stands.
type passTask struct {
	state asynq.TaskState
	next  time.Time // when a scheduled task runs
	msgs  []notify.Message
}

// live reports whether the task is to run now or soon: RunPass waits for
// it. A task scheduled for later is a message of quiet hours.
func (t passTask) live(now time.Time) bool {
	switch t.state {
	case asynq.TaskStatePending, asynq.TaskStateActive, asynq.TaskStateRetry:
		return true
	case asynq.TaskStateScheduled:
		return !t.next.After(now.Add(2 * time.Second))
	}
	return false
}

// waitDelivered waits until no delivery task of pass is to run now.
func (a *App) waitDelivered(ctx context.Context, pass string) error {
	for {
		tasks, err := a.passTasks(pass)
		if err != nil {
			return err
		}
		left := 0
		for _, t := range tasks {
			if t.live(time.Now()) {
				left += len(t.msgs)
			}
		}
		if left == 0 {
			return nil
		}
		if err := sleep(ctx, a.pollEvery()); err != nil {
			return fmt.Errorf("pass %s: %d messages not delivered yet: %w", pass, left, err)
		}
	}
}

// taskStates are the states in which asynq keeps a delivery task; a
// completed one is deleted.
var taskStates = []asynq.TaskState{asynq.TaskStatePending, asynq.TaskStateActive, asynq.TaskStateScheduled, asynq.TaskStateRetry, asynq.TaskStateArchived}

// passTasks lists the delivery tasks of pass still kept in the queues.
func (a *App) passTasks(pass string) ([]passTask, error) {
	var out []passTask
	for _, ch := range []notify.Channel{notify.Email, notify.Slack} {
		queue := a.ns().Queue(workers.ChannelQueue(ch))
		for _, st := range taskStates {
			tasks, err := a.listTasks(queue, st)
			if err != nil {
				return nil, fmt.Errorf("pass %s: %s tasks of %s: %w", pass, st, queue, err)
			}
			for _, t := range tasks {
				var p workers.DeliverPayload
				if json.Unmarshal(t.Payload, &p) != nil || p.Pass != pass {
					continue
				}
				out = append(out, passTask{state: t.State, next: t.NextProcessAt, msgs: p.Messages})
			}
		}
	}
	return out, nil
}

// listTasks lists every task of queue in state st.
func (a *App) listTasks(queue string, st asynq.TaskState) ([]*asynq.TaskInfo, error) {
	list := map[asynq.TaskState]func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		asynq.TaskStatePending:   a.inspector.ListPendingTasks,
		asynq.TaskStateActive:    a.inspector.ListActiveTasks,
		asynq.TaskStateScheduled: a.inspector.ListScheduledTasks,
		asynq.TaskStateRetry:     a.inspector.ListRetryTasks,
		asynq.TaskStateArchived:  a.inspector.ListArchivedTasks,
	}[st]
	const size = 500
	var all []*asynq.TaskInfo
	for page := 1; ; page++ {
		tasks, err := list(queue, asynq.PageSize(size), asynq.Page(page))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		all = append(all, tasks...)
		if len(tasks) < size {
			return all, nil
		}
	}
}

// passResult counts what became of the messages of the pass of rep: from
// the ledger what was claimed, from the queues what waits. A message the
// report counts and neither knows was held back at send time.
func (a *App) passResult(ctx context.Context, rep *workers.Report) (*PassResult, error) {
	entries, err := a.Store.Ledger.PassEntries(ctx, rep.Pass)
	if err != nil {
		return nil, err
	}
	tasks, err := a.passTasks(rep.Pass)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	liveKeys := map[string]bool{}
	for _, t := range tasks {
		for _, m := range t.msgs {
			liveKeys[m.LedgerKey] = liveKeys[m.LedgerKey] || t.live(now)
		}
	}
	d := &Delivery{Writes: a.Outbox != nil, Quiet: map[time.Time]int{}}
	res := &PassResult{Report: rep, Delivery: d, PerRep: map[string]int{}}
	seen := map[string]bool{}
	for _, e := range entries {
		o, ok := entryOutcome(e, liveKeys[e.Key], now)
		if !ok {
			continue
		}
		seen[e.Key] = true
		d.add(reportRule(e.Rule, e.AccountID), notify.Channel(e.Channel), o, 1)
		if o == OutcomeDelivered && e.Channel == string(notify.Slack) && isRep(e.Recipient) {
			res.PerRep[strings.ToLower(e.Recipient)]++
		}
	}
	for _, t := range tasks {
		for _, m := range t.msgs {
			if seen[m.LedgerKey] {
				continue
			}
			seen[m.LedgerKey] = true
			o := taskOutcome(t, now)
			d.add(reportRule(m.Rule, m.AccountID), m.Channel, o, 1)
			if o == OutcomeQuiet {
				d.Quiet[t.next]++
			}
		}
	}
	for rule, byCh := range rep.Messages {
		for ch, n := range byCh {
			known := 0
			for _, k := range d.Counts[rule][ch] {
				known += k
			}
			d.add(rule, ch, OutcomeHeld, n-known)
		}
	}
	return res, nil
}

// reportRule is the rule a message counts under in the report: its own,
// or "digest" for a digest.
func reportRule(rule, accountID string) string {
	if strings.HasPrefix(accountID, "digest:") {
		return workers.DigestRule
	}
	return rule
}

// entryOutcome is what the ledger entry e says of its message; live says
// whether a task of the pass still holds it. ok is false for an entry
// that records no message (a resolved flag, a holdout).
func entryOutcome(e store.Entry, live bool, now time.Time) (Outcome, bool) {
	switch {
	case e.Status == store.StatusResolved, e.Status == store.StatusHoldout:
		return "", false
	case store.Delivered(e.Status):
		return OutcomeDelivered, true
	case e.OutcomeUnknown(now):
		return OutcomeUnknown, true
	case e.Status == store.StatusRejected, e.Status == store.StatusDead:
		return OutcomeFailed, true
	case live, e.Status == store.StatusClaimed:
		return OutcomePending, true
	}
	return OutcomeFailed, true // failed, and no task will try again
}

// taskOutcome is what became of a message never claimed, from its task.
func taskOutcome(t passTask, now time.Time) Outcome {
	switch {
	case t.state == asynq.TaskStateArchived:
		return OutcomeFailed
	case t.live(now):
		return OutcomePending
	}
	return OutcomeQuiet
}

// DryRun evaluates the rules at now like a pass, through the same
// pipeline, and changes nothing (Evaluator.Preview): nothing is enqueued,
// sent or recorded, no cooldown starts. Its result counts what the pass
// would send and what limits.per_pass would defer; Delivery is nil.
func (a *App) DryRun(ctx context.Context, now time.Time) (*PassResult, error) {
	start := time.Now()
	flags, err := a.Handlers.Evaluate.Preview(ctx, now, workers.PreviewFilter{})
	if err != nil {
		return nil, err
	}
	n, err := a.Store.Records.CountAccounts(ctx)
	if err != nil {
		return nil, err
	}
	rep := &workers.Report{
		Pass: "dry run", Now: now, StartedAt: start, Accounts: int(n),
		Flags: map[string]int{}, Messages: map[string]map[notify.Channel]int{}, Skipped: map[string]map[string]int{},
		Deferred: map[notify.Channel]int{},
	}
	res := &PassResult{Report: rep, PerRep: map[string]int{}}
	for _, f := range flags {
		countFlag(rep, f)
		for _, m := range f.Deferred {
			rep.Deferred[m.Channel]++
		}
		for _, m := range f.Messages {
			if rep.Messages[f.Rule] == nil {
				rep.Messages[f.Rule] = map[notify.Channel]int{}
			}
			rep.Messages[f.Rule][m.Channel]++
			if m.Channel == notify.Slack && isRep(m.To) {
				res.PerRep[strings.ToLower(m.To)]++
			}
		}
	}
	rep.Duration = time.Since(start)
	return res, nil
}

// countFlag counts preview flag f in rep: flagged unless it still waits
// out its rule's for, and each reason it holds messages back.
func countFlag(rep *workers.Report, f workers.Flag) {
	pending := false
	for _, h := range f.HeldBack {
		reason, _, _ := strings.Cut(h, " ")
		pending = pending || reason == string(workers.SkipPending)
		if rep.Skipped[f.Rule] == nil {
			rep.Skipped[f.Rule] = map[string]int{}
		}
		if reason == string(workers.SkipDeferred) { // one hold for the match, as a pass counts its messages
			rep.Skipped[f.Rule][reason] += len(f.Deferred)
			continue
		}
		rep.Skipped[f.Rule][reason]++
	}
	if f.Rule != workers.DigestRule && !pending {
		rep.Flags[f.Rule]++
	}
}

// sleep waits for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
