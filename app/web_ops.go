package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/web"
	"github.com/crmsync/crmsync/workers"
)

// Ops gathers the queues and sources page: each source's sync state (as
// /healthz?detail=1 reports it) with its rejects and stored accounts,
// each queue's counters from asynq's inspector, the channels' pauses and
// the archived tasks.
func (d *webData) Ops(ctx context.Context) (*web.Ops, error) {
	a := d.a
	o := &web.Ops{Now: time.Now()}
	var err error
	if o.Sources, err = d.opsSources(ctx); err != nil {
		return nil, err
	}
	chans, err := a.channelHealth(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range chans {
		o.Channels = append(o.Channels, web.ChannelOps{Channel: c.Channel, Paused: c.Paused, Reason: c.Reason, Since: c.Since, Queued: c.Queued})
	}
	if o.Queues, o.Dead, err = d.opsQueues(ctx); err != nil {
		return nil, err
	}
	return o, nil
}

// opsSources returns each configured source's state, in config order.
func (d *webData) opsSources(ctx context.Context) ([]web.SourceOps, error) {
	a := d.a
	health, err := a.sourceHealth(ctx)
	if err != nil {
		return nil, err
	}
	accounts, err := d.accountsBySource(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]web.SourceOps, len(health))
	for i, h := range health {
		s := web.SourceOps{
			Name: h.Name, Type: a.Config.Sources[i].Type, LastSuccess: h.LastSuccess, Ready: h.Ready, Stale: h.Stale,
			Running: h.Running, LastError: h.LastError, FailingSince: h.FailingSince,
			PausedUntil: h.PausedUntil, PauseReason: h.PauseReason, Accounts: accounts[h.Name],
		}
		if f := h.FullSync; f != nil {
			s.FullKind, s.FullSince, s.Progress = f.Kind, f.Since, f.Progress.Records
		}
		if s.Rejects, s.RejectsTotal, err = a.Store.Records.Rejects(ctx, h.Name, web.RejectsShown); err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// accountsBySource counts the accounts of the book (as the last pass read
// them) per source; a merged account counts under each of its sources.
func (d *webData) accountsBySource(ctx context.Context) (map[string]int, error) {
	b, err := d.Book(ctx)
	if err != nil {
		return nil, err
	}
	return b.Scores.(*storeScores).bySource, nil
}

// opsQueues returns the counters of each of the deployment's queues
// (slack, email, evaluate, sync) and their archived tasks, newest first.
func (d *webData) opsQueues(ctx context.Context) ([]web.QueueOps, []web.DeadTask, error) {
	a := d.a
	existing, err := a.inspector.Queues()
	if err != nil {
		return nil, nil, fmt.Errorf("queues: %w", err)
	}
	var qs []web.QueueOps
	var dead []web.DeadTask
	for _, q := range a.ns().Queues() {
		name := strings.TrimPrefix(q, string(a.ns())+":")
		if !slices.Contains(existing, q) {
			qs = append(qs, web.QueueOps{Name: name}) // nothing was ever queued
			continue
		}
		info, err := a.inspector.GetQueueInfo(q)
		if err != nil {
			return nil, nil, fmt.Errorf("queue %s: %w", q, err)
		}
		qs = append(qs, web.QueueOps{
			Name: name, Size: info.Size, Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled,
			Retry: info.Retry, Archived: info.Archived, Latency: info.Latency.Round(time.Millisecond),
			Processed: info.Processed, Failed: info.Failed, Paused: info.Paused,
		})
		if info.Archived == 0 {
			continue
		}
		tasks, err := a.inspector.ListArchivedTasks(q, asynq.PageSize(web.DeadShown))
		if err != nil {
			return nil, nil, fmt.Errorf("queue %s: archived: %w", q, err)
		}
		for _, t := range tasks {
			dt, err := d.deadTask(ctx, name, t)
			if err != nil {
				return nil, nil, err
			}
			dead = append(dead, dt)
		}
	}
	slices.SortStableFunc(dead, func(x, y web.DeadTask) int { return y.LastFailed.Compare(x.LastFailed) })
	return qs, dead, nil
}

// isDelivery tells whether a task type carries messages.
func isDelivery(typ string) bool {
	return typ == workers.TypeDeliverEmail || typ == workers.TypeDeliverSlack
}

// deadTask describes archived task t of queue: for a delivery task, its
// messages by ledger status and whether some are of unknown outcome.
func (d *webData) deadTask(ctx context.Context, queue string, t *asynq.TaskInfo) (web.DeadTask, error) {
	dt := web.DeadTask{Queue: queue, ID: t.ID, Type: t.Type, LastErr: t.LastErr, LastFailed: t.LastFailedAt, Retried: t.Retried, Action: web.DeadRun}
	if !isDelivery(t.Type) {
		return dt, nil
	}
	keys, err := d.deadKeys(t)
	if err != nil {
		return dt, err
	}
	dt.Messages, dt.Action = map[string]int{}, ""
	for _, k := range keys {
		e, err := d.a.Store.Ledger.Entry(ctx, k)
		st := e.Status
		switch {
		case errors.Is(err, store.ErrNotFound):
			st = "expired"
		case err != nil:
			return dt, err
		case e.OutcomeUnknown(time.Now()):
			st = store.StatusUnknown
			dt.Action = web.DeadResend
		}
		dt.Messages[st]++
	}
	return dt, nil
}

// deadKeys returns the ledger keys of the messages of delivery task t.
func (d *webData) deadKeys(t *asynq.TaskInfo) ([]string, error) {
	var p workers.DeliverPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		return nil, fmt.Errorf("archived task %s: %w", t.ID, err)
	}
	keys := make([]string, len(p.Messages))
	for i, m := range p.Messages {
		keys[i] = m.LedgerKey
	}
	return keys, nil
}

// ResendDead acts on archived task id of queue (a name without the
// namespace, as Ops lists it): a delivery task's messages of unknown
// outcome are resent through Resend (each at most once; dead ones are
// the dead-letter record and stay unsent); any other task runs again.
func (d *webData) ResendDead(ctx context.Context, queue, id string) (string, error) {
	a := d.a
	q := a.ns().Queue(queue)
	if !slices.Contains(a.ns().Queues(), q) {
		return "", fmt.Errorf("no queue %q", queue)
	}
	t, err := a.inspector.GetTaskInfo(q, id)
	if err != nil {
		return "", fmt.Errorf("task %s: %w", id, err)
	}
	if t.State != asynq.TaskStateArchived {
		return "", fmt.Errorf("task %s is %s, not archived", id, t.State)
	}
	if !isDelivery(t.Type) {
		if err := a.inspector.RunTask(q, id); err != nil {
			return "", fmt.Errorf("run task %s: %w", id, err)
		}
		a.log.Info("archived task run again from the dashboard", "queue", queue, "task", id)
		return "queued to run again", nil
	}
	return d.resendUnknown(ctx, t)
}

// resendUnknown resends the messages of delivery task t whose outcome is
// unknown, and says what became of them.
func (d *webData) resendUnknown(ctx context.Context, t *asynq.TaskInfo) (string, error) {
	keys, err := d.deadKeys(t)
	if err != nil {
		return "", err
	}
	did := map[string]int{}
	var errs []error
	for _, k := range keys {
		e, err := d.a.Store.Ledger.Entry(ctx, k)
		if err != nil || !e.OutcomeUnknown(time.Now()) {
			continue // gone, or recorded: nothing to resend
		}
		outcome, err := d.a.Resend(ctx, k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.a.log.Info("message of unknown outcome resent from the dashboard", "key", k, "outcome", outcome)
		did[outcome]++
	}
	if len(did) == 0 && len(errs) == 0 {
		return "no message of unknown outcome left", nil
	}
	parts := make([]string, 0, len(did))
	for outcome, n := range did {
		parts = append(parts, fmt.Sprintf("%d %s", n, outcome))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", "), errors.Join(errs...)
}
