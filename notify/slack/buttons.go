package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/locale"
)

// Action ids of the buttons on a nudge; both carry ButtonValue as value.
// The interaction endpoint (package webhook) acts on them.
const (
	ActionSnooze    = "snooze_30d"     // "Snooze 30 days"
	ActionContacted = "mark_contacted" // "Mark as contacted"
	// ActionMenu is the action id of an account's overflow menu in a
	// digest. Its options carry MenuValue: see Chosen.
	ActionMenu = "account_menu"
)

// buttonValue is the JSON value of a nudge button, and with Do that of a
// digest menu's option.
type buttonValue struct {
	Account string `json:"account"`
	Rule    string `json:"rule"`
	Do      string `json:"do,omitempty"` // the action id the option stands for
}

// ButtonValue is the value of a nudge button about accountID (the internal
// id) flagged by rule: {"account":"<id>","rule":"<name>"}.
func ButtonValue(accountID, rule string) string { return MenuValue("", accountID, rule) }

// MenuValue is the value of the option of a digest's menu that stands for
// the button actionID: ButtonValue with the action id under "do". It is
// written by hand, as the blocks are: a digest has three per account.
func MenuValue(actionID, accountID, rule string) string {
	b := make([]byte, 0, 32+len(accountID)+len(rule)+len(actionID))
	b = append(b, `{"account":`...)
	b = appendString(b, accountID)
	b = append(b, `,"rule":`...)
	b = appendString(b, rule)
	if actionID != "" {
		b = append(b, `,"do":`...)
		b = appendString(b, actionID)
	}
	return string(append(b, '}'))
}

// ParseButtonValue reads a value made by ButtonValue or MenuValue; both
// the account and the rule must be present.
func ParseButtonValue(value string) (accountID, rule string, err error) {
	var v buttonValue
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		return "", "", fmt.Errorf("parse button value: %w", err)
	}
	if strings.TrimSpace(v.Account) == "" || strings.TrimSpace(v.Rule) == "" {
		return "", "", errors.New("parse button value: account and rule are required")
	}
	return v.Account, v.Rule, nil
}

// Chosen returns what a click asks for: the action id and the value to
// read with ParseButtonValue. For a button they are its own; for a
// digest's menu (actionID ActionMenu) they are those of the option chosen,
// whose value is a MenuValue (option is its selected_option.value). A menu
// option that cannot be read gives "" as action id.
func Chosen(actionID, value, option string) (string, string) {
	if actionID != ActionMenu {
		return actionID, value
	}
	var v buttonValue
	if err := json.Unmarshal([]byte(option), &v); err != nil {
		return "", option
	}
	return v.Do, option
}

// actions appends the row of buttons of a nudge: snooze, mark as
// contacted, and the link to the CRM record when the account has a usable
// URL.
func actions(list *blockList, d notify.Data, l locale.Locale) {
	value := ButtonValue(d.Account.ID, d.Rule)
	if len(value) > maxValue {
		crmButton(list, d, l) // ids too long for a button value: the link only
		return
	}
	t := l.T()
	bts := []button{
		{actionID: ActionSnooze, text: t.Snooze, value: value},
		{actionID: ActionContacted, text: t.Contacted, value: value, style: "primary"},
	}
	if link, ok := crmLink(d, l); ok {
		bts = append(bts, link)
	}
	list.actions(bts...)
}

// menu appends the accessory of an account in a digest, as a section's
// `,"accessory":` field (link: its URL is usable, crmURL): one overflow menu (snooze, mark as contacted,
// view in the CRM) instead of three buttons. Without a CRM link or with
// ids too long for an option's value it falls back to what fits: the
// link alone as a button, or nothing.
func menu(list *blockList, e DigestEntry, l locale.Locale, link bool) {
	t := l.T()
	var opts []option
	if v := MenuValue(ActionContacted, e.AccountID, e.Rule); len(v) <= maxOptionValue {
		opts = append(opts, option{text: t.Snooze, value: MenuValue(ActionSnooze, e.AccountID, e.Rule)}, option{text: t.Contacted, value: v})
	}
	switch {
	case link && len(opts) == 0:
		list.raw(`,"accessory":`)
		list.button(button{actionID: ActionOpenCRM, text: t.ViewInCRM, url: e.URL})
		return
	case link:
		opts = append(opts, option{text: t.ViewInCRM, value: MenuValue(ActionOpenCRM, e.AccountID, e.Rule), url: e.URL})
	case len(opts) == 0:
		return
	}
	list.raw(`,"accessory":`)
	list.overflow(ActionMenu, opts)
}
