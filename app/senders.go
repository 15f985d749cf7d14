package app

import (
	"errors"
	"fmt"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/outbox"
	"github.com/crmsync/crmsync/notify/sendgrid"
	"github.com/crmsync/crmsync/notify/slack"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
)

// newSenders returns the sender of each channel: the outbox for every
// channel when notify.outbox is set (a dry run), else SendGrid for email
// and Slack for Slack, when their credentials are set. A channel with no
// sender has no entry; CheckChannels refuses rules that need it.
func newSenders(cfg *config.Config) (map[notify.Channel]notify.Sender, *outbox.Outbox, error) {
	n := cfg.Notify
	if n.Outbox != "" {
		ob, err := outbox.New(n.Outbox)
		if err != nil {
			return nil, nil, fmt.Errorf("outbox: %w", err)
		}
		return map[notify.Channel]notify.Sender{notify.Email: ob, notify.Slack: ob}, ob, nil
	}
	out := map[notify.Channel]notify.Sender{}
	if key := n.Email.APIKey.Reveal(); key != "" {
		s, err := sendgrid.New(sendgrid.Config{
			APIKey: key, BaseURL: n.Email.BaseURL, FromEmail: n.Email.From.Email, FromName: n.Email.From.Name,
			UnsubscribeGroupID: n.Email.UnsubscribeGroupID, Sandbox: n.Email.Sandbox,
		}, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("notify.email: %w", err)
		}
		out[notify.Email] = s
	}
	if token := n.Slack.Token.Reveal(); token != "" {
		s, err := slack.NewSender(slack.SenderConfig{Token: token, BaseURL: n.Slack.BaseURL, FallbackChannel: n.Slack.FallbackChannel}, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("notify.slack: %w", err)
		}
		out[notify.Slack] = s
	}
	return out, nil, nil
}

// sharePacing makes the Slack sender, when there is one, take its turns
// to post in each channel from st's Redis, with every other process of the
// deployment (see slack.Sender.SharePacing). Call it before any Send.
func sharePacing(senders map[notify.Channel]notify.Sender, st *store.Store) {
	if s, ok := senders[notify.Slack].(*slack.Sender); ok {
		s.SharePacing(st.Redis(), st.Namespace())
	}
}

// CheckChannels refuses rules whose actions use a channel that cfg gives
// nothing to deliver to, at load rather than at the first flag.
func CheckChannels(cfg *config.Config, rs *rules.RuleSet) error {
	n := cfg.Notify
	senders := map[notify.Channel]bool{
		notify.Email: n.Outbox != "" || n.Email.APIKey != "",
		notify.Slack: n.Outbox != "" || n.Slack.Token != "",
	}
	var errs []error
	for _, r := range rs.Rules {
		for _, a := range r.Actions {
			switch {
			case a.Email != nil && !senders[notify.Email]:
				errs = append(errs, fmt.Errorf("%s:%d: rule %s sends emails, but notify.email.api_key is not set (nor notify.outbox)", r.File, r.Line, r.Name))
			case a.Slack != nil && !senders[notify.Slack]:
				errs = append(errs, fmt.Errorf("%s:%d: rule %s sends Slack messages, but notify.slack.token is not set (nor notify.outbox)", r.File, r.Line, r.Name))
			}
		}
		if r.OnResolve != nil && !senders[notify.Slack] {
			errs = append(errs, fmt.Errorf("%s:%d: rule %s has on_resolve, but notify.slack.token is not set (nor notify.outbox)", r.File, r.Line, r.Name))
		}
	}
	return errors.Join(errs...)
}
