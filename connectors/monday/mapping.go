package monday

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// Column roles per board, the keys of Board.Columns.
const (
	RoleOwner     = "owner"      // accounts: a people column
	RoleDomain    = "domain"     // accounts: a link or text column with the website
	RoleAccount   = "account"    // contacts, deals: a connect-boards column to Accounts
	RoleEmail     = "email"      // contacts: an email column
	RolePhone     = "phone"      // contacts: a phone column
	RoleTitle     = "title"      // contacts: a text column
	RoleOptOut    = "opt_out"    // contacts: a checkbox (or a status whose label says yes)
	RoleStage     = "stage"      // deals: a status column
	RoleValue     = "value"      // deals: a numbers column
	RoleCloseDate = "close_date" // deals: a date column
)

// Roles lists the roles each board takes.
var Roles = map[string][]string{
	model.EntityAccount: {RoleOwner, RoleDomain},
	model.EntityContact: {RoleAccount, RoleEmail, RolePhone, RoleTitle, RoleOptOut},
	model.EntityDeal:    {RoleAccount, RoleStage, RoleValue, RoleCloseDate},
}

// DefaultColumns are the column ids of monday CRM's template boards (the
// documented deal columns and the same naming on accounts and contacts);
// tenants' boards often differ: check them with `crmsync sources
// describe`. Contacts have no opt-out column by default: monday has no
// consent field.
var DefaultColumns = map[string]map[string]string{
	model.EntityAccount: {RoleOwner: "account_owner", RoleDomain: "account_domain"},
	model.EntityContact: {RoleAccount: "contact_account", RoleEmail: "contact_email", RolePhone: "contact_phone", RoleTitle: "contact_title"},
	model.EntityDeal:    {RoleAccount: "deal_account", RoleStage: "deal_stage", RoleValue: "deal_value", RoleCloseDate: "deal_close_date"},
}

// DefaultWon are the deal stage labels that mean won.
var DefaultWon = []string{"Won"}

// DefaultMapping takes the lifecycle from the Accounts board's status
// column account_status, its labels (Customer, Prospect, Former) standing
// for themselves; no extra, language, last-activity or primary-contact
// column. Fields name column ids.
var DefaultMapping = connectors.Mapping{
	Lifecycle: connectors.LifecycleMapping{Field: "account_status"},
}

// columnIDRe is a column id as monday makes them (deal_stage, status_1,
// text_mkq1x2y3).
var columnIDRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)

// boardDef is a board the pull reads.
type boardDef struct {
	key  string // watermark prefix: accounts, contacts, deals
	kind string // model entity
	id   string
	cols map[string]string // role → column id
	won  []string
	ids  []string // the column ids to read
	add  func(d *decoder, it *itemJSON, b *model.Batch) error
}

// boardDefs checks the configured boards and their columns.
func (c *Connector) boardDefs() ([3]*boardDef, error) {
	bs := c.opts.Boards
	defs := [3]*boardDef{
		{key: "accounts", kind: model.EntityAccount, id: bs.Accounts.ID, cols: bs.Accounts.Columns, add: (*decoder).addAccount},
		{key: "contacts", kind: model.EntityContact, id: bs.Contacts.ID, cols: bs.Contacts.Columns, add: (*decoder).addContact},
		{key: "deals", kind: model.EntityDeal, id: bs.Deals.ID, cols: bs.Deals.Columns, add: (*decoder).addDeal, won: bs.Deals.Won},
	}
	m := c.mapping
	extra := map[string][]string{
		model.EntityAccount: append(append([]string{m.Lifecycle.Field, m.PrimaryContact.Field, m.Language.Account}, m.LastActivity...), m.Extra...),
		model.EntityContact: {m.Language.Contact, m.PrimaryContact.Property},
	}
	for _, d := range defs {
		if !boardIDRe.MatchString(d.id) {
			return defs, fmt.Errorf("boards: %s: id %q: want the board's number (in its URL: /boards/1234567890)", d.key, d.id)
		}
		cols := maps.Clone(DefaultColumns[d.kind])
		for role, col := range d.cols {
			if !slices.Contains(Roles[d.kind], role) {
				return defs, fmt.Errorf("boards: %s: unknown column role %q (want %s)", d.key, role, strings.Join(Roles[d.kind], ", "))
			}
			cols[role] = col
		}
		d.cols = cols
		for _, col := range append(slices.Collect(maps.Values(cols)), extra[d.kind]...) {
			if col == "" {
				continue
			}
			if !columnIDRe.MatchString(col) {
				return defs, fmt.Errorf("boards: %s: column %q: want a monday column id such as deal_stage or status_1 (see crmsync sources describe)", d.key, col)
			}
			if !slices.Contains(d.ids, col) {
				d.ids = append(d.ids, col)
			}
		}
		slices.Sort(d.ids)
		if d.kind == model.EntityDeal && len(d.won) == 0 {
			d.won = DefaultWon
		}
	}
	return defs, nil
}

// itemJSON is an item as the queries select it.
type itemJSON struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	State        string        `json:"state"`
	URL          string        `json:"url"`
	CreatedAt    string        `json:"created_at"`
	UpdatedAt    string        `json:"updated_at"`
	ColumnValues []columnValue `json:"column_values"`

	cols map[string]*columnValue
}

