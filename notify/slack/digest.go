package slack

import (
	"encoding/json"
	"fmt"

	slackapi "github.com/slack-go/slack"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
)

// DigestEntry is one flagged account in a rep's digest.
type DigestEntry struct {
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	URL         string `json:"url,omitempty"`
	Line        string `json:"line"` // ready mrkdwn: see DigestLine
}

// DigestEntriesPerMessage caps the accounts of one digest message: two
// blocks each plus a header and a footer stay far below Slack's 50 blocks.
const DigestEntriesPerMessage = 15

// Rendered is one message ready to post.
type Rendered struct {
	Fallback string
	Blocks   json.RawMessage
}

// DigestLine is the line a nudge about d shows (the rule's text, already
// escaped, or the default line), for a digest entry.
func DigestLine(d notify.Data, text string) string { return whyLine(d, text) }

// RenderDigest builds a rep's digest of rule for one evaluation pass: a
// header counting every entry, then each account with its line and its
// buttons, split into messages of at most DigestEntriesPerMessage entries.
func RenderDigest(rule, severity string, entries []DigestEntry) ([]Rendered, error) {
	var out []Rendered
	for start := 0; start < len(entries); start += DigestEntriesPerMessage {
		part := entries[start:min(start+DigestEntriesPerMessage, len(entries))]
		r, err := renderDigestPart(rule, severity, len(entries), start, part)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func renderDigestPart(rule, severity string, total, start int, part []DigestEntry) (Rendered, error) {
	title := fmt.Sprintf("%s %d of your clients need attention", kind(severity).emoji, total)
	if total == 1 {
		title = kind(severity).emoji + " 1 of your clients needs attention"
	}
	if start > 0 || len(part) < total {
		title += fmt.Sprintf(" (%d–%d)", start+1, start+len(part))
	}
	list := []slackapi.Block{slackapi.NewHeaderBlock(plain(truncate(title, maxHeader)))}
	for _, e := range part {
		d := notify.Data{Rule: rule, Account: model.Account{Ref: model.Ref{ID: e.AccountID}, Name: e.AccountName, URL: e.URL}}
		list = append(list, section(e.Line))
		if b := actions(d); b != nil {
			list = append(list, b)
		}
	}
	list = append(list, footer(notify.Data{Rule: rule, Severity: severity}))
	blocks, err := marshal(list)
	if err != nil {
		return Rendered{}, fmt.Errorf("render slack digest: %w", err)
	}
	return Rendered{Fallback: truncate(title, maxText), Blocks: blocks}, nil
}
