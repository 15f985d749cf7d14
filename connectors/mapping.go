package connectors

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/model"
)

// Mapping says which CRM fields feed the model (DESIGN.md, "Mapping CRM
// fields onto the model"). Each connector fills the zero fields with its
// own defaults through WithDefaults.
type Mapping struct {
	// Lifecycle is the account field giving the lifecycle, and how its
	// values map onto model lifecycles; unmapped values become "other".
	Lifecycle LifecycleMapping
	// LastActivity lists fields holding activity times; the latest wins.
	LastActivity []string
	// PrimaryContact says how the primary contact is marked; zero when the
	// CRM does not mark one.
	PrimaryContact PrimaryContactMapping
	// Extra lists custom account fields exposed to rules as account.extra.*.
	Extra []string
	// Language names the fields holding the contact's and the account's
	// language; "" where the CRM has none.
	Language LanguageMapping
}

// LanguageMapping names the contact field and the account field whose
// values (read with Language) become model.Contact.Language and
// model.Account.Language.
type LanguageMapping struct {
	Contact string // contact field, such as HubSpot's hs_language
	Account string // account field, such as a custom Language__c
}

// LifecycleMapping maps a CRM field's values onto lifecycles. Values are
// compared case-insensitively.
type LifecycleMapping struct {
	Field string
	Map   map[string]model.Lifecycle
}

// PrimaryContactMapping says where the primary contact mark is: a contact
// property that is true on the primary contact, an account field holding
// the primary contact's id, or (HubSpot) an association label.
type PrimaryContactMapping struct {
	Property         string // contact property, true on the primary contact
	Field            string // account field holding the primary contact's id
	AssociationLabel string // HubSpot contact→company association label
}

// WithDefaults returns m with every zero part taken from def.
func (m Mapping) WithDefaults(def Mapping) Mapping {
	if m.Lifecycle.Field == "" {
		m.Lifecycle.Field = def.Lifecycle.Field
		if len(m.Lifecycle.Map) == 0 {
			m.Lifecycle.Map = def.Lifecycle.Map
		}
	}
	if len(m.LastActivity) == 0 {
		m.LastActivity = def.LastActivity
	}
	if m.PrimaryContact == (PrimaryContactMapping{}) {
		m.PrimaryContact = def.PrimaryContact
	}
	if len(m.Extra) == 0 {
		m.Extra = def.Extra
	}
	if m.Language.Contact == "" {
		m.Language.Contact = def.Language.Contact
	}
	if m.Language.Account == "" {
		m.Language.Account = def.Language.Account
	}
	return m
}

// Lifecycle maps a CRM value through the map; a value the map lacks that
// names a lifecycle ("customer") stands for itself, anything else is
// "other".
func (l LifecycleMapping) Lifecycle(value string) model.Lifecycle {
	v := strings.TrimSpace(value)
	if lc, ok := l.Map[v]; ok {
		return lc
	}
	for k, lc := range l.Map {
		if strings.EqualFold(k, v) {
			return lc
		}
	}
	if lc := model.Lifecycle(strings.ToLower(v)); lc.Valid() {
		return lc
	}
	return model.Other
}

// CheckFields checks every field m names (lifecycle, primary contact,
// languages, last activity, extra) with valid, and returns an error
// naming the first that fails ("mapping: extra 2 \"New Tier\": " then
// want, which says what a field name looks like in the CRM).
func (m Mapping) CheckFields(valid func(field string) bool, want string) error {
	fields := []namedField{
		{"lifecycle field", m.Lifecycle.Field},
		{"primary_contact field", m.PrimaryContact.Field},
		{"primary_contact property", m.PrimaryContact.Property},
		{"language contact", m.Language.Contact},
		{"language account", m.Language.Account},
	}
	for i, f := range m.LastActivity {
		fields = append(fields, namedField{"last_activity " + strconv.Itoa(i+1), f})
	}
	for i, f := range m.Extra {
		fields = append(fields, namedField{"extra " + strconv.Itoa(i+1), f})
	}
	for _, f := range fields {
		if f.name != "" && !valid(f.name) {
			return fmt.Errorf("mapping: %s %q: %s", f.what, f.name, want)
		}
	}
	return nil
}

// namedField is a field a Mapping names, with what it is for.
type namedField struct{ what, name string }
