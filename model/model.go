// Package model holds crmsync's canonical portfolio records: what every
// connector maps its CRM's objects onto, what the store keeps and what rules
// are evaluated against.
package model

import (
	"strings"
	"time"
)

// Lifecycle tells current clients apart from everything else in a CRM.
type Lifecycle string

// Lifecycle values. Only customers are in the portfolio proper.
const (
	Prospect Lifecycle = "prospect"
	Customer Lifecycle = "customer"
	Former   Lifecycle = "former"
	Other    Lifecycle = "other"
)

// Lifecycles lists every valid lifecycle, for validation and help texts.
var Lifecycles = []Lifecycle{Prospect, Customer, Former, Other}

// Valid reports whether l is one of Lifecycles.
func (l Lifecycle) Valid() bool {
	for _, v := range Lifecycles {
		if l == v {
			return true
		}
	}
	return false
}

// ID returns the stable internal id of a record: the source name and the
// CRM's own id, so that two sources can never collide.
func ID(source, externalID string) string {
	return source + ":" + externalID
}

// Ref identifies a record: where it comes from and its ids.
type Ref struct {
	ID         string `json:"id"`
	Source     string `json:"source"`
	ExternalID string `json:"external_id"`
}

// NewRef builds the Ref of a record from its source and external id.
func NewRef(source, externalID string) Ref {
	return Ref{ID: ID(source, externalID), Source: source, ExternalID: externalID}
}

// Account is a company (or a person buying as one) in the CRM.
type Account struct {
	Ref
	Name             string            `json:"name"`
	Domain           string            `json:"domain,omitempty"`
	OwnerID          string            `json:"owner_id,omitempty"`           // internal id of the owning rep
	PrimaryContactID string            `json:"primary_contact_id,omitempty"` // internal id, when the CRM marks one
	Lifecycle        Lifecycle         `json:"lifecycle"`
	TimeZone         string            `json:"timezone,omitempty"` // IANA name
	Language         string            `json:"language,omitempty"` // the account's language when the CRM has one: "fr", "en-GB"
	URL              string            `json:"url,omitempty"`      // link to the record in the CRM
	CreatedAt        time.Time         `json:"created_at"`
	LastActivityAt   time.Time         `json:"last_activity_at,omitzero"`
	UpdatedAt        time.Time         `json:"updated_at,omitzero"`
	Extra            map[string]string `json:"extra,omitempty"` // custom fields exposed to rules
	// Sources lists the accounts of several sources this portfolio account
	// was merged from (package merge), the first being its own; empty when
	// it comes from one source only.
	Sources []Ref `json:"sources,omitempty"`
}

// Contact is a person at an account.
type Contact struct {
	Ref
	AccountID      string    `json:"account_id"`
	FirstName      string    `json:"first_name,omitempty"`
	LastName       string    `json:"last_name,omitempty"`
	Email          string    `json:"email,omitempty"`
	Phone          string    `json:"phone,omitempty"`
	Title          string    `json:"title,omitempty"`
	TimeZone       string    `json:"timezone,omitempty"` // IANA name
	Language       string    `json:"language,omitempty"` // the contact's language when the CRM has one: "fr", "en-GB"
	OptOut         bool      `json:"opt_out,omitempty"`  // the CRM says: no marketing email
	Primary        bool      `json:"primary,omitempty"`  // marked as the account's primary contact
	LastActivityAt time.Time `json:"last_activity_at,omitzero"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
}

// Name returns the contact's full name, or its email when it has none.
func (c Contact) Name() string {
	n := strings.TrimSpace(c.FirstName + " " + c.LastName)
	if n == "" {
		return c.Email
	}
	return n
}

// Deal is an opportunity on an account. Only won deals count as purchases.
type Deal struct {
	Ref
	AccountID string    `json:"account_id"`
	Name      string    `json:"name,omitempty"`
	Amount    float64   `json:"amount"`
	Currency  string    `json:"currency,omitempty"`
	Won       bool      `json:"won"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Owner is the sales rep who owns accounts.
type Owner struct {
	Ref
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Batch is a set of records to store together: a connector's page.
type Batch struct {
	Accounts []Account `json:"accounts,omitempty"`
	Contacts []Contact `json:"contacts,omitempty"`
	Deals    []Deal    `json:"deals,omitempty"`
	Owners   []Owner   `json:"owners,omitempty"`
	// Deleted lists records the CRM deleted, archived or merged into
	// another: they leave the portfolio when the batch is stored.
	Deleted []Deletion `json:"deleted,omitempty"`
}

// Len returns the number of records in b, deletions included.
func (b Batch) Len() int {
	return len(b.Accounts) + len(b.Contacts) + len(b.Deals) + len(b.Owners) + len(b.Deleted)
}

// Entity kinds, as used by Deletion and Reject.
const (
	EntityAccount = "account"
	EntityContact = "contact"
	EntityDeal    = "deal"
	EntityOwner   = "owner"
)

// Deletion says that a record is gone from its CRM.
type Deletion struct {
	Entity string `json:"entity"` // EntityAccount, EntityContact, EntityDeal or EntityOwner
	ID     string `json:"id"`     // internal id
}

// Reject is a CRM record set aside because it could not be mapped.
type Reject struct {
	Source string    `json:"source"`
	Entity string    `json:"entity"`        // account, contact, deal, owner
	Where  string    `json:"where"`         // file:line, or the CRM's id
	Reason string    `json:"reason"`        // why it was set aside
	At     time.Time `json:"at,omitzero"`   // when it was set aside
	Raw    string    `json:"raw,omitempty"` // the record as received, truncated
}

// Client is one account with everything the rules look at: its contacts,
// its deals and its owner. It is the unit of evaluation.
type Client struct {
	Account  Account   `json:"account"`
	Contacts []Contact `json:"contacts,omitempty"`
	Deals    []Deal    `json:"deals,omitempty"`
	Owner    *Owner    `json:"owner,omitempty"` // nil when the account has none or it is unknown
}
