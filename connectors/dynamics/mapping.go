package dynamics

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// DefaultMapping is how Dataverse columns feed the model unless a source
// says otherwise: the lifecycle comes from the account's Relationship
// Type (customertypecode: 3 Customer, 8 Prospect, any other value
// "other"; a source maps its own values by number), the primary contact
// is the account's Primary Contact lookup (_primarycontactid_value), no
// extra column is read and no language either. The last activity is
// always the latest actualend of the completed activities regarding the
// record; a source's last_activity adds account date columns (such as a
// custom new_lastvisit), the latest wins. Lookup columns are written as
// the Web API returns them: _name_value.
var DefaultMapping = connectors.Mapping{
	Lifecycle: connectors.LifecycleMapping{
		Field: "customertypecode",
		Map: map[string]model.Lifecycle{
			"3": model.Customer,
			"8": model.Prospect,
		},
	},
	PrimaryContact: connectors.PrimaryContactMapping{Field: "_primarycontactid_value"},
}

// maxRaw is the length, in bytes, past which a reject's Raw is cut.
const maxRaw = 2048

// columnRe is a Dataverse logical column name, as $select takes it.
var columnRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// guidRe is a Dataverse row id.
var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkMapping checks that every column a mapping names can go into a
// $select.
func checkMapping(m connectors.Mapping) error {
	if m.PrimaryContact.AssociationLabel != "" {
		return errors.New("mapping: primary_contact association_label is HubSpot's; use field (an account lookup such as _primarycontactid_value) or property (a contact yes/no column)")
	}
	return m.CheckFields(columnRe.MatchString, "want a Dataverse logical column name in lower case (new_tier, _primarycontactid_value)")
}

// entity is a table the pull reads.
type entity struct {
	set    string // entity set: accounts
	key    string // primary key column: accountid
	kind   string // model entity: model.EntityAccount
	tracks bool   // read with change tracking (and swept)
	cols   []string
	add    func(d *decoder, r *reader, b *model.Batch) error
}

// entities returns the tables in the order they are read: owners first,
// so that accounts name known owners, and accounts before the contacts
// and deals filed under them.
func (c *Connector) entities() []*entity {
	m := c.mapping
	acols := []string{"name", "websiteurl", "_ownerid_value", "createdon", "modifiedon"}
	acols = appendCols(acols, m.Lifecycle.Field, m.PrimaryContact.Field, m.Language.Account)
	acols = appendCols(acols, m.LastActivity...)
	acols = appendCols(acols, m.Extra...)
	ccols := []string{"firstname", "lastname", "emailaddress1", "telephone1", "jobtitle", "_parentcustomerid_value",
		"donotemail", "donotbulkemail", "createdon", "modifiedon"}
	ccols = appendCols(ccols, m.PrimaryContact.Property, m.Language.Contact)
	return []*entity{
		{set: "systemusers", key: "systemuserid", kind: model.EntityOwner,
			cols: []string{"fullname", "internalemailaddress"}, add: (*decoder).addOwner},
		{set: "accounts", key: "accountid", kind: model.EntityAccount, tracks: true, cols: acols, add: (*decoder).addAccount},
		{set: "contacts", key: "contactid", kind: model.EntityContact, tracks: true, cols: ccols, add: (*decoder).addContact},
		{set: "opportunities", key: "opportunityid", kind: model.EntityDeal, tracks: true,
			cols: []string{"name", "_parentaccountid_value", "_customerid_value", "estimatedvalue", "actualvalue",
				"actualclosedate", "statecode", "_transactioncurrencyid_value", "modifiedon"},
			add: (*decoder).addDeal},
	}
}

// appendCols appends the non-empty columns not already in cols.
func appendCols(cols []string, more ...string) []string {
	for _, c := range more {
		if c == "" {
			continue
		}
		dup := false
		for _, have := range cols {
			dup = dup || have == c
		}
		if !dup {
			cols = append(cols, c)
		}
	}
	return cols
}

// decoder maps the rows of a page.
type decoder struct {
	c          *Connector
	at         time.Time
	currencies map[string]string    // transactioncurrencyid → ISO code
	activity   map[string]time.Time // row id → latest completed activity
}

// decode maps rows of e into p: a deleted stub becomes a deletion, a row
// that does not map a reject.
func (d *decoder) decode(p *connectors.Page, e *entity, rows []json.RawMessage) {
	for i, raw := range rows {
		r, err := newReader(raw)
		if err == nil {
			if id, ok := r.deleted(e); ok {
				if guidRe.MatchString(id) {
					p.Deleted = append(p.Deleted, model.Deletion{Entity: e.kind, ID: model.ID(d.c.opts.Source, id)})
					continue
				}
				err = fmt.Errorf("deleted row: id %q is not a Dataverse id", id)
			} else {
				err = e.add(d, r, &p.Batch)
			}
		}
		if err != nil {
			p.Rejects = append(p.Rejects, d.reject(e, i, r, raw, err))
		}
	}
}

