package slack

import (
	"encoding/json"
	"fmt"
	"strings"

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
	list := newBlockList(1024)
	list.section(line)
	footer(list, d, l)
	crmButton(list, d, l)
	return truncate(line, maxText), list.json(), nil
}
