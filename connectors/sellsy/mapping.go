package sellsy

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// DefaultMapping is how Sellsy fields feed the model unless a source says
// otherwise: the lifecycle comes from the third party's type (client:
// customer, prospect: prospect, supplier and anything else: other), the
// primary contact is a company's main_contact_id, no extra field is read
// and no language either. The last activity is always the latest date of
// the CRM activities naming the record; a source's last_activity adds
// date fields of companies and individuals, the latest wins. Field names
// may be dotted to reach into objects: business_segment.label.
var DefaultMapping = connectors.Mapping{
	Lifecycle: connectors.LifecycleMapping{
		Field: "type",
		Map: map[string]model.Lifecycle{
			"client":   model.Customer,
			"prospect": model.Prospect,
			"supplier": model.Other,
		},
	},
	PrimaryContact: connectors.PrimaryContactMapping{Field: "main_contact_id"},
}

// maxRaw is the length, in bytes, past which a reject's Raw is cut.
const maxRaw = 2048

// fieldRe is a Sellsy field name, dotted into nested objects.
var fieldRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// checkMapping checks the fields a mapping names.
func checkMapping(m connectors.Mapping) error {
	if m.PrimaryContact.AssociationLabel != "" || m.PrimaryContact.Property != "" {
		return errors.New("mapping: primary_contact takes field (a company field holding the contact's id, such as main_contact_id) for sellsy")
	}
	return m.CheckFields(fieldRe.MatchString, "want a Sellsy field name, dotted into objects (business_segment.label)")
}

// Sellsy kinds of object, as external ids name them.
const (
	kindCompany     = "company"
	kindIndividual  = "individual"
	kindContact     = "contact"
	kindOpportunity = "opportunity"
	kindStaff       = "staff"
)

// decoder maps the objects of a page.
type decoder struct {
	c        *Connector
	at       time.Time
	activity map[string]time.Time // "company:51234" → latest activity
	links    map[string]string    // contact id → external id of its company
	seen     map[string]bool      // owners handed over in this pull
}

// decode maps objects of kind into p: an archived one becomes a
// deletion, one that does not map a reject.
func (d *decoder) decode(p *connectors.Page, kind string, objs []json.RawMessage) {
	for i, raw := range objs {
		r, err := newReader(raw)
		if err == nil {
			err = d.add(r, kind, p)
		}
		if err != nil {
			p.Rejects = append(p.Rejects, d.reject(kind, i, r, raw, err))
		}
	}
}

func (d *decoder) add(r *reader, kind string, p *connectors.Page) error {
	id := r.id("id")
	switch {
	case r.Err() != nil:
		return r.Err()
	case id == "":
		return errors.New("field id: missing")
	}
	if kind != kindOpportunity && kind != kindStaff && r.Boolean("is_archived") {
		d.archived(p, kind, id)
		return r.Err()
	}
	switch kind {
	case kindStaff:
		return d.addOwner(r, id, &p.Batch)
	case kindCompany, kindIndividual:
		return d.addAccount(r, kind, id, p)
	case kindContact:
		return d.addContact(r, id, &p.Batch)
	}
	return d.addDeal(r, id, &p.Batch)
}

// archived hands an archived object over as deleted.
func (d *decoder) archived(p *connectors.Page, kind, id string) {
	ext := d.c.extID(kind, id)
	entity := model.EntityAccount
	if kind == kindContact {
		entity = model.EntityContact
	}
	p.Deleted = append(p.Deleted, model.Deletion{Entity: entity, ID: model.ID(d.c.opts.Source, ext)})
	if kind == kindIndividual {
		p.Deleted = append(p.Deleted, model.Deletion{Entity: model.EntityContact, ID: model.ID(d.c.opts.Source, ext+"-contact")})
	}
}

func (d *decoder) reject(kind string, i int, r *reader, raw json.RawMessage, err error) model.Reject {
	where := fmt.Sprintf("%s %d of a page", kind, i+1)
	if r != nil {
		if id := r.Fields.probeID("id"); id != "" {
			where = d.c.extID(kind, id)
		}
	}
	return model.Reject{Source: d.c.opts.Source, Entity: entityOf(kind), Where: where, Reason: err.Error(), At: d.at, Raw: connectors.TruncateRaw(raw, maxRaw)}
}

func entityOf(kind string) string {
	switch kind {
	case kindCompany, kindIndividual:
		return model.EntityAccount
	case kindContact:
		return model.EntityContact
	case kindStaff:
		return model.EntityOwner
	}
	return model.EntityDeal
}

// ref returns the internal id of the Sellsy object of kind an id field
// names, "" when null.
func (d *decoder) ref(r *reader, field, kind string) string {
	if id := r.id(field); id != "" {
		return model.ID(d.c.opts.Source, d.c.extID(kind, id))
	}
	return ""
}

// addOwner adds a staff member, from /staffs or from an _embed.owner.
func (d *decoder) addOwner(r *reader, id string, b *model.Batch) error {
	ext := d.c.extID(kindStaff, id)
	o := model.Owner{
		Ref:   model.NewRef(d.c.opts.Source, ext),
		Name:  strings.TrimSpace(r.Str("firstname") + " " + r.Str("lastname")),
		Email: r.Str("email"),
	}
	if r.Err() != nil {
		return r.Err()
	}
	if !d.seen[ext] {
		d.seen[ext] = true
		b.Owners = append(b.Owners, o)
	}
	return nil
}

