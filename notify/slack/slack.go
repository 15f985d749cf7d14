// Package slack renders the Slack nudges crmsync sends to the sales rep who
// owns a client: a fallback text and Block Kit blocks, ready for
// notify.Message.Text and notify.Message.Blocks. Delivery is the job of a
// notify.Sender (the outbox, or chat.postMessage through slack-go).
//
// Every string that comes from a CRM is escaped: see Escape.
package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/crmsync/crmsync/notify"
)

// Slack's limits on Block Kit (docs.slack.dev/reference/block-kit).
const (
	maxHeader = 150  // header block text
	maxText   = 3000 // section and context text, fallback text
	maxField  = 2000 // one section field
	maxFields = 10   // fields of one section
	maxURL    = 3000 // button url
	maxValue  = 2000 // button value
)

// Block and action ids, for the interactivity handler.
const (
	ActionOpenCRM = "open_crm" // action_id of the "View in CRM" link button
)

// Render builds the nudge to the owning rep about d: the fallback text shown
// in notifications and the Block Kit blocks as JSON. text is the rule's
// custom line as the rules package renders it: mrkdwn written by sales ops
// in which every CRM value was already passed through Escape, so it is used
// as is (escaping it again would show "&amp;lt;"). When it is empty a
// default line for d.Severity is used, built here with Escape.
func Render(d notify.Data, text string) (fallback string, blocks json.RawMessage, err error) {
	line := whyLine(d, text)
	list := []slackapi.Block{
		header(d),
		section(why(d, line)),
		figures(d),
	}
	if b := contactBlock(d); b != nil {
		list = append(list, b)
	}
	list = append(list, footer(d))
	if b := actions(d); b != nil {
		list = append(list, b)
	}
	blocks, err = marshal(list)
	if err != nil {
		return "", nil, fmt.Errorf("render slack blocks: %w", err)
	}
	return truncate(escapeControl(headline(d))+" — "+line, maxText), blocks, nil
}

// marshal encodes blocks without Go's HTML escaping of <, > and &, which
// Slack does not need and which makes outbox files hard to read.
func marshal(blocks []slackapi.Block) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(blocks); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// headline is the plain-text summary: "Client gone quiet: Acme".
func headline(d notify.Data) string {
	return kind(d.Severity).title + ": " + strings.Join(strings.Fields(d.Account.Name), " ")
}

// header is the header block: an emoji and the headline, in plain text.
func header(d notify.Data) slackapi.Block {
	t := truncate(kind(d.Severity).emoji+" "+escapeControl(headline(d)), maxHeader)
	return slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, t, true, false))
}

// severityKind is how a severity is presented.
type severityKind struct {
	emoji string
	title string
}

// kind returns the presentation of severity; unknown ones look like info.
func kind(severity string) severityKind {
	switch strings.ToLower(severity) {
	case "critical":
		return severityKind{":warning:", "Key account slipping"}
	case "warning":
		return severityKind{":eyes:", "Client slipping"}
	default:
		return severityKind{":wave:", "Client gone quiet"}
	}
}

// mrkdwn returns a mrkdwn text object of at most max characters. Verbatim
// stops Slack from turning bare URLs and #names of CRM data into links.
func mrkdwn(s string, max int) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, truncate(s, max), false, true)
}

// section is a section block holding the mrkdwn text s.
func section(s string) slackapi.Block {
	return slackapi.NewSectionBlock(mrkdwn(s, maxText), nil, nil)
}
