package slack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/crmsync/crmsync/notify"
)

// Defaults of SenderConfig.
const (
	// DefaultBaseURL is the root of Slack's Web API.
	DefaultBaseURL = "https://slack.com/api/"
	// DefaultTimeout bounds one API call.
	DefaultTimeout = 10 * time.Second
	// DefaultLookupTTL is how long a users.lookupByEmail answer is kept.
	DefaultLookupTTL = time.Hour
	// DefaultPerChannelEvery spaces posts to one channel: Slack allows
	// chat.postMessage about one message per second per channel, and the
	// extra 200ms absorb what delays one post more than the next (a new
	// connection, the network, a busy CPU) before it reaches Slack.
	DefaultPerChannelEvery = 1200 * time.Millisecond
)

const (
	// maxPaceWait is the longest a Send waits for its channel's turn; a
	// longer wait is returned as a notify.RateLimitError so the worker
	// serves other channels meanwhile.
	maxPaceWait = 2 * time.Second
	// defaultRetryAfter is used for a 429 without a usable Retry-After
	// (slack-go's own retry handler waits 60s in that case).
	defaultRetryAfter = time.Minute
)

// SenderConfig configures a Sender.
//
// The Slack app behind Token is created from this manifest
// (api.slack.com/apps → Create New App → From an app manifest):
//
//	display_information:
//	  name: crmsync
//	  description: Nudges sales reps about clients drifting away
//	features:
//	  bot_user:
//	    display_name: crmsync
//	    always_online: false
//	oauth_config:
//	  scopes:
//	    bot:
//	      - chat:write
//	      - users:read
//	      - users:read.email
//	      - im:write
//	      - im:history
//	      - channels:history
//	      - groups:history
//	      - channels:read
//	      - groups:read
//	settings:
//	  interactivity:
//	    is_enabled: true
//	    request_url: https://<host>/slack/interactions
//	  org_deploy_enabled: false
//	  socket_mode_enabled: false
//	  token_rotation_enabled: false
//
// chat:write posts (chat.postMessage), users:read.email (with users:read)
// finds a rep's account from the CRM owner's email (users.lookupByEmail),
// im:write opens the DM with the rep (conversations.open). The history
// scopes let crmsync look for a message it may already have posted before
// posting it again (conversations.history on a DM, a public and a private
// channel), after a crash left its outcome unknown; channels:read and
// groups:read find the id of a channel named "#name" (conversations.list).
// Without them, such a message stays unknown until an operator resends it.
// The request URL receives the Snooze and Contacted buttons; <host> is
// where crmsync's HTTP server is reachable from Slack over HTTPS.
//
// Then Install to Workspace, and copy the Bot User OAuth Token (xoxb-…)
// from OAuth & Permissions into notify.slack.token (SLACK_BOT_TOKEN), and
// the Signing Secret from Basic Information → App Credentials into
// notify.slack.signing_secret (SLACK_SIGNING_SECRET), which verifies the
// button clicks. Invite the bot (/invite @crmsync) to FallbackChannel and
// to every channel a rule posts to, or Slack answers not_in_channel.
type SenderConfig struct {
	Token           string        // bot token (xoxb-…), required
	BaseURL         string        // Web API root, default DefaultBaseURL; a missing final "/" is added
	FallbackChannel string        // "#name" or channel id for reps without a Slack account; "" → permanent error
	Timeout         time.Duration // per API call, default DefaultTimeout
	LookupTTL       time.Duration // how long users.lookupByEmail answers (hits and misses) are kept, default DefaultLookupTTL
	PerChannelEvery time.Duration // minimum interval between posts to one channel (by all Senders sharing the pace, see SharePacing), default DefaultPerChannelEvery
}

// channelRE matches a conversation id: public or private channel, DM, or a
// user id (chat.postMessage then posts in the app's DM with that user).
var channelRE = regexp.MustCompile(`^[CGDUW][A-Z0-9]{2,}$`)

