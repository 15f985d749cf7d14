package ruletest

import (
	"github.com/crmsync/crmsync/internal/yamlnode"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/model"
)

// source is the source of every fixture record: account "acme" has the
// internal id model.ID(source, "acme").
const source = "test"

// Keys the fixture records may have.
var (
	accountKeys = []string{"id", "name", "domain", "lifecycle", "created_at", "last_activity_at",
		"timezone", "url", "extra", "owner", "contacts", "deals"}
	ownerKeys   = []string{"id", "name", "email"}
	contactKeys = []string{"id", "first_name", "last_name", "email", "phone", "title", "timezone",
		"opt_out", "primary", "last_activity_at"}
	dealKeys = []string{"id", "name", "amount", "currency", "won", "closed_at"}
)

// accounts decodes a test's portfolio, and returns it with the set of its
// external account ids.
func (d *decoder) accounts(n *yaml.Node, path string, now time.Time) ([]model.Client, map[string]bool) {
	var out []model.Client
	ids := map[string]bool{}
	first := map[string]int{}
	for i, item := range d.list(n, path) {
		ipath := yamlnode.Index(path, i)
		c, ok := d.account(item, ipath, now)
		if !ok {
			continue
		}
		id := c.Account.ExternalID
		if line, dup := first[id]; dup {
			d.fail(item, "%s: duplicate account id %q (first at line %d)", ipath, id, line)
			continue
		}
		first[id], ids[id] = item.Line, true
		out = append(out, c)
	}
	return out, ids
}

// account decodes one fixture account and everything attached to it. It
// returns false when the account has no usable id.
func (d *decoder) account(n *yaml.Node, path string, now time.Time) (model.Client, bool) {
	m := d.mapping(n, path, accountKeys...)
	if m == nil {
		return model.Client{}, false
	}
	id := d.required(m, n, "id", path)
	a := model.Account{
		Ref:            model.NewRef(source, id),
		Name:           d.str(m, "name", path),
		Domain:         d.str(m, "domain", path),
		Lifecycle:      d.lifecycle(m, path),
		TimeZone:       d.str(m, "timezone", path),
		URL:            d.str(m, "url", path),
		CreatedAt:      d.date(m, "created_at", path, now, now.AddDate(-2, 0, 0)),
		LastActivityAt: d.date(m, "last_activity_at", path, now, time.Time{}),
		Extra:          d.strMap(m, "extra", path),
	}
	if a.Name == "" {
		a.Name = id
	}
	c := model.Client{Account: a, Owner: d.owner(m, path)}
	if c.Owner != nil {
		c.Account.OwnerID = c.Owner.ID
	}
	c.Contacts = d.contacts(m, path, now, &c.Account)
	c.Deals = d.deals(m, path, now, id)
	return c, id != ""
}

// lifecycle decodes an account's lifecycle, customer by default.
func (d *decoder) lifecycle(m map[string]entry, path string) model.Lifecycle {
	e, ok := m["lifecycle"]
	if !ok || yamlnode.IsNull(e.Val) {
		return model.Customer
	}
	l := model.Lifecycle(d.str(m, "lifecycle", path))
	if !l.Valid() {
		d.fail(e.Val, "%s.lifecycle: %q is not one of prospect, customer, former, other", path, l)
		return model.Customer
	}
	return l
}

// date decodes the date at key in m, def when absent.
func (d *decoder) date(m map[string]entry, key, path string, now, def time.Time) time.Time {
	e, ok := m[key]
	if !ok || yamlnode.IsNull(e.Val) {
		return def
	}
	s, ok := d.scalar(e.Val, yamlnode.Join(path, key))
	if !ok {
		return def
	}
	t, err := parseDate(s, now, true)
	if err != nil {
		d.fail(e.Val, "%s: %v", yamlnode.Join(path, key), err)
		return def
	}
	return t
}

