package csv

import (
	"slices"

	"github.com/crmsync/crmsync/model"
)

// schema describes one of the files: its columns and how a row maps onto
// the canonical model.
type schema struct {
	file     string
	entity   string   // Reject.Entity
	optional bool     // an absent file is empty
	columns  []string // documented columns
	required []string // columns the header must have
	mapRow   func(r *row, b *model.Batch)
	// accountColumn names the account a row belongs to, "" for none: a
	// pull merges the files by account (merge.go).
	accountColumn string
}

// knows reports whether column name is documented for the file.
func (s *schema) knows(name string) bool {
	return slices.Contains(s.columns, name)
}

// schemas lists the files in the order they are pulled: owners before the
// accounts that reference them, accounts before their contacts and deals.
var schemas = []*schema{
	{
		file:     "owners.csv",
		entity:   "owner",
		optional: true,
		columns:  []string{"id", "name", "email"},
		required: []string{"id", "name", "email"},
		mapRow:   mapOwner,
	},
	{
		file:   "accounts.csv",
		entity: "account",
		columns: []string{"id", "name", "owner_id", "lifecycle", "domain", "timezone", "language",
			"created_at", "last_activity_at", "primary_contact_id", "url"},
		required:      []string{"id", "name", "created_at"},
		mapRow:        mapAccount,
		accountColumn: "id",
	},
	{
		file:     "contacts.csv",
		entity:   "contact",
		optional: true,
		columns: []string{"id", "account_id", "first_name", "last_name", "email", "phone",
			"title", "timezone", "language", "opt_out", "primary", "last_activity_at"},
		required:      []string{"id", "account_id"},
		mapRow:        mapContact,
		accountColumn: "account_id",
	},
	{
		file:          "deals.csv",
		entity:        "deal",
		optional:      true,
		columns:       []string{"id", "account_id", "name", "amount", "currency", "won", "closed_at"},
		required:      []string{"id", "account_id", "amount", "won"},
		mapRow:        mapDeal,
		accountColumn: "account_id",
	},
}

func mapOwner(r *row, b *model.Batch) {
	o := model.Owner{
		Ref:   r.ref(),
		Name:  r.required("name"),
		Email: r.email("email", true),
	}
	if r.err == nil {
		b.Owners = append(b.Owners, o)
	}
}

func mapAccount(r *row, b *model.Batch) {
	a := model.Account{
		Ref:              r.ref(),
		Name:             r.required("name"),
		Domain:           r.str("domain"),
		OwnerID:          r.refID("owner_id"),
		PrimaryContactID: r.refID("primary_contact_id"),
		Lifecycle:        r.lifecycle("lifecycle"),
		TimeZone:         r.timezone("timezone"),
		Language:         r.language("language"),
		URL:              r.str("url"),
		CreatedAt:        r.date("created_at", true),
		LastActivityAt:   r.date("last_activity_at", false),
		Extra:            r.extras(),
	}
	if r.err == nil {
		b.Accounts = append(b.Accounts, a)
	}
}

func mapContact(r *row, b *model.Batch) {
	c := model.Contact{
		Ref:            r.ref(),
		AccountID:      model.ID(r.source, r.required("account_id")),
		FirstName:      r.str("first_name"),
		LastName:       r.str("last_name"),
		Email:          r.email("email", false),
		Phone:          r.str("phone"),
		Title:          r.str("title"),
		TimeZone:       r.timezone("timezone"),
		Language:       r.language("language"),
		OptOut:         r.boolean("opt_out", false),
		Primary:        r.boolean("primary", false),
		LastActivityAt: r.date("last_activity_at", false),
	}
	if r.err == nil {
		b.Contacts = append(b.Contacts, c)
	}
}

func mapDeal(r *row, b *model.Batch) {
	d := model.Deal{
		Ref:       r.ref(),
		AccountID: model.ID(r.source, r.required("account_id")),
		Name:      r.str("name"),
		Amount:    r.amount("amount"),
		Currency:  r.str("currency"),
		Won:       r.boolean("won", true),
		ClosedAt:  r.date("closed_at", false),
	}
	if d.Won && d.ClosedAt.IsZero() {
		r.fail("closed_at: required when won is true")
	}
	if r.err == nil {
		b.Deals = append(b.Deals, d)
	}
}
