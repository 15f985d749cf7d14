package rules

import (
	"sync"
	"text/template"
	"time"

	"github.com/expr-lang/expr/vm"
)

// Defaults applied when a rule file leaves a setting out.
const (
	DefaultABCA      = 0.80
	DefaultABCB      = 0.95
	DefaultPMGMedium = 10000
	DefaultPMGLarge  = 100000
	DefaultCooldown  = 30 * day
	// DefaultOutcomeWindow is how long after a flag a re-engagement counts.
	DefaultOutcomeWindow = 30 * day
)

// Rule severities.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Activations: what a rule does on the accounts that already match when
// it is first activated.
const (
	ActivationImmediate = "immediate" // act on them at once (the default)
	ActivationBaseline  = "baseline"  // record them as flagged, without messages
)

// Recipients of actions.
const (
	EmailToPrimaryContact = "primary_contact" // the account's primary contact (the default)
	EmailToAllContacts    = "all_contacts"    // every eligible contact of the account
	SlackToOwner          = "owner"           // the account's owner (the default)
)

// ABCCutoffs are the cumulative revenue shares that end classes A and B.
type ABCCutoffs struct{ A, B float64 }

// PMG holds the revenue_12m thresholds of medium and large accounts.
type PMG struct {
	Medium float64 `json:"medium"`
	Large  float64 `json:"large"`
}

// Segmentation configures how the portfolio is segmented.
type Segmentation struct {
	ABC ABCCutoffs
	PMG PMG
}

// DefaultSegmentation returns the segmentation used when no rule file sets one.
func DefaultSegmentation() Segmentation {
	return Segmentation{
		ABC: ABCCutoffs{A: DefaultABCA, B: DefaultABCB},
		PMG: PMG{Medium: DefaultPMGMedium, Large: DefaultPMGLarge},
	}
}

// RuleSet is every rule loaded from a set of rule files, in file order,
// with the segmentation they configure. It is safe for concurrent use.
type RuleSet struct {
	Segmentation Segmentation
	Rules        []*Rule

	byName map[string]*Rule
	needs  needs
	pool   sync.Pool // of *evaluator
}

// ReadsContacts reports whether a rule's expression names contacts: an
// evaluation then needs every contact's record, not only the dates the
// features are computed from.
func (rs *RuleSet) ReadsContacts() bool { return rs.needs.contacts }

// ReadsAccountExtra reports whether a rule's expression may read the
// account's extra fields (account.extra, or account as a whole): an
// evaluation then needs them decoded, which is most of what decoding an
// account costs.
func (rs *RuleSet) ReadsAccountExtra() bool { return rs.needs.extra }

// ReadsAccountRecord reports whether a rule's expression may read more of
// the account than its id, lifecycle, creation and last activity: an
// evaluation then needs the account's record, not only its features
// record (store.FeatureRange).
func (rs *RuleSet) ReadsAccountRecord() bool { return rs.needs.record }

// Names returns the rules' names, in file order.
func (rs *RuleSet) Names() []string {
	names := make([]string, len(rs.Rules))
	for i, r := range rs.Rules {
		names[i] = r.Name
	}
	return names
}

// Rule returns the rule called name, or nil.
func (rs *RuleSet) Rule(name string) *Rule {
	return rs.byName[name]
}

// Rule is one rule: when its expression is true for an account, its
// actions are due for that account, no sooner than Cooldown after the
// last time.
type Rule struct {
	Name        string
	Description string
	// Title is the headline of the rule's messages, a text/template over
	// notify.Data ("Upsell: {{ .Account.Name }}"); empty: the description,
	// else a default for the severity. See RenderTitle.
	Title    string
	Severity string // info, warning or critical
	When     string // the expression, as written
	Labels   map[string]string
	// Cooldown is the shortest time between two firings for one account.
	Cooldown time.Duration
	// Activation is ActivationImmediate or ActivationBaseline: with
	// baseline, the accounts that match at the rule's first pass are
	// recorded as flagged without messages; only those that start to match
	// later are acted on.
	Activation string
	// For is how long the condition must have held, across passes, before
	// the rule fires (0: at once). It absorbs sync lag.
	For time.Duration
	// OnResolve, when set, is a Slack note sent when a flag that fired
	// stops holding ("client re-engaged").
	OnResolve *SlackAction
	// Inhibits names rules whose Slack actions are dropped for an account
	// while this rule fires for it; their emails still go.
	Inhibits []string
	Actions  []Action
	// Holdout is the share (0 to MaxHoldout) of the accounts the rule
	// flags that get no message, to measure what the messages change (see
	// InHoldout); 0: none.
	Holdout float64
	// OutcomeWindow is how long after a flag an activity or a won deal
	// counts as the account re-engaging (DefaultOutcomeWindow).
	OutcomeWindow time.Duration
	// File and Line locate the rule's definition.
	File string
	Line int

	program *vm.Program
	title   *template.Template
}

// Action is one thing to do when a rule fires: exactly one of its fields
// is set.
type Action struct {
	Email *EmailAction
	Slack *SlackAction
}

// EmailAction sends a template email to contacts of the account.
type EmailAction struct {
	To       string // primary_contact or all_contacts
	Template string // name of a local email template
}

// SlackAction sends a Slack message to the account's owner, a channel, or
// both.
type SlackAction struct {
	To      string // owner, or "" to post to Channel only
	Channel string // optional channel ("#key-accounts") that gets a copy
	Text    string // optional text/template over notify.Data
	// Digest gathers the rule's nudges to each rep into one message per
	// evaluation pass ("5 of your clients need attention") instead of one
	// message per account.
	Digest bool

	tmpl *template.Template
}
