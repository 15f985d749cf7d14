// Package slack renders the Slack nudges crmsync sends about a client: a
// fallback text and Block Kit blocks, ready for notify.Message.Text and
// notify.Message.Blocks, in the language of notify.Data.Locale. Delivery
// is the job of a notify.Sender (the outbox, or chat.postMessage through
// slack-go, see Sender).
//
// Every string that comes from a CRM is escaped: see Escape. A channel
// copy names the account's owner with a mention placeholder that only
// this package writes; the Sender replaces it with a real mention (see
// ReplaceMentions).
package slack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/locale"
)

// Slack's limits on Block Kit (docs.slack.dev/reference/block-kit).
const (
	maxHeader      = 150  // header block text
	maxText        = 3000 // section and context text, fallback text
	maxField       = 2000 // one section field
	maxFields      = 10   // fields of one section
	maxURL         = 3000 // button url
	maxValue       = 2000 // button value
	maxOptionValue = 150  // overflow option value
	maxBlocks      = 50   // blocks of one message
)

// Block and action ids, for the interactivity handler.
const (
	ActionOpenCRM = "open_crm" // action_id of the "View in CRM" link button
)

// Audience is who reads a message: the owning rep in a DM, or everyone
// in a channel, where the owner is mentioned and the wording is not
// addressed to "you".
type Audience int

// Audiences.
const (
	ToRep Audience = iota
	ToChannel
)

// channelIDRE matches the id of a public or private channel.
var channelIDRE = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)

// AudienceOf returns ToChannel for a recipient that is a channel ("#name",
// or an id C… or G…) and ToRep for anyone else (an email, a user or DM
// id).
func AudienceOf(to string) Audience {
	to = strings.TrimSpace(to)
	if len(to) > 1 && strings.HasPrefix(to, "#") || channelIDRE.MatchString(to) {
		return ToChannel
	}
	return ToRep
}

// Render builds the nudge about d for aud: the fallback text shown in
// notifications and the Block Kit blocks as JSON. Its headline is
// d.Title (the rule's, rendered), else a neutral one in d.Locale; the
// severity only picks the emoji. text is the rule's custom line as the
// rules package renders it: mrkdwn written by sales ops in which every CRM
// value was already passed through Escape, so it is used as is (escaping
// it again would show "&amp;lt;"). When it is empty a line is built from
// the figures. A channel copy (ToChannel) mentions the owner.
func Render(d notify.Data, text string, aud Audience) (fallback string, blocks json.RawMessage, err error) {
	l := locale.For(d.Locale)
	line := whyLine(d, l, text)
	list := newBlockList(2048)
	list.header(emoji(d.Severity) + " " + escapeControl(headline(d, l)))
	list.section(why(d, line))
	figures(list, d, l, aud)
	if s := contactText(d, l); s != "" {
		list.section(s)
	}
	footer(list, d, l)
	actions(list, d, l)
	return truncate(escapeControl(headline(d, l))+" — "+line, maxText), list.json(), nil
}

// headline is the plain-text summary: the rule's title for the account,
// else "Client needs attention: Acme". A title that is the rule's
// description (a rule without a title of its own) is followed by the
// account's name unless it names it.
func headline(d notify.Data, l locale.Locale) string {
	name := oneLine(d.Account.Name)
	t := oneLine(d.Title)
	switch {
	case t == "":
		return fmt.Sprintf(l.T().Headline, name)
	case t == oneLine(d.Description) && name != "" && !strings.Contains(t, name):
		return t + l.T().Colon + name
	}
	return t
}

// emoji is how a severity is shown; unknown ones look like info.
func emoji(severity string) string {
	switch strings.ToLower(severity) {
	case "critical":
		return ":warning:"
	case "warning":
		return ":eyes:"
	default:
		return ":wave:"
	}
}

// SeverityRank orders severities, most urgent first: critical 0,
// warning 1, anything else 2.
func SeverityRank(severity string) int {
	switch strings.ToLower(severity) {
	case "critical":
		return 0
	case "warning":
		return 1
	default:
		return 2
	}
}

// oneLine joins the words of s with single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
