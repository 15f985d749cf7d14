package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

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
func ButtonValue(accountID, rule string) string {
	b, _ := json.Marshal(buttonValue{Account: accountID, Rule: rule}) // strings always encode
	return string(b)
}

// MenuValue is the value of the option of a digest's menu that stands for
// the button actionID: ButtonValue with the action id under "do".
func MenuValue(actionID, accountID, rule string) string {
	b, _ := json.Marshal(buttonValue{Account: accountID, Rule: rule, Do: actionID}) // strings always encode
	return string(b)
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

// actions is the row of buttons of a nudge: snooze, mark as contacted, and
// the link to the CRM record when the account has a usable URL.
func actions(d notify.Data, l locale.Locale) slackapi.Block {
	value := ButtonValue(d.Account.ID, d.Rule)
	if len(value) > maxValue {
		return crmButton(d, l) // ids too long for a button value: the link only
	}
	t := l.T()
	elems := []slackapi.BlockElement{
		slackapi.NewButtonBlockElement(ActionSnooze, value, plain(t.Snooze)),
		slackapi.NewButtonBlockElement(ActionContacted, value, plain(t.Contacted)).WithStyle(slackapi.StylePrimary),
	}
	if link := crmLink(d, l); link != nil {
		elems = append(elems, link)
	}
	return slackapi.NewActionBlock("", elems...)
}

// menu is the accessory of an account in a digest: one overflow menu
// (snooze, mark as contacted, view in the CRM) instead of three buttons.
// Without a CRM link or with ids too long for an option's value it falls
// back to what fits: the link alone as a button, or nothing.
func menu(e DigestEntry, l locale.Locale) *slackapi.Accessory {
	t := l.T()
	var opts []*slackapi.OptionBlockObject
	if v := MenuValue(ActionContacted, e.AccountID, e.Rule); len(v) <= maxOptionValue {
		opts = append(opts,
			slackapi.NewOptionBlockObject(MenuValue(ActionSnooze, e.AccountID, e.Rule), plain(t.Snooze), nil),
			slackapi.NewOptionBlockObject(v, plain(t.Contacted), nil))
	}
	if !crmURL(e.URL) {
		if len(opts) == 0 {
			return nil
		}
		return slackapi.NewAccessory(slackapi.NewOverflowBlockElement(ActionMenu, opts...))
	}
	if len(opts) == 0 {
		return slackapi.NewAccessory(slackapi.NewButtonBlockElement(ActionOpenCRM, "", plain(t.ViewInCRM)).WithURL(e.URL))
	}
	open := slackapi.NewOptionBlockObject(MenuValue(ActionOpenCRM, e.AccountID, e.Rule), plain(t.ViewInCRM), nil)
	open.URL = e.URL
	return slackapi.NewAccessory(slackapi.NewOverflowBlockElement(ActionMenu, append(opts, open)...))
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
}
