package merge

import (
	"cmp"
	"maps"
	"time"

	"github.com/crmsync/crmsync/model"
)

// Combine makes one portfolio account of the accounts of one company,
// given in precedence order (the first is the primary, whose id the
// result takes):
//   - deals: all of them, so revenue and purchases are summed;
//   - last activity and update: the latest; creation: the earliest;
//   - lifecycle: customer when any source says customer, else the
//     primary's;
//   - owner, name, domain, language, time zone, link and primary contact:
//     from the first account that has one;
//   - extra fields: united, the first account's value winning;
//   - contacts: united and deduplicated by email, see combineContacts.
//
// Account.Sources lists the accounts it was made of.
func Combine(cs []model.Client) model.Client {
	if len(cs) == 1 {
		return cs[0]
	}
	out := model.Client{Account: cs[0].Account, Owner: cs[0].Owner}
	a := &out.Account
	a.Extra = maps.Clone(a.Extra)
	a.Sources = make([]model.Ref, 0, len(cs))
	for i, c := range cs {
		a.Sources = append(a.Sources, c.Account.Ref)
		if i > 0 {
			combineAccount(a, &c.Account)
			if out.Owner == nil && a.OwnerID == c.Account.OwnerID {
				out.Owner = c.Owner
			}
		}
		for _, d := range c.Deals {
			d.AccountID = a.ID
			out.Deals = append(out.Deals, d)
		}
	}
	var renamed map[string]string
	out.Contacts, renamed = combineContacts(a.ID, cs)
	if id, ok := renamed[a.PrimaryContactID]; ok {
		a.PrimaryContactID = id
	}
	return out
}

// combineAccount folds b, an account of lower precedence, into a.
func combineAccount(a, b *model.Account) {
	if a.OwnerID == "" {
		a.OwnerID = b.OwnerID
	}
	a.Name = cmp.Or(a.Name, b.Name)
	a.Domain = cmp.Or(a.Domain, b.Domain)
	a.Language = cmp.Or(a.Language, b.Language)
	a.TimeZone = cmp.Or(a.TimeZone, b.TimeZone)
	a.URL = cmp.Or(a.URL, b.URL)
	a.PrimaryContactID = cmp.Or(a.PrimaryContactID, b.PrimaryContactID)
	if b.Lifecycle == model.Customer {
		a.Lifecycle = model.Customer
	}
	a.CreatedAt = earliest(a.CreatedAt, b.CreatedAt)
	a.LastActivityAt = latest(a.LastActivityAt, b.LastActivityAt)
	a.UpdatedAt = latest(a.UpdatedAt, b.UpdatedAt)
	for k, v := range b.Extra {
		if _, ok := a.Extra[k]; !ok {
			if a.Extra == nil {
				a.Extra = map[string]string{}
			}
			a.Extra[k] = v
		}
	}
}

// combineContacts unites the contacts of cs under account id. Contacts
// with the same email (ignoring case) are one person: the first one is
// kept, opted out when any copy is (an unsubscribe in one CRM holds for
// every CRM), primary when any copy is, with the latest activity and the
// fields it lacks taken from the copies. It returns the ids of the copies
// dropped, mapped to the id kept.
func combineContacts(id string, cs []model.Client) ([]model.Contact, map[string]string) {
	var out []model.Contact
	byEmail := map[string]int{}
	renamed := map[string]string{}
	for _, c := range cs {
		for _, ct := range c.Contacts {
			ct.AccountID = id
			e := normEmail(ct.Email)
			i, dup := byEmail[e]
			if e == "" || !dup {
				if e != "" {
					byEmail[e] = len(out)
				}
				out = append(out, ct)
				continue
			}
			combineContact(&out[i], &ct)
			renamed[ct.ID] = out[i].ID
		}
	}
	return out, renamed
}

// combineContact folds b, a copy of lower precedence, into a.
func combineContact(a, b *model.Contact) {
	a.OptOut = a.OptOut || b.OptOut
	a.Primary = a.Primary || b.Primary
	a.LastActivityAt = latest(a.LastActivityAt, b.LastActivityAt)
	a.UpdatedAt = latest(a.UpdatedAt, b.UpdatedAt)
	a.FirstName = cmp.Or(a.FirstName, b.FirstName)
	a.LastName = cmp.Or(a.LastName, b.LastName)
	a.Phone = cmp.Or(a.Phone, b.Phone)
	a.Title = cmp.Or(a.Title, b.Title)
	a.TimeZone = cmp.Or(a.TimeZone, b.TimeZone)
	a.Language = cmp.Or(a.Language, b.Language)
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
