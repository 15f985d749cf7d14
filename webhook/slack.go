package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	nslack "github.com/crmsync/crmsync/notify/slack"
)

// Limits of the Slack interactivity endpoint.
const (
	// SlackMaxBody is the largest interaction payload accepted, in bytes.
	SlackMaxBody = 1 << 20
	// SlackReplayTTL is how long a request signature is remembered: longer
	// than the timestamp window, after which a replay is refused as stale.
	SlackReplayTTL = 10 * time.Minute
)

// Slack request headers, and the version prefix of the signatures this
// handler verifies ("v0=" and the hex HMAC-SHA256 of the request).
const (
	slackSignatureHeader  = "X-Slack-Signature"
	slackTimestampHeader  = "X-Slack-Request-Timestamp"
	slackSignatureVersion = "v0="
)

// Action is a click on a nudge button, to be carried out on the queue.
type Action struct {
	Kind      string    // KindSnooze or KindContacted
	AccountID string    // internal account id
	Rule      string    // rule that flagged the account
	UserID    string    // Slack user who clicked
	UserName  string    // their Slack user name
	At        time.Time // when clicked (the request timestamp)
}

// ActionQueue takes clicks for later processing: the handler must answer
// Slack within 3 seconds, so nothing slow happens in the request.
type ActionQueue interface {
	EnqueueAction(ctx context.Context, a Action) error
}

// Slack handles Slack's interactivity requests: clicks on the "Snooze 30
// days" and "Mark as contacted" buttons of nudges. It is safe for
// concurrent use.
type Slack struct {
	// Now is the clock used to refuse timestamps from the future; time.Now
	// by default. slack-go's verifier also checks against time.Now.
	Now func() time.Time

	secret  string
	queue   ActionQueue
	deduper Deduper
	logger  *slog.Logger
}

// NewSlack returns the interactivity handler. signingSecret is the app's
// Signing Secret (Basic Information → App Credentials).
func NewSlack(signingSecret string, q ActionQueue, d Deduper, logger *slog.Logger) *Slack {
	return &Slack{
		Now:     time.Now,
		secret:  signingSecret,
		queue:   q,
		deduper: d,
		logger:  orDiscard(logger).With("webhook", "slack"),
	}
}

// ServeHTTP verifies one interaction, enqueues the button clicks it carries
// and answers 200 with an empty body. A replayed request is acknowledged
// and not acted upon.
func (h *Slack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	body, err := readBody(w, r, SlackMaxBody)
	if err != nil {
		http.Error(w, "cannot read body", bodyStatus(err))
		return
	}
	at, key, status := h.verify(r.Header, body)
	if status != http.StatusOK {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if status := h.process(r, body, at, key); status != http.StatusOK {
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// verify checks the signature and the timestamp of a request. With 200, the
// request is genuine and fresh, and verify returns its timestamp and its
// replay key.
func (h *Slack) verify(header http.Header, body []byte) (time.Time, string, int) {
	if h.secret == "" || h.queue == nil || h.deduper == nil {
		h.logger.Error("webhook: slack: handler not configured (signing secret, queue or deduper missing)")
		return time.Time{}, "", http.StatusInternalServerError
	}
	at, fresh := unixTimestamp(header.Get(slackTimestampHeader), h.Now())
	if !fresh {
		h.logger.Warn("webhook: slack: request refused", "err", "timestamp missing, malformed or outside the window")
		return time.Time{}, "", http.StatusUnauthorized
	}
	sig, ok := slackSignature(header.Get(slackSignatureHeader))
	if !ok {
		h.logger.Warn("webhook: slack: request refused", "err", "signature missing or not v0= and 64 hex digits")
		return time.Time{}, "", http.StatusUnauthorized
	}
	sv, err := slack.NewSecretsVerifier(header, h.secret)
	if err == nil {
		_, _ = sv.Write(body) // an HMAC never fails to write
		err = sv.Ensure()
	}
	if err != nil {
		h.logger.Warn("webhook: slack: request refused", "err", err)
		return time.Time{}, "", http.StatusUnauthorized
	}
	return at, slackReplayKey(at, sig), http.StatusOK
}

// slackReplayKey is what the replay check remembers of a request: its
// timestamp and its signature, "v0=" and lower-case hex.
func slackReplayKey(at time.Time, sig []byte) string {
	return "slack:" + strconv.FormatInt(at.Unix(), 10) + ":" + slackSignatureVersion + hex.EncodeToString(sig)
}

// slackSignature decodes a signature header, "v0=" and the hex digits of
// an HMAC-SHA256 in either case, and reports whether it is one. Replays are
// keyed on the decoded bytes, so the same signature written in another
// case is the same request.
func slackSignature(header string) ([]byte, bool) {
	digits, ok := strings.CutPrefix(header, slackSignatureVersion)
	if !ok || len(digits) != hex.EncodedLen(sha256.Size) {
		return nil, false
	}
	sig, err := hex.DecodeString(digits)
	return sig, err == nil
}

// process drops replays, parses the payload and enqueues its clicks. It
// returns the HTTP status to answer.
func (h *Slack) process(r *http.Request, body []byte, at time.Time, key string) int {
	ctx := r.Context()
	first, err := h.deduper.FirstSeen(ctx, key, SlackReplayTTL)
	if err != nil {
		h.logger.Error("webhook: slack: replay check", "err", err)
		return http.StatusInternalServerError
	}
	if !first {
		h.logger.Warn("webhook: slack: replayed request ignored")
		return http.StatusOK
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		h.logger.Warn("webhook: slack: bad payload", "err", err)
		return http.StatusBadRequest
	}
	if err := h.enqueue(ctx, ic, at); err != nil {
		h.logger.Error("webhook: slack: enqueue action", "err", err)
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

// enqueue queues the nudge-button clicks of ic; other interactions and
// other actions (the "View in CRM" link) are ignored.
func (h *Slack) enqueue(ctx context.Context, ic slack.InteractionCallback, at time.Time) error {
	if ic.Type != slack.InteractionTypeBlockActions {
		return nil
	}
	var errs []error
	for _, ba := range ic.ActionCallback.BlockActions {
		a, ok := h.action(ba, ic.User, at)
		if !ok {
			continue
		}
		if err := h.queue.EnqueueAction(ctx, a); err != nil {
			errs = append(errs, err)
			continue
		}
		h.logger.Info("webhook: slack: action queued", "kind", a.Kind, "account", a.AccountID, "rule", a.Rule, "user", a.UserID)
	}
	return errors.Join(errs...)
}

// action turns a click into an Action, or reports false for a click that
// is not one of ours or carries an unreadable value.
func (h *Slack) action(ba *slack.BlockAction, u slack.User, at time.Time) (Action, bool) {
	id, value := nslack.Chosen(ba.ActionID, ba.Value, ba.SelectedOption.Value) // a digest's menu: the option chosen
	kind := actionKind(id)
	if kind == "" {
		return Action{}, false
	}
	account, rule, err := nslack.ParseButtonValue(value)
	if err != nil {
		h.logger.Warn("webhook: slack: button ignored", "action_id", ba.ActionID, "err", err)
		return Action{}, false
	}
	return Action{
		Kind:      kind,
		AccountID: account,
		Rule:      rule,
		UserID:    u.ID,
		UserName:  cmp.Or(u.Username, u.Name),
		At:        at.UTC(),
	}, true
}
