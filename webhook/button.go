package webhook

import "github.com/crmsync/crmsync/notify/slack"

// The buttons of a nudge, as notify/slack renders them.
const (
	ActionSnooze    = slack.ActionSnooze    // "Snooze 30 days"
	ActionContacted = slack.ActionContacted // "Mark as contacted"
)

// Kinds of Action, one per button.
const (
	KindSnooze    = "snooze"
	KindContacted = "contacted"
)

// actionKind is the Kind of the button with actionID, or "" for any other
// action (the "View in CRM" link button among them).
func actionKind(actionID string) string {
	switch actionID {
	case ActionSnooze:
		return KindSnooze
	case ActionContacted:
		return KindContacted
	}
	return ""
}
