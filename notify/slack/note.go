package slack

import (
	"encoding/json"
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/locale"
)

// RenderResolved builds the note sent when a flag stops holding ("client
// re-engaged"), in d.Locale: the rule's on_resolve line (ready mrkdwn, as
// in Render) or a default one, the rule and a link to the CRM record.
func RenderResolved(d notify.Data, text string) (fallback string, blocks json.RawMessage, err error) {
	l := locale.For(d.Locale)
	line := strings.TrimSpace(text)
	if line == "" {
		line = fmt.Sprintf(l.T().Resolved, "*"+escapeName(d.Account.Name)+"*", escapeName(d.Rule))
	}
	list := []slackapi.Block{section(line), footer(d, l)}
	if b := crmButton(d, l); b != nil {
		list = append(list, b)
	}
	blocks, err = marshal(list)
	if err != nil {
		return "", nil, fmt.Errorf("render slack note: %w", err)
	}
	return truncate(line, maxText), blocks, nil
}