func (d *decoder) reject(e *entity, i int, r *reader, raw json.RawMessage, err error) model.Reject {
	where := fmt.Sprintf("%s row %d of a page", e.set, i+1)
	if r != nil {
		if id, _ := r.probe(e.key); id != "" {
			where = id
		}
	}
	return model.Reject{Source: d.c.opts.Source, Entity: e.kind, Where: where, Reason: err.Error(), At: d.at, Raw: connectors.TruncateRaw(raw, maxRaw)}
}

// ref returns the internal id of the row a lookup names, "" when null or
// when it names a row of another table than want (a team owner, a contact
// as parent customer).
func (d *decoder) ref(r *reader, lookup, want string) string {
	id := r.Str(lookup)
	if id == "" {
		return ""
	}
	if !guidRe.MatchString(id) {
		r.Fail(lookup, "%q is not a Dataverse id", id)
		return ""
	}
	if t := r.Str(lookup + "@Microsoft.Dynamics.CRM.lookuplogicalname"); t != "" && t != want {
		return ""
	}
	return model.ID(d.c.opts.Source, id)
}

func (d *decoder) addOwner(r *reader, b *model.Batch) error {
	o := model.Owner{Ref: model.NewRef(d.c.opts.Source, r.id("systemuserid")), Name: r.Str("fullname"), Email: r.Str("internalemailaddress")}
	if r.Err() != nil {
		return r.Err()
	}
	b.Owners = append(b.Owners, o)
	return nil
}

func (d *decoder) addAccount(r *reader, b *model.Batch) error {
	m := d.c.mapping
	id := r.id("accountid")
	a := model.Account{
		Ref:            model.NewRef(d.c.opts.Source, id),
		Name:           r.Str("name"),
		Domain:         connectors.Domain(r.Str("websiteurl")),
		OwnerID:        d.ref(r, "_ownerid_value", "systemuser"),
		Lifecycle:      m.Lifecycle.Lifecycle(r.Text(m.Lifecycle.Field)),
		URL:            d.c.opts.BaseURL + "/main.aspx?pagetype=entityrecord&etn=account&id=" + url.QueryEscape(id),
		CreatedAt:      r.Datetime("createdon"),
		LastActivityAt: latest(d.activity[strings.ToLower(id)], r.Latest(m.LastActivity)),
		UpdatedAt:      r.Datetime("modifiedon"),
		Extra:          r.Extra(m.Extra),
		Language:       r.Language(m.Language.Account),
	}
	if f := m.PrimaryContact.Field; f != "" {
		a.PrimaryContactID = d.ref(r, f, "contact")
	}
	if r.Err() != nil {
		return r.Err()
	}
	if a.Name == "" {
		return errors.New("field name: missing (an account needs a name)")
	}
	b.Accounts = append(b.Accounts, a)
	return nil
}

func (d *decoder) addContact(r *reader, b *model.Batch) error {
	id := r.id("contactid")
	c := model.Contact{
		Ref:            model.NewRef(d.c.opts.Source, id),
		AccountID:      d.ref(r, "_parentcustomerid_value", "account"),
		FirstName:      r.Str("firstname"),
		LastName:       r.Str("lastname"),
		Email:          r.Str("emailaddress1"),
		Phone:          r.Str("telephone1"),
		Title:          r.Str("jobtitle"),
		OptOut:         r.Boolean("donotemail") || r.Boolean("donotbulkemail"),
		LastActivityAt: d.activity[strings.ToLower(id)],
		UpdatedAt:      r.Datetime("modifiedon"),
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

// Opportunity states.
const stateWon = 1

func (d *decoder) addDeal(r *reader, b *model.Batch) error {
	state := r.Number("statecode")
	deal := model.Deal{
		Ref:       model.NewRef(d.c.opts.Source, r.id("opportunityid")),
		AccountID: d.ref(r, "_parentaccountid_value", "account"),
		Name:      r.Str("name"),
		Won:       state == stateWon,
		Currency:  d.currencies[strings.ToLower(r.Str("_transactioncurrencyid_value"))],
		UpdatedAt: r.Datetime("modifiedon"),
	}
	if deal.AccountID == "" {
		deal.AccountID = d.ref(r, "_customerid_value", "account")
	}
	// actualvalue is set when the opportunity closes; until then the
	// estimate is all there is.
	if deal.Won {
		deal.Amount = r.Number("actualvalue")
	} else {
		deal.Amount = r.Number("estimatedvalue")
	}
	if state != 0 {
		deal.ClosedAt = r.Date("actualclosedate")
	}
	if r.Err() != nil {
		return r.Err()
	}
	if deal.Won && deal.ClosedAt.IsZero() {
		return errors.New("field actualclosedate: missing on a won opportunity")
	}
	b.Deals = append(b.Deals, deal)
	return nil
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