// embeddedOwner adds the staff an object embeds as _embed.owner, when
// /staffs did not list it (it may list only your own staff).
func (d *decoder) embeddedOwner(r *reader, b *model.Batch) {
	raw := r.Fields.Raw("_embed.owner")
	if raw == nil || string(raw) == "null" {
		return
	}
	er, err := newReader(raw)
	if err != nil {
		return
	}
	if id := er.id("id"); id != "" && er.Err() == nil && !d.seen[d.c.extID(kindStaff, id)] {
		_ = d.addOwner(er, id, b)
	}
}

// owner returns the internal id of an object's owner when it is staff.
func (d *decoder) owner(r *reader) string {
	if r.Str("owner.type") != "staff" {
		return ""
	}
	return d.ref(r, "owner.id", kindStaff)
}

func (d *decoder) addAccount(r *reader, kind, id string, p *connectors.Page) error {
	m := d.c.mapping
	ext := d.c.extID(kind, id)
	a := model.Account{
		Ref:            model.NewRef(d.c.opts.Source, ext),
		Name:           r.Str("name"),
		Domain:         connectors.Domain(r.Str("website")),
		OwnerID:        d.owner(r),
		Lifecycle:      m.Lifecycle.Lifecycle(r.Text(m.Lifecycle.Field)),
		CreatedAt:      r.Datetime("created"),
		LastActivityAt: latest(d.activity[kind+":"+id], r.Latest(m.LastActivity)),
		UpdatedAt:      r.Datetime("updated_at"),
		Extra:          r.Extra(m.Extra),
		Language:       r.Language(m.Language.Account),
	}
	var self *model.Contact
	if kind == kindIndividual {
		a.Name = strings.TrimSpace(r.Str("first_name") + " " + r.Str("last_name"))
		c := d.contact(r, ext+"-contact", a.ID)
		c.Primary, c.LastActivityAt = true, a.LastActivityAt
		self, a.PrimaryContactID = &c, c.ID
	} else if f := m.PrimaryContact.Field; f != "" {
		a.PrimaryContactID = d.ref(r, f, kindContact)
	}
	if r.Err() != nil {
		return r.Err()
	}
	if a.Name == "" {
		return errors.New("field name: missing (an account needs a name)")
	}
	d.embeddedOwner(r, &p.Batch)
	p.Accounts = append(p.Accounts, a)
	if self != nil {
		p.Contacts = append(p.Contacts, *self)
	}
	return nil
}

// contact reads the person fields contacts and individuals share.
func (d *decoder) contact(r *reader, ext, accountID string) model.Contact {
	subs, _ := r.strings("marketing_campaigns_subscriptions")
	return model.Contact{
		Ref:       model.NewRef(d.c.opts.Source, ext),
		AccountID: accountID,
		FirstName: r.Str("first_name"),
		LastName:  r.Str("last_name"),
		Email:     r.Str("email"),
		Phone:     firstOf(r.Str("phone_number"), r.Str("mobile_number")),
		Title:     r.Str("position"),
		// Not subscribed to email campaigns (or no list at all): opted out.
		OptOut:    !slices.Contains(subs, "email"),
		UpdatedAt: latest(r.Datetime("updated"), r.Datetime("updated_at")),
		Language:  r.Language(d.c.mapping.Language.Contact),
	}
}

func (d *decoder) addContact(r *reader, id string, b *model.Batch) error {
	c := d.contact(r, d.c.extID(kindContact, id), d.links[id])
	c.LastActivityAt = d.activity[kindContact+":"+id]
	if r.Err() != nil {
		return r.Err()
	}
	d.embeddedOwner(r, b)
	b.Contacts = append(b.Contacts, c)
	return nil
}

// Opportunity statuses.
const statusWon = "won"

func (d *decoder) addDeal(r *reader, id string, b *model.Batch) error {
	status := r.Str("status")
	deal := model.Deal{
		Ref:       model.NewRef(d.c.opts.Source, d.c.extID(kindOpportunity, id)),
		AccountID: d.ref(r, "company_id", kindCompany),
		Name:      r.Str("name"),
		Won:       status == statusWon,
		Currency:  strings.ToUpper(r.Str("amount.currency")),
		UpdatedAt: latest(r.Datetime("created"), r.Datetime("updated_status")),
	}
	if deal.AccountID == "" {
		deal.AccountID = d.ref(r, "individual_id", kindIndividual)
	}
	if v := r.Str("amount.value"); v != "" {
		amount, err := strconv.ParseFloat(v, 64)
		if err != nil {
			r.Fail("amount.value", "%q is not a decimal", v)
		}
		deal.Amount = amount
	}
	if status != "open" && status != "late" {
		deal.ClosedAt = r.Datetime("updated_status")
	}
	if r.Err() != nil {
		return r.Err()
	}
	switch {
	case deal.AccountID == "":
		return errors.New("fields company_id and individual_id: both null (the opportunity names no account)")
	case deal.Won && deal.ClosedAt.IsZero():
		return errors.New("field updated_status: missing on a won opportunity (its close date)")
	}
	b.Deals = append(b.Deals, deal)
	return nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
