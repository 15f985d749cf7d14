package slack

import (
	"encoding/json"
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/crmsync/crmsync/notify"
)

// RenderResolved builds the note sent when a flag stops holding ("client
// re-engaged"): the rule's on_resolve line (ready mrkdwn, as in Render) or
// a default one, the rule and a link to the CRM record.
func RenderResolved(d notify.Data, text string) (fallback string, blocks json.RawMessage, err error) {
	line := strings.TrimSpace(text)
	if line == "" {
		line = ":white_check_mark: *" + escapeName(d.Account.Name) + "* is no longer flagged: the condition of " + escapeName(d.Rule) + " stopped holding."
	}
	list := []slackapi.Block{section(line), footer(d)}
	if b := crmButton(d); b != nil {
		list = append(list, b)
	}
	blocks, err = marshal(list)
	if err != nil {
		return "", nil, fmt.Errorf("render slack note: %w", err)
	}
	return truncate(line, maxText), blocks, nil
}
