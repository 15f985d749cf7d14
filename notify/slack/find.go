package slack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/crmsync/crmsync/notify"
)

// Page sizes of the lookups: Slack recommends no more than 200 items a
// page.
const (
	historyPage = 200
	listPage    = 200
	maxPages    = 50 // pages of one lookup before giving up: cannot tell
)

// Find reports whether m was already posted since since: it looks, in the
// conversation m goes to (the rep's DM, the fallback channel, or the
// channel), for a message whose metadata carries m's ledger key, with
// conversations.history from since on, page by page. It needs the
// history scopes of the manifest (and channels:read and groups:read for a
// "#name"). An error wrapping notify.ErrPermanent means it cannot tell
// (a missing scope, a channel gone): looking again will not help; a
// *notify.CredentialsError concerns the whole channel; any other error is
// transient.
func (s *Sender) Find(ctx context.Context, m *notify.Message, since time.Time) (bool, error) {
	if m == nil || m.LedgerKey == "" {
		return false, fmt.Errorf("slack find: no ledger key: %w", notify.ErrPermanent)
	}
	dest, err := s.destination(ctx, strings.TrimSpace(m.To))
	if err != nil {
		return false, err
	}
	channel, err := s.conversationID(ctx, dest)
	if err != nil {
		return false, err
	}
	return s.search(ctx, channel, m.LedgerKey, since)
}

// search pages through channel's history from since on for a message of
// crmsync's carrying key.
func (s *Sender) search(ctx context.Context, channel, key string, since time.Time) (bool, error) {
	params := &slackapi.GetConversationHistoryParameters{
		ChannelID: channel, Oldest: slackTS(since), Limit: historyPage, IncludeAllMetadata: true,
	}
	for range maxPages {
		var resp *slackapi.GetConversationHistoryResponse
		err := s.call(ctx, "conversations.history", channel, func(ctx context.Context) (err error) {
			resp, err = s.api.GetConversationHistoryContext(ctx, params)
			return err
		})
		if err != nil {
			return false, cannotTell(err)
		}
		if slices.ContainsFunc(resp.Messages, func(msg slackapi.Message) bool { return carries(msg, key) }) {
			return true, nil
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
		if !resp.HasMore || params.Cursor == "" {
			return false, nil
		}
	}
	return false, fmt.Errorf("slack find in %s: more than %d pages of history: %w", channel, maxPages, notify.ErrPermanent)
}

// carries reports whether msg is crmsync's post of the ledger key.
func carries(msg slackapi.Message, key string) bool {
	md := msg.Metadata
	return md.EventType == MetadataEventType && md.EventPayload[MetadataLedgerKey] == key
}

// cannotTell turns what a lookup's missing scope means into the
// permanent "cannot tell" it is: the channel can still post.
func cannotTell(err error) error {
	var cred *notify.CredentialsError
	if errors.As(err, &cred) && slackCode(err) == "missing_scope" {
		return fmt.Errorf("slack find: %s: %w", cred.Reason, notify.ErrPermanent)
	}
	return err
}

// slackTS formats t as a Slack timestamp ("1700000000.000100").
func slackTS(t time.Time) string {
	us := t.UnixMicro()
	return strconv.FormatInt(us/1e6, 10) + "." + fmt.Sprintf("%06d", us%1e6)
}

// conversationID returns the id of the conversation a post to dest lands
// in: dest itself for a conversation id, the DM for a user id, the
// channel's id for a "#name".
func (s *Sender) conversationID(ctx context.Context, dest string) (string, error) {
	switch {
	case strings.HasPrefix(dest, "#"):
		return s.channelByName(ctx, strings.TrimPrefix(dest, "#"))
	case strings.HasPrefix(dest, "U"), strings.HasPrefix(dest, "W"):
		return s.openDM(ctx, dest)
	}
	return dest, nil
}

// channelByName returns the id of the public or private channel name,
// from conversations.list, cached.
func (s *Sender) channelByName(ctx context.Context, name string) (string, error) {
	key := "channel:" + name
	if id, ok := s.cache.get(key); ok {
		return id, nil
	}
	params := &slackapi.GetConversationsParameters{
		ExcludeArchived: true, Limit: listPage, Types: []string{"public_channel", "private_channel"},
	}
	for range maxPages {
		var channels []slackapi.Channel
		err := s.call(ctx, "conversations.list", name, func(ctx context.Context) (err error) {
			channels, params.Cursor, err = s.api.GetConversationsContext(ctx, params)
			return err
		})
		if err != nil {
			return "", cannotTell(err)
		}
		for _, c := range channels {
			s.cache.put("channel:"+c.Name, c.ID)
		}
		if i := slices.IndexFunc(channels, func(c slackapi.Channel) bool { return c.Name == name }); i >= 0 {
			return channels[i].ID, nil
		}
		if params.Cursor == "" {
			break
		}
	}
	return "", fmt.Errorf("slack find: no channel #%s: %w", name, notify.ErrPermanent)
}

// requiredScopes are the scopes without which nothing can be posted.
var requiredScopes = []string{"chat:write"}

// Probe checks, without posting, that Slack accepts the token: auth.test
// must succeed, and the token must have chat:write (when Slack lists the
// token's scopes, in the X-OAuth-Scopes header). It returns a
// *notify.CredentialsError while Slack refuses it, and a plain error when
// Slack could not be asked.
func (s *Sender) Probe(ctx context.Context) error {
	var resp *slackapi.AuthTestResponse
	err := s.call(ctx, "auth.test", "token", func(ctx context.Context) (err error) {
		resp, err = s.api.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		return err
	}
	listed := resp.Header.Get("X-OAuth-Scopes")
	if listed == "" {
		return nil
	}
	have := strings.Split(strings.ReplaceAll(listed, " ", ""), ",")
	for _, need := range requiredScopes {
		if !slices.Contains(have, need) {
			return &notify.CredentialsError{Provider: "slack", Reason: "auth.test: the token lacks the scope " + need,
				Fix: credentialCodes["missing_scope"]}
		}
	}
	return nil
}
