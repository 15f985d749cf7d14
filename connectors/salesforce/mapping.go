package salesforce

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// DefaultMapping is how Salesforce fields feed the model unless a source
// says otherwise: the lifecycle comes from Account.Type (Salesforce's
// default picklist values), the last activity from Account.LastActivityDate
// (the latest task or event; contacts carry their own), no primary contact
// is marked, no extra field is read and no language either (Contact and
// Account have no standard language field). A source's primary_contact may
// name an account lookup field holding the contact's Id (field, such as
// Primary_Contact__c) or a contact checkbox (property, such as
// Is_Primary__c); its language may name a custom contact field, account
// field or both (Language__c; a picklist of names such as French, or of
// tags such as fr-FR).
var DefaultMapping = connectors.Mapping{
	Lifecycle: connectors.LifecycleMapping{
		Field: "Type",
		Map: map[string]model.Lifecycle{
			"Customer - Direct":          model.Customer,
			"Customer - Channel":         model.Customer,
			"Prospect":                   model.Prospect,
			"Channel Partner / Reseller": model.Other,
			"Installation Partner":       model.Other,
			"Technology Partner":         model.Other,
			"Other":                      model.Other,
		},
	},
	LastActivity: []string{"LastActivityDate"},
}

// maxRaw is the length, in bytes, past which a reject's Raw is cut.
const maxRaw = 2048

// position is where a record lies in the keyset order.
type position struct{ ts, id string }

// decoder maps the records of a page.
type decoder struct {
	c        *Connector
	instance string // the instance URL, for links to records
	at       time.Time
}

// decode maps records of e into p, setting aside those that do not map,
// and returns the position of the last record that has one.
func (d *decoder) decode(p *connectors.Page, e *entity, records []json.RawMessage) position {
	var last position
	var buf []member // reused: a record's members are read before the next
	for i, raw := range records {
		r, err := newReader(raw, buf[:0])
		if r != nil {
			buf = r.Fields
		}
		if err == nil {
			if pos, ok := r.position(); ok {
				last = pos
			}
			err = e.add(d, r, &p.Batch)
		}
		if err != nil {
			p.Rejects = append(p.Rejects, d.reject(e, i, r, raw, err))
		}
	}
	return last
}

func (d *decoder) reject(e *entity, i int, r *reader, raw json.RawMessage, err error) model.Reject {
	where := fmt.Sprintf("%s record %d of a page", e.sobject, i+1)
	if r != nil {
		if id := r.Fields.Raw("Id"); len(id) > 2 && id[0] == '"' {
			where = string(id[1 : len(id)-1])
		}
	}
	return model.Reject{Source: d.c.opts.Source, Entity: e.kind, Where: where, Reason: err.Error(), At: d.at, Raw: connectors.TruncateRaw(raw, maxRaw)}
}

// ref returns the internal id of the record whose Salesforce id is in
// field, "" when null.
func (d *decoder) ref(r *reader, field string) string {
	id := r.Str(field)
	if id == "" {
		return ""
	}
	if !validID(id) {
		r.Fail(field, "%q is not a Salesforce id", id)
		return ""
	}
	return model.ID(d.c.opts.Source, id)
}

func (d *decoder) addOwner(r *reader, b *model.Batch) error {
	o := model.Owner{Ref: model.NewRef(d.c.opts.Source, r.id()), Name: r.Str("Name"), Email: r.Str("Email")}
	if r.Err() != nil {
		return r.Err()
	}
	b.Owners = append(b.Owners, o)
	return nil
}

func (d *decoder) addAccount(r *reader, b *model.Batch) error {
	m := d.c.mapping
	id := r.id()
	a := model.Account{
		Ref:            model.NewRef(d.c.opts.Source, id),
		Name:           r.Str("Name"),
		Domain:         connectors.Domain(r.Str("Website")),
		OwnerID:        d.ref(r, "OwnerId"),
		Lifecycle:      m.Lifecycle.Lifecycle(r.Text(m.Lifecycle.Field)),
		URL:            d.instance + "/" + id,
		CreatedAt:      r.Datetime("CreatedDate"),
		LastActivityAt: r.Latest(m.LastActivity),
		UpdatedAt:      r.Datetime("SystemModstamp"),
		Extra:          r.Extra(m.Extra),
		Language:       r.Language(m.Language.Account),
	}
	if f := m.PrimaryContact.Field; f != "" {
		a.PrimaryContactID = d.ref(r, f)
	}
	if r.Err() != nil {
		return r.Err()
	}
	b.Accounts = append(b.Accounts, a)
	return nil
}

func (d *decoder) addContact(r *reader, b *model.Batch) error {
	c := model.Contact{
		Ref:            model.NewRef(d.c.opts.Source, r.id()),
		AccountID:      d.ref(r, "AccountId"),
		FirstName:      r.Str("FirstName"),
		LastName:       r.Str("LastName"),
		Email:          r.Str("Email"),
		Phone:          r.Str("Phone"),
		Title:          r.Str("Title"),
		OptOut:         r.Boolean("HasOptedOutOfEmail"),
		LastActivityAt: r.Date("LastActivityDate"),
		UpdatedAt:      r.Datetime("SystemModstamp"),
		Language:       r.Language(d.c.mapping.Language.Contact),
	}
	if p := d.c.mapping.PrimaryContact.Property; p != "" {
		c.Primary = r.Boolean(p)
	}
	if r.Err() != nil {
		return r.Err()
	}
	b.Contacts = append(b.Contacts, c)
	return nil
}

func (d *decoder) addDeal(r *reader, b *model.Batch) error {
	deal := model.Deal{
		Ref:       model.NewRef(d.c.opts.Source, r.id()),
		AccountID: d.ref(r, "AccountId"),
		Name:      r.Str("Name"),
		Amount:    r.Number("Amount"),
		Won:       r.Boolean("IsWon"),
		UpdatedAt: r.Datetime("SystemModstamp"),
	}
	// CloseDate is the expected date until the opportunity closes.
	if closeDate := r.Date("CloseDate"); r.Boolean("IsClosed") || deal.Won {
		deal.ClosedAt = closeDate
	}
	if r.Err() != nil {
		return r.Err()
	}
	b.Deals = append(b.Deals, deal)
	return nil
}
