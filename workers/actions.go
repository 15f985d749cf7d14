package workers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
)

// TypeSlackAction is a rep's click on a nudge's button, done on the queue
// so the interaction endpoint answers Slack within its 3 seconds.
const TypeSlackAction = "slack:action"

// Button actions.
const (
	ActionSnooze    = "snooze"    // hold the rule's nudges back for SnoozeFor
	ActionContacted = "contacted" // the rep contacted the client: activity now
)

// SnoozeFor is how long "Snooze" holds a rule's messages back.
const SnoozeFor = 30 * 24 * time.Hour

// ActionPayload is one click.
type ActionPayload struct {
	Kind      string    `json:"kind"`
	AccountID string    `json:"account_id"`
	Rule      string    `json:"rule"`
	UserID    string    `json:"user_id,omitempty"`
	UserName  string    `json:"user_name,omitempty"`
	At        time.Time `json:"at"`
}

// NewActionTask returns the task of one click; its id derives from the
// click, so a click enqueued twice is done once.
func NewActionTask(ns Namespace, p ActionPayload) (*asynq.Task, error) {
	id := fmt.Sprintf("action:%s:%s:%s:%s:%d", p.Kind, p.Rule, p.AccountID, p.UserID, p.At.UnixMilli())
	return newTask(TypeSlackAction, p, asynq.Queue(ns.Queue(QueueSlack)), ns.TaskID(id), asynq.MaxRetry(10), asynq.Retention(24*time.Hour))
}

// snoozer holds a rule's messages back for an account ("Snooze").
type snoozer interface {
	Snooze(ctx context.Context, rule, accountID string, until time.Time) error
}

// contactMarker records a rep's "Mark as contacted" as the account's
// latest activity.
type contactMarker interface {
	MarkContacted(ctx context.Context, accountID string, at time.Time) error
}

// Actions carries out reps' clicks.
type Actions struct {
	Passes  snoozer
	Records contactMarker
	Logger  *slog.Logger
}

// ProcessTask implements asynq.Handler for TypeSlackAction.
func (h *Actions) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p ActionPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	var err error
	switch p.Kind {
	case ActionSnooze:
		err = h.Passes.Snooze(ctx, p.Rule, p.AccountID, p.At.Add(SnoozeFor))
	case ActionContacted:
		err = h.Records.MarkContacted(ctx, p.AccountID, p.At)
	default:
		return fmt.Errorf("slack action: unknown kind %q: %w", p.Kind, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("slack action %s: %w", p.Kind, err)
	}
	h.Logger.Info("slack action done", "kind", p.Kind, "account", p.AccountID, "rule", p.Rule, "user", p.UserName)
	return nil
}