// owner decodes an account's optional owner; its id defaults to its email.
func (d *decoder) owner(m map[string]entry, path string) *model.Owner {
	e, ok := m["owner"]
	if !ok || yamlnode.IsNull(e.Val) {
		return nil
	}
	path = yamlnode.Join(path, "owner")
	om := d.mapping(e.Val, path, ownerKeys...)
	if om == nil {
		return nil
	}
	o := &model.Owner{Name: d.str(om, "name", path), Email: d.str(om, "email", path)}
	id := d.str(om, "id", path)
	if id == "" {
		id = o.Email
	}
	if id == "" {
		d.fail(e.Val, "%s: missing id (or email)", path)
	}
	o.Ref = model.NewRef(source, id)
	return o
}

// contacts decodes the contacts of account a and sets its primary contact.
func (d *decoder) contacts(m map[string]entry, path string, now time.Time, a *model.Account) []model.Contact {
	e, ok := m["contacts"]
	if !ok {
		return nil
	}
	path = yamlnode.Join(path, "contacts")
	var out []model.Contact
	for i, item := range d.list(e.Val, path) {
		c, ok := d.contact(item, yamlnode.Index(path, i), now, a, i)
		if !ok {
			continue
		}
		if c.Primary && a.PrimaryContactID == "" {
			a.PrimaryContactID = c.ID
		}
		out = append(out, c)
	}
	return out
}

// contact decodes the i-th contact of account a.
func (d *decoder) contact(n *yaml.Node, path string, now time.Time, a *model.Account, i int) (model.Contact, bool) {
	m := d.mapping(n, path, contactKeys...)
	if m == nil {
		return model.Contact{}, false
	}
	return model.Contact{
		Ref:            model.NewRef(source, defaultID(d.str(m, "id", path), a.ExternalID, "contact", i)),
		AccountID:      a.ID,
		FirstName:      d.str(m, "first_name", path),
		LastName:       d.str(m, "last_name", path),
		Email:          d.str(m, "email", path),
		Phone:          d.str(m, "phone", path),
		Title:          d.str(m, "title", path),
		TimeZone:       d.str(m, "timezone", path),
		OptOut:         d.boolean(m, "opt_out", path, false),
		Primary:        d.boolean(m, "primary", path, false),
		LastActivityAt: d.date(m, "last_activity_at", path, now, time.Time{}),
	}, true
}

// deals decodes the deals of the account with external id account.
func (d *decoder) deals(m map[string]entry, path string, now time.Time, account string) []model.Deal {
	e, ok := m["deals"]
	if !ok {
		return nil
	}
	path = yamlnode.Join(path, "deals")
	var out []model.Deal
	for i, item := range d.list(e.Val, path) {
		if deal, ok := d.deal(item, yamlnode.Index(path, i), now, account, i); ok {
			out = append(out, deal)
		}
	}
	return out
}

// deal decodes the i-th deal of an account; won defaults to true, and a
// won deal needs a close date.
func (d *decoder) deal(n *yaml.Node, path string, now time.Time, account string, i int) (model.Deal, bool) {
	m := d.mapping(n, path, dealKeys...)
	if m == nil {
		return model.Deal{}, false
	}
	deal := model.Deal{
		Ref:       model.NewRef(source, defaultID(d.str(m, "id", path), account, "deal", i)),
		AccountID: model.ID(source, account),
		Name:      d.str(m, "name", path),
		Amount:    d.number(m, "amount", path),
		Currency:  d.str(m, "currency", path),
		Won:       d.boolean(m, "won", path, true),
		ClosedAt:  d.date(m, "closed_at", path, now, time.Time{}),
	}
	if _, ok := m["closed_at"]; !ok && deal.Won {
		d.fail(n, "%s: missing closed_at (a won deal counts from its close date)", path)
	}
	return deal, true
}

// defaultID returns id, or account-kind-N (N 1-based) when id is empty.
func defaultID(id, account, kind string, i int) string {
	if id != "" {
		return id
	}
	return account + "-" + kind + "-" + strconv.Itoa(i+1)
}