// isChannel reports whether to names a conversation rather than an email.
func isChannel(to string) bool {
	return strings.HasPrefix(to, "#") && len(to) > 1 || channelRE.MatchString(to)
}

// withDefaults validates c and fills in its defaults. Errors never quote
// the token.
func (c SenderConfig) withDefaults() (SenderConfig, error) {
	if strings.TrimSpace(c.Token) == "" {
		return c, errors.New("slack sender: token is required")
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if !strings.HasSuffix(c.BaseURL, "/") {
		c.BaseURL += "/"
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return c, fmt.Errorf("slack sender: base url %q: want an http(s) url", c.BaseURL)
	}
	if c.FallbackChannel != "" && !isChannel(c.FallbackChannel) {
		return c, fmt.Errorf("slack sender: fallback channel %q: want \"#name\" or a channel id", c.FallbackChannel)
	}
	if c.Timeout < 0 || c.LookupTTL < 0 || c.PerChannelEvery < 0 {
		return c, errors.New("slack sender: timeout, lookup ttl and per-channel interval must not be negative")
	}
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.LookupTTL = cmp.Or(c.LookupTTL, DefaultLookupTTL)
	c.PerChannelEvery = cmp.Or(c.PerChannelEvery, DefaultPerChannelEvery)
	return c, nil
}

// Sender delivers Slack messages through the Web API: a DM to the rep
// named by email, or a post to a channel. It is safe for concurrent use.
// It never retries by itself: it classifies failures for the queue
// (notify.ErrPermanent for one message, *notify.CredentialsError for the
// whole channel, *notify.RateLimitError, notify.ErrOutcomeUnknown when a
// post may have gone through, or a plain retryable error).
//
// Every post carries its ledger key in its message metadata (event type
// MetadataEventType), so that Find can tell whether it went through.
type Sender struct {
	api   *slackapi.Client
	cfg   SenderConfig
	cache *ttlCache
	pace  turns // in process, or shared through Redis (SharePacing)
}

var _ notify.Sender = (*Sender)(nil)

// NewSender returns a Sender for cfg that makes its calls with client
// (when nil, notify.DefaultHTTPClient: up to notify.MaxIdlePerHost
// idle connections to Slack). Pass a client without its
// own retries: a retried chat.postMessage can post twice.
func NewSender(cfg SenderConfig, client *http.Client) (*Sender, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = notify.DefaultHTTPClient()
	}
	api := slackapi.New(cfg.Token, slackapi.OptionHTTPClient(client), slackapi.OptionAPIURL(cfg.BaseURL))
	return &Sender{
		api:   api,
		cfg:   cfg,
		cache: newTTLCache(cfg.LookupTTL, time.Now),
		pace:  newPacer(cfg.PerChannelEvery),
	}, nil
}

// Send posts m: to the rep's DM when m.To is an email address (or to the
// fallback channel when the rep has no Slack account), else to the channel
// m.To. m.Text and m.Blocks are sent as they are: they were escaped when
// rendered.
func (s *Sender) Send(ctx context.Context, m *notify.Message) error {
	if m == nil {
		return fmt.Errorf("slack send: nil message: %w", notify.ErrPermanent)
	}
	m, err := s.mentions(ctx, m)
	if err != nil {
		return err
	}
	opts, err := messageOptions(m)
	if err != nil {
		return err
	}
	channel, err := s.destination(ctx, strings.TrimSpace(m.To))
	if err != nil {
		return err
	}
	return s.post(ctx, channel, opts)
}

