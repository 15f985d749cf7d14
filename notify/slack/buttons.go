package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/crmsync/crmsync/notify"
)

// Action ids of the buttons on a nudge; both carry ButtonValue as value.
// The interaction endpoint (package webhook) acts on them.
const (
	ActionSnooze    = "snooze_30d"     // "Snooze 30 days"
	ActionContacted = "mark_contacted" // "Mark as contacted"
)

// buttonValue is the JSON value of a nudge button.
type buttonValue struct {
	Account string `json:"account"`
	Rule    string `json:"rule"`
}

// ButtonValue is the value of a nudge button about accountID (the internal
// id) flagged by rule: {"account":"<id>","rule":"<name>"}.
func ButtonValue(accountID, rule string) string {
	b, _ := json.Marshal(buttonValue{Account: accountID, Rule: rule}) // two strings always encode
	return string(b)
}

// ParseButtonValue reads a value made by ButtonValue; both the account
// and the rule must be present.
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

// actions is the row of buttons of a nudge: snooze, mark as contacted, and
// the link to the CRM record when the account has a usable URL.
func actions(d notify.Data) slackapi.Block {
	value := ButtonValue(d.Account.ID, d.Rule)
	if len(value) > maxValue {
		return crmButton(d) // ids too long for a button value: the link only
	}
	elems := []slackapi.BlockElement{
		slackapi.NewButtonBlockElement(ActionSnooze, value, plain("Snooze 30 days")),
		slackapi.NewButtonBlockElement(ActionContacted, value, plain("Mark as contacted")).WithStyle(slackapi.StylePrimary),
	}
	if link := crmLink(d); link != nil {
		elems = append(elems, link)
	}
	return slackapi.NewActionBlock("", elems...)
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
}
