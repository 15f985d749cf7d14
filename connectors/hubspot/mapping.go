package hubspot

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // hs_timezone values must resolve on images without zoneinfo

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// DefaultMapping is how HubSpot's standard properties feed the model:
// lifecyclestage for the lifecycle (subscriber, lead,
// marketingqualifiedlead, salesqualifiedlead and opportunity are
// prospects; customer and evangelist are customers; other is other), the
// latest of notes_last_updated, notes_last_contacted and
// hs_last_sales_activity_timestamp for the last activity, no primary
// contact mark, no extra fields, and the contact's preferred language
// (hs_language: "fr", "en-us") for its language; companies have no
// standard language property.
var DefaultMapping = connectors.Mapping{
	Lifecycle: connectors.LifecycleMapping{
		Field: "lifecyclestage",
		Map: map[string]model.Lifecycle{
			"subscriber":             model.Prospect,
			"lead":                   model.Prospect,
			"marketingqualifiedlead": model.Prospect,
			"salesqualifiedlead":     model.Prospect,
			"opportunity":            model.Prospect,
			"customer":               model.Customer,
			"evangelist":             model.Customer,
			"other":                  model.Other,
		},
	},
	LastActivity: []string{"notes_last_updated", "notes_last_contacted", "hs_last_sales_activity_timestamp"},
	Language:     connectors.LanguageMapping{Contact: "hs_language"},
}

// entity is one of the CRM object types the connector pulls.
type entity struct {
	object     string // HubSpot object type and watermark key prefix
	model      string // model entity
	modified   string // the property holding the last modification
	primary    int    // v4 type id of the primary company association
	v3Primary  string // v3 association type of the primary company
	properties []string
}