// mentions returns m with its owner mentions (see ReplaceMentions)
// resolved: "<@U…>" for an owner whose email has an active Slack
// account, else the owner's escaped name. m itself is not changed.
// Lookups share the cache of DM recipients.
func (s *Sender) mentions(ctx context.Context, m *notify.Message) (*notify.Message, error) {
	owners, err := Mentions(m)
	if err != nil {
		return nil, fmt.Errorf("slack send: %w: %w", err, notify.ErrPermanent)
	}
	if len(owners) == 0 {
		return m, nil
	}
	ids := map[MentionOwner]string{}
	for _, o := range owners {
		if !strings.Contains(o.Email, "@") {
			continue
		}
		if ids[o], err = s.lookup(ctx, o.Email); err != nil {
			return nil, err
		}
	}
	out := *m
	err = ReplaceMentions(&out, func(o MentionOwner) string {
		if id := ids[o]; id != "" {
			return "<@" + id + ">"
		}
		return NameMention(o)
	})
	if err != nil {
		return nil, fmt.Errorf("slack send: %w: %w", err, notify.ErrPermanent)
	}
	return &out, nil
}

// Message metadata of every post: its ledger key under
// MetadataLedgerKey in an event of type MetadataEventType.
const (
	MetadataEventType = "crmsync_message"
	MetadataLedgerKey = "ledger_key"
)

// messageOptions are the chat.postMessage options for m.
func messageOptions(m *notify.Message) ([]slackapi.MsgOption, error) {
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(m.Text, false), // already escaped
		slackapi.MsgOptionDisableLinkUnfurl(),
		slackapi.MsgOptionDisableMediaUnfurl(),
	}
	if m.LedgerKey != "" {
		opts = append(opts, slackapi.MsgOptionMetadata(slackapi.SlackMetadata{
			EventType: MetadataEventType, EventPayload: map[string]any{MetadataLedgerKey: m.LedgerKey},
		}))
	}
	if len(m.Blocks) == 0 || string(m.Blocks) == "null" {
		return opts, nil
	}
	var blocks slackapi.Blocks
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		return nil, fmt.Errorf("slack send: decode blocks: %w: %w", err, notify.ErrPermanent)
	}
	return append(opts, slackapi.MsgOptionBlocks(blocks.BlockSet...)), nil
}

// destination resolves the recipient to to the channel to post in.
func (s *Sender) destination(ctx context.Context, to string) (string, error) {
	switch {
	case isChannel(to):
		return to, nil
	case strings.Contains(to, "@"):
		return s.directChannel(ctx, to)
	default:
		return "", fmt.Errorf("slack send: recipient %q is neither an email nor a channel: %w", to, notify.ErrPermanent)
	}
}

// noDM are conversations.open errors meaning the rep cannot get a DM.
var noDM = map[string]bool{
	"user_not_found": true, "user_not_visible": true, "user_disabled": true, "cannot_dm_bot": true,
}

// directChannel returns the DM channel with the rep whose Slack account
// has email, or the fallback channel when there is no such account.
func (s *Sender) directChannel(ctx context.Context, email string) (string, error) {
	user, err := s.lookup(ctx, email)
	if err != nil {
		return "", err
	}
	if user == "" {
		return s.fallback(email)
	}
	channel, err := s.openDM(ctx, user)
	if noDM[slackCode(err)] {
		return s.fallback(email)
	}
	return channel, err
}

// fallback is where a nudge goes when the rep has no Slack account.
func (s *Sender) fallback(email string) (string, error) {
	if s.cfg.FallbackChannel == "" {
		return "", fmt.Errorf("slack send: no slack account for %s and no fallback channel: %w", email, notify.ErrPermanent)
	}
	return s.cfg.FallbackChannel, nil
}

// lookup returns the id of the active Slack user with email, or "" when
// there is none. Answers are cached, misses included.
func (s *Sender) lookup(ctx context.Context, email string) (string, error) {
	key := "email:" + strings.ToLower(email)
	if id, ok := s.cache.get(key); ok {
		return id, nil
	}
	var user *slackapi.User
	err := s.call(ctx, "users.lookupByEmail", email, func(ctx context.Context) (err error) {
		user, err = s.api.GetUserByEmailContext(ctx, email)
		return err
	})
	switch {
	case slackCode(err) == "users_not_found":
		s.cache.put(key, "")
		return "", nil
	case err != nil:
		return "", err
	}
	id := user.ID
	if user.Deleted || user.IsBot {
		id = ""
	}
	s.cache.put(key, id)
	return id, nil
}

