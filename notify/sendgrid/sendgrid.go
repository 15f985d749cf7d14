package sendgrid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmsync/crmsync/notify"
)

// Defaults applied by New.
const (
	DefaultBaseURL = "https://api.sendgrid.com"
	DefaultTimeout = 15 * time.Second
)

const (
	mailSendPath = "/v3/mail/send"
	maxBody      = 64 << 10 // bytes of a response body read for its error
	userAgent    = "crmsync (notify/sendgrid)"
)

// Config configures a Sender.
type Config struct {
	APIKey             string        // required; scope Mail Send
	BaseURL            string        // default DefaultBaseURL; EU: https://api.eu.sendgrid.com
	FromEmail          string        // required sender address; Message.From overrides it
	FromName           string        // sender display name
	UnsubscribeGroupID int           // ASM group id added to every email; 0 = none
	Sandbox            bool          // mail_settings.sandbox_mode: validated, not delivered
	Timeout            time.Duration // deadline of one call; default DefaultTimeout
}

// Sender sends email through the SendGrid v3 Mail Send API.
type Sender struct {
	cfg      Config
	endpoint string
	client   *http.Client
	now      func() time.Time
}

var _ notify.Sender = (*Sender)(nil)

// New returns a Sender for cfg after validating it. A nil client is
// replaced by notify.DefaultHTTPClient (idle connections kept for every
// delivery worker); the deadline of each call comes from cfg.Timeout
// either way.
func New(cfg Config, client *http.Client) (*Sender, error) {
	cfg.APIKey = strings.TrimSpace(cfg.APIKey)
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if err := validate(cfg); err != nil {
		return nil, fmt.Errorf("sendgrid config: %w", err)
	}
	if client == nil {
		client = notify.DefaultHTTPClient()
	}
	return &Sender{
		cfg:      cfg,
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + mailSendPath,
		client:   client,
		now:      time.Now,
	}, nil
}

// validate checks a Config whose defaults are set. Its messages never
// quote the API key or the base URL, which may carry credentials.
func validate(cfg Config) error {
	switch {
	case cfg.APIKey == "":
		return errors.New("missing api_key")
	case strings.ContainsFunc(cfg.APIKey, isSpaceOrControl):
		return errors.New("api_key contains whitespace or control characters")
	case cfg.FromEmail == "":
		return errors.New("missing from email")
	case cfg.UnsubscribeGroupID < 0:
		return errors.New("unsubscribe_group_id must not be negative")
	case cfg.Timeout < 0:
		return errors.New("timeout must not be negative")
	}
	if err := checkAddress(cfg.FromEmail); err != nil {
		return fmt.Errorf("from email: %w", err)
	}
	return checkBaseURL(cfg.BaseURL)
}

// checkBaseURL accepts an absolute http or https URL without query,
// fragment or credentials.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("base_url must be an absolute http or https URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("base_url must not carry credentials, a query or a fragment")
	}
	return nil
}

// Send delivers m as one email. An error wrapping notify.ErrPermanent must
// not be retried; a *notify.RateLimitError says when to try again; a
// *notify.CredentialsError concerns every email alike (the key or the
// sender is refused); one wrapping notify.ErrOutcomeUnknown may have been
// sent; any other error is transient.
func (s *Sender) Send(ctx context.Context, m *notify.Message) error {
	body, err := s.buildBody(m)
	if err != nil {
		return fmt.Errorf("sendgrid mail send: %w: %w", err, notify.ErrPermanent)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, s.cfg.Timeout,
		fmt.Errorf("sendgrid timeout reached (%s)", s.cfg.Timeout))
	defer cancel()
	return s.post(ctx, body)
}

// post sends one Mail Send request and maps its outcome to an error.
func (s *Sender) post(ctx context.Context, body []byte) error {
	if err := ctx.Err(); err != nil { // nothing sent
		return fmt.Errorf("sendgrid mail send: %w", withContext(ctx, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sendgrid mail send: %w: %w", err, notify.ErrPermanent)
	}
	req.Header.Set("Authorization", "Bearer "+s.cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("sendgrid mail send: %w", unsure(withContext(ctx, err)))
	}
	defer resp.Body.Close()
	// The status decides the outcome; a body cut short only loses the
	// reason of an error.
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
	return s.check(resp, data)
}

// withContext adds to err the error and the cause of a done ctx when err
// does not already wrap them, so errors.Is(err, context.DeadlineExceeded)
// holds and the message says which deadline was reached.
func withContext(ctx context.Context, err error) error {
	for _, e := range []error{context.Cause(ctx), ctx.Err()} {
		if e != nil && !errors.Is(err, e) {
			err = fmt.Errorf("%w: %w", err, e)
		}
	}
	return err
}

// unsure marks a transport error of a Mail Send call with
// notify.ErrOutcomeUnknown unless the request surely never reached
// SendGrid (the connection or the name lookup failed): after a timeout or a
// connection lost mid-call, the email may have been accepted, and SendGrid
// has no idempotency key to make a retry safe.
func unsure(err error) error {
	var op *net.OpError
	var dns *net.DNSError
	if errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial" {
		return err
	}
	return fmt.Errorf("%w: %w", err, notify.ErrOutcomeUnknown)
}

// redact removes the API key from text that may echo it.
func (s *Sender) redact(text string) string {
	return strings.ReplaceAll(text, s.cfg.APIKey, "<redacted>")
}