// HubSpot's standard properties read for each object type, besides the
// mapping's.
var (
	companyProperties = []string{"name", "domain", "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "hs_merged_object_ids"}
	contactProperties = []string{"firstname", "lastname", "email", "phone", "jobtitle", "hs_timezone", "hs_email_optout", "lastmodifieddate", "hs_merged_object_ids"}
	dealProperties    = []string{"dealname", "amount", "deal_currency_code", "hs_is_closed_won", "closedate", "hs_lastmodifieddate", "hs_merged_object_ids"}
)

// Association type ids HubSpot defines from contacts and deals to their
// primary company.
const (
	contactPrimaryCompany = 1
	dealPrimaryCompany    = 5
)

// entities returns the object types in pull order, with the properties
// the mapping m needs.
func entities(m connectors.Mapping) []*entity {
	company := slices.Concat(companyProperties, []string{m.Lifecycle.Field}, m.LastActivity, m.Extra, []string{m.PrimaryContact.Field, m.Language.Account})
	contact := slices.Concat(contactProperties, m.LastActivity, []string{m.PrimaryContact.Property, m.Language.Contact})
	return []*entity{
		{object: "companies", model: model.EntityAccount, modified: "hs_lastmodifieddate", properties: uniq(company)},
		{object: "contacts", model: model.EntityContact, modified: "lastmodifieddate", primary: contactPrimaryCompany, v3Primary: "contact_to_company", properties: uniq(contact)},
		{object: "deals", model: model.EntityDeal, modified: "hs_lastmodifieddate", primary: dealPrimaryCompany, v3Primary: "deal_to_company", properties: uniq(dealProperties)},
	}
}

// associated reports whether records of e belong to a company.
func (e *entity) associated() bool { return e.primary != 0 }

// uniq drops empty and repeated names, keeping the first of each.
func uniq(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// company is the company a contact or deal is associated with, and the
// user-defined labels of that association.
type company struct {
	id     string
	labels []string
}

// mapper turns HubSpot records into model records.
type mapper struct {
	source  string
	mapping connectors.Mapping
	portal  *accountInfo // nil when unknown: no URLs
	zones   *sync.Map    // hs_timezone value → IANA name ("" when invalid)
}

func (m *mapper) account(o *object) (model.Account, error) {
	a := model.Account{
		Ref:       model.NewRef(m.source, o.ID),
		Name:      o.prop("name"),
		Domain:    o.prop("domain"),
		Lifecycle: m.mapping.Lifecycle.Lifecycle(o.prop(m.mapping.Lifecycle.Field)),
		Language:  language(o, m.mapping.Language.Account),
	}
	if v := o.prop("hubspot_owner_id"); v != "" {
		a.OwnerID = model.ID(m.source, v)
	}
	if f := m.mapping.PrimaryContact.Field; f != "" && o.prop(f) != "" {
		a.PrimaryContactID = model.ID(m.source, o.prop(f))
	}
	var err error
	if a.CreatedAt, err = dateProp(o, "createdate", o.CreatedAt); err != nil {
		return a, err
	}
	if a.UpdatedAt, err = dateProp(o, "hs_lastmodifieddate", o.UpdatedAt); err != nil {
		return a, err
	}
	if a.LastActivityAt, err = m.lastActivity(o); err != nil {
		return a, err
	}
	a.Extra = m.extra(o)
	if m.portal != nil && m.portal.PortalID != 0 {
		a.URL = fmt.Sprintf("https://%s/contacts/%d/record/0-2/%s", m.portal.uiDomain(), m.portal.PortalID, o.ID)
	}
	return a, nil
}

// uiDomain is the portal's app host (app-eu1.hubspot.com for EU portals).
func (i *accountInfo) uiDomain() string {
	if i.UIDomain == "" || strings.ContainsAny(i.UIDomain, "/?#@ ") {
		return "app.hubspot.com"
	}
	return i.UIDomain
}

func (m *mapper) extra(o *object) map[string]string {
	var x map[string]string
	for _, f := range m.mapping.Extra {
		if v := o.prop(f); v != "" {
			if x == nil {
				x = make(map[string]string, len(m.mapping.Extra))
			}
			x[f] = v
		}
	}
	return x
}

func (m *mapper) contact(o *object, c company) (model.Contact, error) {
	ct := model.Contact{
		Ref:       model.NewRef(m.source, o.ID),
		FirstName: o.prop("firstname"),
		LastName:  o.prop("lastname"),
		Email:     o.prop("email"),
		Phone:     o.prop("phone"),
		Title:     o.prop("jobtitle"),
		TimeZone:  m.zone(o.prop("hs_timezone")),
		Language:  language(o, m.mapping.Language.Contact),
	}
	if c.id != "" {
		ct.AccountID = model.ID(m.source, c.id)
	}
	var err error
	if ct.OptOut, err = boolProp(o, "hs_email_optout"); err != nil {
		return ct, err
	}
	if ct.UpdatedAt, err = dateProp(o, "lastmodifieddate", o.UpdatedAt); err != nil {
		return ct, err
	}
	if ct.LastActivityAt, err = m.lastActivity(o); err != nil {
		return ct, err
	}
	ct.Primary = m.primary(o, c)
	return ct, nil
}

// primary reports whether the contact is marked as its account's primary
// contact, by a true property or by the configured association label.
func (m *mapper) primary(o *object, c company) bool {
	pc := m.mapping.PrimaryContact
	if pc.Property != "" && truthy(o.prop(pc.Property)) {
		return true
	}
	if pc.AssociationLabel == "" {
		return false
	}
	return slices.ContainsFunc(c.labels, func(l string) bool { return strings.EqualFold(l, pc.AssociationLabel) })
}

// language reads the language property name of o as a tag ("en-us" is
// "en-US"); "" when name is "" or its value names no language.
func language(o *object, name string) string {
	if name == "" {
		return ""
	}
	tag, _ := connectors.Language(o.prop(name))
	return tag
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "1":
		return true
	}
	return false
}

func (m *mapper) deal(o *object, c company) (model.Deal, error) {
	d := model.Deal{
		Ref:      model.NewRef(m.source, o.ID),
		Name:     o.prop("dealname"),
		Currency: o.prop("deal_currency_code"),
	}
	if c.id != "" {
		d.AccountID = model.ID(m.source, c.id)
	}
	var err error
	if d.Amount, err = amountProp(o, "amount"); err != nil {
		return d, err
	}
	if d.Won, err = boolProp(o, "hs_is_closed_won"); err != nil {
		return d, err
	}
	if d.ClosedAt, err = dateProp(o, "closedate", ""); err != nil {
		return d, err
	}
	if d.UpdatedAt, err = dateProp(o, "hs_lastmodifieddate", o.UpdatedAt); err != nil {
		return d, err
	}
	return d, nil
}

func (m *mapper) owner(o owner) (model.Owner, error) {
	if o.ID == "" {
		return model.Owner{}, fmt.Errorf("owner without an id")
	}
	return model.Owner{
		Ref:   model.NewRef(m.source, o.ID),
		Name:  strings.TrimSpace(o.FirstName + " " + o.LastName),
		Email: o.Email,
	}, nil
}

// lastActivity returns the latest of the mapping's activity properties.
func (m *mapper) lastActivity(o *object) (time.Time, error) {
	var latest time.Time
	for _, f := range m.mapping.LastActivity {
		t, err := dateProp(o, f, "")
		if err != nil {
			return latest, err
		}
		if t.After(latest) {
			latest = t
		}
	}
	return latest, nil
}

// merged returns the ids merged into o (hs_merged_object_ids), other than
// its own.
func merged(o *object) []string {
	v := o.prop("hs_merged_object_ids")
	if v == "" {
		return nil
	}
	var ids []string
	for _, id := range strings.Split(v, ";") {
		if id = strings.TrimSpace(id); id != "" && id != o.ID {
			ids = append(ids, id)
		}
	}
	return ids
}

// dateProp reads a date property, or fallback (a top-level field) when
// the property is empty.
func dateProp(o *object, name, fallback string) (time.Time, error) {
	v := o.prop(name)
	if v == "" {
		v = fallback
	}
	t, err := parseTime(v)
	if err != nil {
		return t, fmt.Errorf("property %s: %w", name, err)
	}
	return t, nil
}

// parseTime reads a HubSpot date: ISO-8601 (date-time or date) or epoch
// milliseconds; empty is the zero time.
func parseTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", v)
}

