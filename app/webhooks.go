package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/webhook"
	"github.com/crmsync/crmsync/workers"
)

// webhooks builds the endpoints providers call, for the ones configured:
// SendGrid's signed event webhook (unsubscribes, bounces and spam reports
// become suppressions) and Slack's interactions (the nudges' buttons).
func (a *App) webhooks() (map[string]http.Handler, error) {
	out := map[string]http.Handler{}
	n := a.Config.Notify
	if key := n.Email.WebhookPublicKey; key != "" {
		h, err := webhook.NewSendGrid(key, a.Store.Suppressions, a.Store.Suppressions, a.log.With("webhook", "sendgrid"))
		if err != nil {
			return nil, fmt.Errorf("notify.email.webhook_public_key: %w", err)
		}
		out["POST /webhooks/sendgrid"] = h
	}
	if secret := n.Slack.SigningSecret.Reveal(); secret != "" {
		out["POST /slack/interactions"] = webhook.NewSlack(secret, actionQueue{a.client, a.ns()}, a.Store.Suppressions, a.log.With("webhook", "slack"))
	}
	return out, nil
}

// actionQueue enqueues a rep's click as a task, so the interaction
// endpoint answers Slack at once.
type actionQueue struct {
	q  *asynq.Client
	ns workers.Namespace
}

func (aq actionQueue) EnqueueAction(ctx context.Context, act webhook.Action) error {
	t, err := workers.NewActionTask(aq.ns, workers.ActionPayload{
		Kind: act.Kind, AccountID: act.AccountID, Rule: act.Rule, UserID: act.UserID, UserName: act.UserName, At: act.At,
	})
	if err != nil {
		return err
	}
	if _, err := aq.q.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue slack action: %w", err)
	}
	return nil
}