// columnValue is a column value with the typed fields of the fragments
// the queries spread.
type columnValue struct {
	ID              string   `json:"id"`
	Type            string   `json:"type"`
	Text            *string  `json:"text"`
	Label           *string  `json:"label"`
	IsDone          *bool    `json:"is_done"`
	Number          *float64 `json:"number"`
	Symbol          *string  `json:"symbol"`
	PersonsAndTeams []struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	} `json:"persons_and_teams"`
	LinkedItemIDs []string `json:"linked_item_ids"`
	Date          *string  `json:"date"`
	Time          *string  `json:"time"`
	Email         *string  `json:"email"`
	Phone         *string  `json:"phone"`
	Checked       *bool    `json:"checked"`
	URL           *string  `json:"url"`
}

// itemFields is the selection of an item in every items query.
const itemFields = `id name state url created_at updated_at column_values(ids: $cols) { id type text ` +
	`... on StatusValue { label is_done } ... on NumbersValue { number symbol } ` +
	`... on PeopleValue { persons_and_teams { id kind } } ... on BoardRelationValue { linked_item_ids } ` +
	`... on DateValue { date time } ... on EmailValue { email } ... on PhoneValue { phone } ` +
	`... on CheckboxValue { checked } ... on LinkValue { url } }`

// col returns the value of a column, nil when absent or unmapped.
func (it *itemJSON) col(id string) *columnValue {
	if id == "" {
		return nil
	}
	if it.cols == nil {
		it.cols = make(map[string]*columnValue, len(it.ColumnValues))
		for i := range it.ColumnValues {
			it.cols[it.ColumnValues[i].ID] = &it.ColumnValues[i]
		}
	}
	return it.cols[id]
}

// text is a column's text ("" when absent or null): a status's label, an
// email's address, a link's URL, else monday's text.
func (v *columnValue) text() string {
	switch {
	case v == nil:
		return ""
	case v.Label != nil:
		return *v.Label
	case v.Email != nil:
		return *v.Email
	case v.Phone != nil:
		return *v.Phone
	case v.URL != nil:
		return *v.URL
	case v.Text != nil:
		return strings.TrimSpace(*v.Text)
	}
	return ""
}

// firstLinked is the first item a connect-boards column links to.
func (v *columnValue) firstLinked() string {
	if v == nil || len(v.LinkedItemIDs) == 0 {
		return ""
	}
	return v.LinkedItemIDs[0]
}

// firstPerson is the first user (not team) of a people column.
func (v *columnValue) firstPerson() string {
	if v == nil {
		return ""
	}
	for _, p := range v.PersonsAndTeams {
		if p.Kind == "" || p.Kind == "person" {
			return p.ID
		}
	}
	return ""
}

// moment reads a date column (with its time, UTC), or a text holding a
// date or an RFC 3339 time.
func (v *columnValue) moment() (time.Time, error) {
	s := ""
	if v != nil && v.Date != nil {
		s = *v.Date
		if v.Time != nil && *v.Time != "" {
			s += "T" + *v.Time + "Z"
		}
	} else {
		s = v.text()
	}
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("column %s: unparseable date %q", v.ID, s)
	}
	return t, nil
}

// yes reads a checkbox, or a text saying yes.
func (v *columnValue) yes() bool {
	if v == nil {
		return false
	}
	if v.Checked != nil {
		return *v.Checked
	}
	switch strings.ToLower(v.text()) {
	case "v", "yes", "true", "1", "oui", "opted out", "opt-out", "unsubscribed":
		return true
	}
	return false
}