func boolProp(o *object, name string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(o.prop(name))); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("property %s: %q is not a boolean", name, v)
	}
}

func amountProp(o *object, name string) (float64, error) {
	v := strings.TrimSpace(o.prop(name))
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("property %s: %q is not a number", name, v)
	}
	return f, nil
}

// zone turns HubSpot's hs_timezone ("europe_slash_paris") into an IANA
// name ("Europe/Paris"); "" when it names no known zone.
func (m *mapper) zone(v string) string {
	if v == "" {
		return ""
	}
	if z, ok := m.zones.Load(v); ok {
		return z.(string)
	}
	z := ianaZone(v)
	m.zones.Store(v, z)
	return z
}

// Words HubSpot writes in lower case that IANA names do not capitalize,
// and those IANA names spell in capitals.
var (
	lowerWords = map[string]bool{"of": true, "es": true, "au": true, "de": true, "da": true, "du": true, "la": true}
	upperWords = map[string]bool{"us": true, "gmt": true, "utc": true, "uct": true, "gb": true, "nz": true, "prc": true, "rok": true, "cet": true, "eet": true, "met": true, "wet": true, "est": true, "mst": true, "hst": true, "cst6cdt": true, "est5edt": true, "mst7mdt": true, "pst8pdt": true}
)

// ianaZone decodes an hs_timezone value: "_slash_" is "/", "_minus_" and
// "_plus_" are signs, words are capitalized as IANA names are. A value
// already in IANA form is kept.
func ianaZone(v string) string {
	r := strings.NewReplacer("_slash_", "/", "_minus_", "-", "_plus_", "+")
	name := r.Replace(strings.TrimSpace(v))
	for _, cand := range []string{capitalize(name, true), capitalize(name, false), name} {
		if cand == "" || cand == "Local" {
			continue
		}
		if _, err := time.LoadLocation(cand); err == nil {
			return cand
		}
	}
	return ""
}

// capitalize capitalizes each word of an IANA-like name; with small, the
// words IANA keeps in lower case inside a part ("Port_of_Spain") stay so.
func capitalize(name string, small bool) string {
	var b strings.Builder
	word := 0 // words so far in the current part (between slashes)
	for i := 0; i < len(name); {
		c := name[i]
		if strings.IndexByte(separators, c) >= 0 {
			b.WriteByte(c)
			if c == '/' {
				word = 0
			}
			i++
			continue
		}
		end := i
		for end < len(name) && strings.IndexByte(separators, name[end]) < 0 {
			end++
		}
		w := strings.ToLower(name[i:end])
		switch {
		case upperWords[w]:
			b.WriteString(strings.ToUpper(w))
		case small && lowerWords[w] && word > 0:
			b.WriteString(w)
		default:
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
		word++
		i = end
	}
	return b.String()
}

// separators split the words of a zone name.
const separators = "/_-+"
