package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// Pausing a channel whose credentials are refused.
const (
	// DefaultPauseRetry is how soon a task of a paused channel comes back.
	DefaultPauseRetry = 30 * time.Second
	// DefaultProbeEvery is how often one process checks a paused
	// channel's credentials.
	DefaultProbeEvery = time.Minute
	// probeRunning bounds one probe: another process may probe after it.
	probeRunning = 20 * time.Second
	// maxCountedTasks bounds the tasks read to count the messages waiting.
	maxCountedTasks = 5000
)

// pauses is the record of paused channels, shared by every process.
type pauses interface {
	PauseChannel(ctx context.Context, channel, reason string, now time.Time) (bool, error)
	ChannelPause(ctx context.Context, channel string) (store.ChannelPause, bool, error)
	ResumeChannel(ctx context.Context, channel string) (bool, error)
	ClaimProbe(ctx context.Context, channel string, running, every time.Duration, now bool) (bool, error)
}

// queueInspector reads a queue's tasks (an *asynq.Inspector).
type queueInspector interface {
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
	ListPendingTasks(queue string, opts ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	ListScheduledTasks(queue string, opts ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	ListRetryTasks(queue string, opts ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	ListActiveTasks(queue string, opts ...asynq.ListOption) ([]*asynq.TaskInfo, error)
}

// prober is a sender that can check its credentials without sending.
type prober interface {
	// Probe returns nil when the provider accepts the credentials, a
	// *notify.CredentialsError while it refuses them, any other error
	// when it could not be asked.
	Probe(ctx context.Context) error
}

// PausedError is a task of a paused channel: its messages wait, neither
// sent nor rejected, and it comes back after After without spending its
// retry budget.
type PausedError struct {
	Channel notify.Channel
	Reason  string
	After   time.Duration
}

func (e *PausedError) Error() string {
	return fmt.Sprintf("channel %s paused (%s): its messages wait; retry in %s", e.Channel, e.Reason, e.After)
}

// holdIfPaused returns a *PausedError while the channel is paused. When it
// is this process's turn to check the credentials and the provider accepts
// them, the channel resumes and it returns nil.
func (d *Deliverer) holdIfPaused(ctx context.Context) error {
	if d.Pauses == nil {
		return nil
	}
	p, paused, err := d.Pauses.ChannelPause(ctx, string(d.Channel))
	if err != nil {
		return fmt.Errorf("deliver %s: %w", d.Channel, err)
	}
	if paused && !d.probe(ctx, p) {
		d.setPaused(true)
		return &PausedError{Channel: d.Channel, Reason: p.Reason, After: d.pauseRetry()}
	}
	d.setPaused(false)
	return nil
}

// probe checks the credentials of the paused channel, when it is this
// process's turn (at most once every ProbeEvery, one process at a time,
// and once at once after the process starts), and resumes the channel
// when the provider accepts them. It reports whether it resumed it.
func (d *Deliverer) probe(ctx context.Context, p store.ChannelPause) bool {
	pr, ok := d.Sender.(prober)
	if !ok {
		return false
	}
	first := !d.probed.Swap(true)
	every := d.ProbeEvery
	if every <= 0 {
		every = DefaultProbeEvery
	}
	turn, err := d.Pauses.ClaimProbe(ctx, string(d.Channel), min(probeRunning, every), every, first)
	if err != nil || !turn {
		return false
	}
	if err := pr.Probe(ctx); err != nil {
		d.Logger.Warn("channel still paused: its credentials are still refused", "channel", d.Channel,
			"paused_since", p.Since, "probe", err)
		return false
	}
	if _, err := d.Pauses.ResumeChannel(ctx, string(d.Channel)); err != nil {
		d.Logger.Error("channel not resumed: its credentials work again, but the pause could not be lifted",
			"channel", d.Channel, "err", err)
		return false
	}
	d.Logger.Info("channel resumed: the provider accepts its credentials again; its messages go out",
		"channel", d.Channel, "paused_since", p.Since, "reason", p.Reason)
	return true
}

// pause pauses the channel for every process because its credentials were
// refused (cred), and returns the *PausedError the task waits with. The
// process that pauses it logs what waits and what to fix.
func (d *Deliverer) pause(ctx context.Context, cred *notify.CredentialsError) error {
	first := true
	if d.Pauses != nil {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		var err error
		first, err = d.Pauses.PauseChannel(wctx, string(d.Channel), cred.Reason, d.now())
		cancel()
		if err != nil {
			d.Logger.Error("channel pause not recorded: other processes keep trying it", "channel", d.Channel, "err", err)
		}
	}
	d.setPaused(true)
	d.count("paused")
	if first {
		tasks, msgs := d.waiting()
		d.Logger.Error("channel paused: the provider refused its credentials; its messages wait (none is rejected) and go out once they are accepted",
			"channel", d.Channel, "reason", cred.Reason, "waiting_tasks", tasks, "waiting_messages", msgs,
			"fix", cred.Fix+"; the channel resumes by itself once the credentials work (checked every minute, and when crmsync starts)")
	}
	return &PausedError{Channel: d.Channel, Reason: cred.Reason, After: d.pauseRetry()}
}

// waiting counts the tasks of the channel's queue that wait (pending,
// scheduled, retrying, and running: the one pausing it among them), and
// their messages (of at most maxCountedTasks tasks of each kind); -1 when
// they cannot be counted.
func (d *Deliverer) waiting() (tasks, msgs int) {
	if d.Queue == nil {
		return -1, -1
	}
	q := d.NS.Queue(channelQueue(d.Channel))
	info, err := d.Queue.GetQueueInfo(q)
	if err != nil {
		return -1, -1
	}
	tasks = info.Pending + info.Scheduled + info.Retry + info.Active
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		d.Queue.ListPendingTasks, d.Queue.ListScheduledTasks, d.Queue.ListRetryTasks, d.Queue.ListActiveTasks,
	} {
		ts, err := list(q, asynq.PageSize(maxCountedTasks))
		if err != nil {
			return tasks, -1
		}
		for _, t := range ts {
			var p DeliverPayload
			if json.Unmarshal(t.Payload, &p) == nil {
				msgs += len(p.Messages)
			}
		}
	}
	return tasks, msgs
}

// channelQueue is the queue of the channel's tasks.
func channelQueue(ch notify.Channel) string {
	if ch == notify.Slack {
		return QueueSlack
	}
	return QueueEmail
}

func (d *Deliverer) pauseRetry() time.Duration {
	if d.PauseRetry > 0 {
		return d.PauseRetry
	}
	return DefaultPauseRetry
}

func (d *Deliverer) setPaused(on bool) {
	v := 0.0
	if on {
		v = 1
	}
	d.Metrics.ChannelPaused.WithLabelValues(string(d.Channel)).Set(v)
}

// ChannelQueue is the queue (within the namespace) of the channel's
// delivery tasks.
func ChannelQueue(ch notify.Channel) string { return channelQueue(ch) }