// currencies maps the symbols of numbers columns to ISO codes.
var currencies = map[string]string{"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "CHF": "CHF", "₹": "INR", "R$": "BRL"}

func currency(v *columnValue) string {
	if v == nil || v.Symbol == nil {
		return ""
	}
	s := strings.TrimSpace(*v.Symbol)
	if code, ok := currencies[s]; ok {
		return code
	}
	if len(s) == 3 && strings.ToUpper(s) == s {
		return s
	}
	return ""
}

// maxRaw is the length, in bytes, past which a reject's Raw is cut.
const maxRaw = 2048

// decoder maps the items of a page.
type decoder struct {
	c  *Connector
	at time.Time
}

// decode maps a page's items of board d into p; an item that does not
// map is set aside as a reject.
func (dec *decoder) decode(p *connectors.Page, d *boardDef, raws []json.RawMessage, keep func(*itemJSON) bool) {
	for i, raw := range raws {
		var it itemJSON
		err := json.Unmarshal(raw, &it)
		if err == nil && !keep(&it) {
			continue
		}
		if err == nil {
			err = dec.check(&it)
		}
		if err == nil {
			err = d.add(dec, &it, &p.Batch)
		}
		if err != nil {
			where := it.ID
			if where == "" {
				where = fmt.Sprintf("board %s item %d of a page", d.id, i+1)
			}
			p.Rejects = append(p.Rejects, model.Reject{Source: dec.c.opts.Source, Entity: d.kind, Where: where,
				Reason: err.Error(), At: dec.at, Raw: connectors.TruncateRaw(raw, maxRaw)})
		}
	}
}

var itemIDRe = regexp.MustCompile(`^[0-9]{1,20}$`)

func (dec *decoder) check(it *itemJSON) error {
	if !itemIDRe.MatchString(it.ID) {
		return fmt.Errorf("id %q is not a monday item id", it.ID)
	}
	return nil
}

func (dec *decoder) id(ext string) string {
	if ext == "" {
		return ""
	}
	return model.ID(dec.c.opts.Source, ext)
}

// times reads created_at and updated_at.
func times(it *itemJSON) (created, updated time.Time, err error) {
	if created, err = time.Parse(time.RFC3339, it.CreatedAt); err != nil {
		return created, updated, fmt.Errorf("created_at %q: not a time", it.CreatedAt)
	}
	if updated, err = time.Parse(time.RFC3339, it.UpdatedAt); err != nil {
		return created, updated, fmt.Errorf("updated_at %q: not a time", it.UpdatedAt)
	}
	return created, updated, nil
}

func (dec *decoder) addAccount(it *itemJSON, b *model.Batch) error {
	d, m := dec.c.boards[0], dec.c.mapping
	created, updated, err := times(it)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(it.Name)
	if name == "" {
		return errors.New("name: missing (an account needs a name)")
	}
	a := model.Account{
		Ref:              model.NewRef(dec.c.opts.Source, it.ID),
		Name:             name,
		Domain:           connectors.Domain(it.col(d.cols[RoleDomain]).text()),
		OwnerID:          dec.id(it.col(d.cols[RoleOwner]).firstPerson()),
		PrimaryContactID: dec.id(it.col(m.PrimaryContact.Field).firstLinked()),
		Lifecycle:        m.Lifecycle.Lifecycle(it.col(m.Lifecycle.Field).text()),
		URL:              it.URL,
		CreatedAt:        created,
		UpdatedAt:        updated,
	}
	a.Language, _ = connectors.Language(it.col(m.Language.Account).text())
	for _, f := range m.LastActivity {
		t, err := it.col(f).moment()
		if err != nil {
			return err
		}
		if t.After(a.LastActivityAt) {
			a.LastActivityAt = t
		}
	}
	for _, f := range m.Extra {
		if v := it.col(f); v != nil && v.text() != "" {
			if a.Extra == nil {
				a.Extra = map[string]string{}
			}
			a.Extra[f] = v.text()
		}
	}
	b.Accounts = append(b.Accounts, a)
	return nil
}

func (dec *decoder) addContact(it *itemJSON, b *model.Batch) error {
	d, m := dec.c.boards[1], dec.c.mapping
	_, updated, err := times(it)
	if err != nil {
		return err
	}
	first, last, _ := strings.Cut(strings.TrimSpace(it.Name), " ")
	c := model.Contact{
		Ref:       model.NewRef(dec.c.opts.Source, it.ID),
		AccountID: dec.id(it.col(d.cols[RoleAccount]).firstLinked()),
		FirstName: first,
		LastName:  strings.TrimSpace(last),
		Email:     it.col(d.cols[RoleEmail]).text(),
		Phone:     it.col(d.cols[RolePhone]).text(),
		Title:     it.col(d.cols[RoleTitle]).text(),
		OptOut:    it.col(d.cols[RoleOptOut]).yes(),
		Primary:   it.col(m.PrimaryContact.Property).yes(),
		UpdatedAt: updated,
	}
	c.Language, _ = connectors.Language(it.col(m.Language.Contact).text())
	if c.Email != "" && !model.ValidEmail(c.Email) {
		return fmt.Errorf("column %s: %q is not an email address", d.cols[RoleEmail], c.Email)
	}
	b.Contacts = append(b.Contacts, c)
	return nil
}

func (dec *decoder) addDeal(it *itemJSON, b *model.Batch) error {
	d := dec.c.boards[2]
	_, updated, err := times(it)
	if err != nil {
		return err
	}
	stage := it.col(d.cols[RoleStage])
	value := it.col(d.cols[RoleValue])
	deal := model.Deal{
		Ref:       model.NewRef(dec.c.opts.Source, it.ID),
		AccountID: dec.id(it.col(d.cols[RoleAccount]).firstLinked()),
		Name:      it.Name,
		Won:       slices.ContainsFunc(d.won, func(l string) bool { return strings.EqualFold(l, stage.text()) }),
		Currency:  currency(value),
		UpdatedAt: updated,
	}
	if value != nil && value.Number != nil {
		deal.Amount = *value.Number
	}
	closed := deal.Won || stage != nil && stage.IsDone != nil && *stage.IsDone
	if closed {
		if deal.ClosedAt, err = it.col(d.cols[RoleCloseDate]).moment(); err != nil {
			return err
		}
	}
	if deal.Won && deal.ClosedAt.IsZero() {
		return fmt.Errorf("column %s: missing on a won deal", d.cols[RoleCloseDate])
	}
	b.Deals = append(b.Deals, deal)
	return nil
}
