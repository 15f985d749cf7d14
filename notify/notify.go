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
	"net/http"
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
// rejected address, a bad request). It concerns one message: the others
// of the channel are not affected. A failure of the whole channel is a
// *CredentialsError instead.
var ErrPermanent = errors.New("permanent failure")

// ErrOutcomeUnknown marks a send whose outcome cannot be known: the
// request may have reached the provider (a timeout, a connection lost
// once the request was written). The message must not be sent again
// blindly: it may have been delivered.
var ErrOutcomeUnknown = errors.New("outcome unknown")

// ErrCredentials is what every *CredentialsError matches with errors.Is.
var ErrCredentials = errors.New("credentials refused")

// CredentialsError is a failure of a whole channel rather than of one
// message: the provider refused the channel's credentials (a wrong,
// revoked or expired token or key, an inactive account, a missing
// permission) or its right to send (an unverified sender). Nothing is
// wrong with the message: the channel pauses, its messages wait, and they
// go out once the credentials work again.
type CredentialsError struct {
	Provider string // "sendgrid", "slack"
	Reason   string // what the provider said: "invalid_auth", "401 Unauthorized: …"
	Fix      string // what an operator should do about it
	Err      error  // the underlying error, if any
}

func (e *CredentialsError) Error() string {
	return e.Provider + ": credentials refused: " + e.Reason
}

// Is reports whether target is ErrCredentials.
func (e *CredentialsError) Is(target error) bool { return target == ErrCredentials }

// Unwrap returns the underlying error.
func (e *CredentialsError) Unwrap() error { return e.Err }

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

// MaxIdlePerHost is how many idle connections to a provider the senders'
// default HTTP client keeps, rather than http.DefaultTransport's 2: with
// more delivery workers than that, most sends would open a new TLS
// connection, whose handshake delays them (and, for Slack, eats the pace's
// margin).
const MaxIdlePerHost = 64

// DefaultHTTPClient is the client a sender uses when given none:
// http.DefaultTransport's settings, keeping MaxIdlePerHost idle
// connections per host.
func DefaultHTTPClient() *http.Client {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return &http.Client{}
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = MaxIdlePerHost
	return &http.Client{Transport: t}
}
