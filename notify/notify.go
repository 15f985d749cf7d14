// Package notify defines the messages crmsync sends and the contract of the
// channels that deliver them. Each channel has its own package below this
// one: email and slack render messages, outbox writes them to files instead
// of sending them.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Channel names a delivery channel.
type Channel string

// Channels crmsync delivers to.
const (
	Email Channel = "email"
	Slack Channel = "slack"
)

// Message is one rendered notification, ready to send. It carries the
// ledger key under which it is claimed before sending, so a retry or a
// re-run never sends it twice.
type Message struct {
	LedgerKey string  `json:"ledger_key"`
	Channel   Channel `json:"channel"`
	Rule      string  `json:"rule"`
	AccountID string  `json:"account_id"`
	Pass      string  `json:"pass,omitempty"` // evaluation pass that produced it

	To      string `json:"to"`                 // email address, Slack user email or channel
	ToName  string `json:"to_name,omitempty"`  // display name of the recipient
	From    string `json:"from,omitempty"`     // email sender address
	ReplyTo string `json:"reply_to,omitempty"` // email reply-to (the owning rep)
	Subject string `json:"subject,omitempty"`  // email subject
	Text    string `json:"text"`               // plain-text body; Slack fallback text
	HTML    string `json:"html,omitempty"`     // email HTML body

	Blocks json.RawMessage `json:"blocks,omitempty"` // Slack Block Kit blocks

	// TemplateID names a SendGrid dynamic template ("d-..."); the email is
	// then rendered by SendGrid from TemplateData instead of Subject, Text
	// and HTML.
	TemplateID   string         `json:"template_id,omitempty"`
	TemplateData map[string]any `json:"template_data,omitempty"`

	// NotBefore delays delivery: an email due in the recipient's quiet
	// hours waits for the next allowed time instead of being dropped.
	NotBefore time.Time `json:"not_before,omitzero"`

	// Why the message exists: the rule's expression and the feature values
	// that made it fire, kept in the ledger for explanations.
	Expression string         `json:"expression,omitempty"`
	Features   map[string]any `json:"features,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
}

// Sender delivers messages of one channel.
type Sender interface {
	// Send delivers m. An error wrapping ErrPermanent must not be retried.
	Send(ctx context.Context, m *Message) error
}

// ErrPermanent marks a delivery failure that retrying cannot fix (a
// rejected address, a bad request).
var ErrPermanent = errors.New("permanent failure")

// RateLimitError is a provider's "too many requests": nothing is wrong
// with the message, it must be sent again no sooner than After. Retrying it
// does not count against a task's retry budget.
type RateLimitError struct {
	Provider string        // "sendgrid", "slack"
	Scope    string        // what is limited: the account, a Slack channel
	After    time.Duration // wait at least this long
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: rate limited (%s), retry after %s", e.Provider, e.Scope, e.After)
}