// openDM returns the id of the DM channel with user, cached.
func (s *Sender) openDM(ctx context.Context, user string) (string, error) {
	key := "dm:" + user
	if id, ok := s.cache.get(key); ok {
		return id, nil
	}
	var channel *slackapi.Channel
	err := s.call(ctx, "conversations.open", user, func(ctx context.Context) (err error) {
		channel, _, _, err = s.api.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{Users: []string{user}})
		return err
	})
	if err != nil {
		return "", err
	}
	if channel == nil || channel.ID == "" {
		return "", fmt.Errorf("slack conversations.open %s: no channel in answer", user)
	}
	s.cache.put(key, channel.ID)
	return channel.ID, nil
}

// post waits for channel's turn, then calls chat.postMessage. A 429
// holds the channel for its Retry-After, for every Sender sharing the
// pace; failing to record the hold changes nothing to the answer, which
// is a *notify.RateLimitError either way.
func (s *Sender) post(ctx context.Context, channel string, opts []slackapi.MsgOption) error {
	if err := s.waitTurn(ctx, channel); err != nil {
		return err
	}
	err := s.call(ctx, "chat.postMessage", channel, func(ctx context.Context) error {
		_, _, err := s.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	var limited *notify.RateLimitError
	if errors.As(err, &limited) {
		_ = s.pace.hold(context.WithoutCancel(ctx), channel, limited.After)
	}
	return err
}

// call runs fn, one call to method about scope, with the per-call timeout
// and classifies its error.
func (s *Sender) call(ctx context.Context, method, scope string, fn func(context.Context) error) error {
	if err := context.Cause(ctx); err != nil { // nothing sent
		return fmt.Errorf("slack %s %s: %w", method, scope, err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	err := fn(cctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() == nil && cctx.Err() != nil:
		return unsure(method, fmt.Errorf("slack %s %s: timed out after %s: %w", method, scope, s.cfg.Timeout, err))
	default:
		return classify(method, scope, err)
	}
}

// unsure marks err, a failed call that may have reached Slack, with
// notify.ErrOutcomeUnknown when the call was a post: it may have gone
// through.
func unsure(method string, err error) error {
	if method != "chat.postMessage" {
		return err
	}
	return fmt.Errorf("%w: %w", err, notify.ErrOutcomeUnknown)
}

// credentialCodes are Slack error codes that concern the token or the app
// rather than one message: the whole channel pauses until they are fixed.
// Each maps to what to do about it.
var credentialCodes = map[string]string{
	"invalid_auth":            "check notify.slack.token: the Bot User OAuth Token (xoxb-…) of the installed app",
	"not_authed":              "set notify.slack.token: the Bot User OAuth Token (xoxb-…) of the installed app",
	"account_inactive":        "the app's bot user was deactivated or the app uninstalled: reinstall it and update notify.slack.token",
	"token_revoked":           "the token was revoked (app uninstalled or reinstalled): update notify.slack.token with the current Bot User OAuth Token",
	"token_expired":           "the token expired (token rotation is on): turn token rotation off or update notify.slack.token",
	"missing_scope":           "add the missing scope to the app (see the manifest in the README), reinstall it and update notify.slack.token",
	"not_allowed_token_type":  "notify.slack.token must be a bot token (xoxb-…), not a user or app-level token",
	"team_access_not_granted": "the app is not granted access to this workspace: an admin must approve or install it",
	"ekm_access_denied":       "the workspace's Enterprise Key Management revoked access: a Slack admin must restore it",
}

// permanentCodes are Slack error codes that retrying cannot fix and that
// concern one message: its destination or its content.
var permanentCodes = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "no_permission": true,
	"restricted_action": true, "invalid_blocks": true, "invalid_blocks_format": true, "msg_too_long": true,
	"no_text": true, "too_many_attachments": true, "invalid_arguments": true, "invalid_arg_name": true,
	"invalid_charset": true, "invalid_form_data": true, "invalid_metadata_format": true,
	"invalid_metadata_schema": true, "metadata_too_large": true,
	"user_not_found": true, "user_not_visible": true, "user_disabled": true, "cannot_dm_bot": true,
}

// classify turns a slack-go error from one call to method about scope
// into a *notify.RateLimitError, a *notify.CredentialsError, an error
// wrapping notify.ErrPermanent, or a retryable one (marked
// notify.ErrOutcomeUnknown when a post may have gone through).
func classify(method, scope string, err error) error {
	limitScope := method // lookups and opens are limited per method
	if method == "chat.postMessage" {
		limitScope = scope // posts per channel
	}
	var limited *slackapi.RateLimitedError
	var status slackapi.StatusCodeError
	code := slackCode(err)
	switch {
	case errors.As(err, &limited):
		return &notify.RateLimitError{Provider: "slack", Scope: limitScope, After: cmp.Or(limited.RetryAfter, defaultRetryAfter)}
	case errors.As(err, &status) && status.Code == http.StatusTooManyRequests:
		return &notify.RateLimitError{Provider: "slack", Scope: limitScope, After: defaultRetryAfter}
	case credentialCodes[code] != "":
		return credentialsError(method, code, err)
	case errors.As(err, &status) && (status.Code == http.StatusUnauthorized || status.Code == http.StatusForbidden):
		return &notify.CredentialsError{Provider: "slack", Reason: fmt.Sprintf("%s: %s", method, err),
			Fix: credentialCodes["invalid_auth"], Err: err}
	case permanentCodes[code],
		errors.As(err, &status) && status.Code >= 400 && status.Code < 500 && status.Code != http.StatusRequestTimeout:
		return fmt.Errorf("slack %s %s: %w: %w", method, scope, err, notify.ErrPermanent)
	case code == "" && !errors.As(err, &status) && !refusedConnection(err):
		return unsure(method, fmt.Errorf("slack %s %s: %w", method, scope, err)) // lost mid-call
	default:
		return fmt.Errorf("slack %s %s: %w", method, scope, err)
	}
}

// credentialsError is the channel-wide failure a credential code means.
// The reason names the method and, for missing_scope, the scope needed.
func credentialsError(method, code string, err error) *notify.CredentialsError {
	reason := method + ": " + code
	var resp slackapi.SlackErrorResponse
	if errors.As(err, &resp) && resp.Needed != "" {
		reason += " (needed: " + resp.Needed + ")"
	}
	return &notify.CredentialsError{Provider: "slack", Reason: reason, Fix: credentialCodes[code], Err: err}
}

// refusedConnection reports whether err is a failure to connect (or to
// find the host): the call surely never reached Slack.
func refusedConnection(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial"
}

// slackCode returns the Slack error code err carries ("channel_not_found"),
// or "".
func slackCode(err error) string {
	var resp slackapi.SlackErrorResponse
	if errors.As(err, &resp) {
		return resp.Err
	}
	return ""
}

// pruneAt is the size above which the cache and the pacer drop stale
// entries.
const pruneAt = 4096

// ttlCache maps keys to strings for a while. It is safe for concurrent use.
type ttlCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry
}

// cacheEntry is a cached value and when it stops being valid.
type cacheEntry struct {
	value   string
	expires time.Time
}

// newTTLCache returns an empty cache keeping values for ttl by the clock now.
func newTTLCache(ttl time.Duration, now func() time.Time) *ttlCache {
	return &ttlCache{ttl: ttl, now: now, entries: make(map[string]cacheEntry)}
}

// get returns the value of key and whether it was cached and fresh.
func (c *ttlCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		return "", false
	}
	return e.value, true
}

// put caches value under key for the cache's ttl.
func (c *ttlCache) put(key, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= pruneAt {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
	}
	c.entries[key] = cacheEntry{value: value, expires: now.Add(c.ttl)}
}
