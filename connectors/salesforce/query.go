package salesforce

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// soqlLiteral is the form of a SOQL dateTime literal (unquoted, UTC).
const soqlLiteral = "2006-01-02T15:04:05Z"

// Watermark key suffixes: "Account.ts", "Account.id", "Account.deleted".
const (
	keyTS      = "ts"      // SystemModstamp of the last record handed over
	keyID      = "id"      // its Id, breaking SystemModstamp ties
	keyDeleted = "deleted" // deletions are read from this time on
)

var fieldRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// validID reports whether id is a Salesforce id: 15 or 18 letters and
// digits. Only such ids reach a SOQL literal.
func validID(id string) bool {
	if len(id) != 15 && len(id) != 18 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i] | 0x20; !(c >= 'a' && c <= 'z') && !isDigit(id[i]) {
			return false
		}
	}
	return true
}

// entity is an sObject the connector pulls.
type entity struct {
	sobject   string // Account
	kind      string // model.EntityAccount; "" for activities, which are not mapped
	fields    []string
	deletable bool // read its deletions
	add       func(d *decoder, r *reader, b *model.Batch) error
	// refs, for an activity (Task, Event), are its lookups to the records
	// whose roll-up fields it changes: those are read again instead of
	// the activity being mapped.
	refs []ref
}

// activity reports whether e is an activity, read for its refs.
func (e *entity) activity() bool { return len(e.refs) > 0 }

// key returns the watermark key of part for e.
func (e *entity) key(part string) string { return e.sobject + "." + part }

// newEntities lists what a pull reads, in order: owners first, so that
// accounts find them, then accounts, contacts and opportunities, then the
// tasks and events whose logging changed an account's or a contact's
// LastActivityDate without its SystemModstamp.
func (c *Connector) newEntities() []*entity {
	m := c.mapping
	account := []string{"Id", "Name", "Website", "OwnerId", "CreatedDate", "SystemModstamp", m.Lifecycle.Field}
	account = append(account, m.LastActivity...)
	account = append(account, m.PrimaryContact.Field)
	account = append(account, m.Extra...)
	account = append(account, m.Language.Account)
	contact := []string{"Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "Title",
		"HasOptedOutOfEmail", "LastActivityDate", "SystemModstamp", m.PrimaryContact.Property, m.Language.Contact}
	accounts := &entity{sobject: "Account", kind: model.EntityAccount, fields: dedupe(account), deletable: true,
		add: (*decoder).addAccount}
	contacts := &entity{sobject: "Contact", kind: model.EntityContact, fields: dedupe(contact), deletable: true,
		add: (*decoder).addContact}
	refs := []ref{
		{field: "AccountId", prefix: accountPrefix, target: accounts},
		{field: "WhoId", prefix: contactPrefix, target: contacts},
	}
	return []*entity{
		{sobject: "User", kind: model.EntityOwner, fields: []string{"Id", "Name", "Email", "SystemModstamp"},
			add: (*decoder).addOwner},
		accounts,
		contacts,
		{sobject: "Opportunity", kind: model.EntityDeal, deletable: true,
			fields: []string{"Id", "AccountId", "Name", "Amount", "CloseDate", "IsWon", "IsClosed", "SystemModstamp"},
			add:    (*decoder).addDeal},
		{sobject: "Task", fields: activityFields, refs: refs},
		{sobject: "Event", fields: activityFields, refs: refs},
	}
}

// dedupe drops empty and repeated field names (SOQL refuses a field
// selected twice; names are case-insensitive).
func dedupe(fields []string) []string {
	seen := map[string]bool{}
	out := fields[:0:0]
	for _, f := range fields {
		if f == "" || seen[strings.ToLower(f)] {
			continue
		}
		seen[strings.ToLower(f)] = true
		out = append(out, f)
	}
	return out
}

// checkMapping checks that every mapped field is a plain field name, so
// that nothing but a field can reach the SOQL.
func checkMapping(m connectors.Mapping) error {
	if m.PrimaryContact.AssociationLabel != "" {
		return errors.New("fields: primary_contact.association_label is a HubSpot setting; " +
			"Salesforce takes field (an account lookup to the contact) or property (a contact checkbox)")
	}
	names := append([]string{m.Lifecycle.Field, m.PrimaryContact.Field, m.PrimaryContact.Property,
		m.Language.Contact, m.Language.Account}, m.LastActivity...)
	for _, f := range append(names, m.Extra...) {
		if f != "" && !fieldRe.MatchString(f) {
			return fmt.Errorf("fields: %q is not a Salesforce field API name (such as Type or Tier__c)", f)
		}
	}
	if m.Lifecycle.Field == "" {
		return errors.New("fields: lifecycle.field required")
	}
	return nil
}

// soql returns e's keyset query from the watermark wm: everything after
// the last record handed over, in (SystemModstamp, Id) order.
func (e *entity) soql(wm connectors.Watermark) (string, error) {
	return e.soqlAfter(position{ts: wm[e.key(keyTS)], id: wm[e.key(keyID)]})
}

// soqlAfter returns e's keyset query of the records after pos (all of
// them when pos is zero).
func (e *entity) soqlAfter(pos position) (string, error) {
	var b strings.Builder
	e.selectFrom(&b)
	if ts, id := pos.ts, pos.id; ts != "" {
		t, err := parseDatetime(ts)
		if err != nil || !validID(id) {
			return "", fmt.Errorf("watermark %s=%q %s=%q: not a SystemModstamp and an Id", e.key(keyTS), ts, e.key(keyID), id)
		}
		// Whole seconds, the documented literal form. Were a stamp to carry
		// milliseconds, rounding down re-reads its second: never skips.
		lit := t.Truncate(time.Second).Format(soqlLiteral)
		fmt.Fprintf(&b, " WHERE SystemModstamp > %s OR (SystemModstamp = %s AND Id > '%s')", lit, lit, id)
	}
	b.WriteString(" ORDER BY SystemModstamp ASC, Id ASC")
	return b.String(), nil
}

// selectFrom writes "SELECT <e's fields> FROM <e>".
func (e *entity) selectFrom(b *strings.Builder) {
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(e.fields, ", "))
	b.WriteString(" FROM ")
	b.WriteString(e.sobject)
}

// Salesforce value layouts.
const (
	datetimeLayout = "2006-01-02T15:04:05.000-0700" // 2024-09-13T20:23:03.000+0000
)

// parseDatetime parses a Salesforce datetime (offset without a colon,
// which time.RFC3339 refuses), or an RFC 3339 one.
func parseDatetime(s string) (time.Time, error) {
	t, err := time.Parse(datetimeLayout, s)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse(time.RFC3339Nano, s); err2 != nil {
			return time.Time{}, err
		}
	}
	return t.UTC(), nil
}

// formatDatetime formats t as Salesforce does.
func formatDatetime(t time.Time) string { return t.UTC().Format(datetimeLayout) }

// startWatermark checks from and returns the watermark a pull starts
// with: from, plus the start of deletion tracking for objects without
// one (a full sync reads deletions from the time it started) and of
// activity tracking likewise.
func (c *Connector) startWatermark(from connectors.Watermark) (connectors.Watermark, error) {
	wm := from.Clone()
	for _, e := range c.entities {
		if (wm[e.key(keyTS)] == "") != (wm[e.key(keyID)] == "") {
			return nil, fmt.Errorf("salesforce: watermark: %s and %s go together", e.key(keyTS), e.key(keyID))
		}
		if _, err := e.soql(wm); err != nil {
			return nil, fmt.Errorf("salesforce: %w", err)
		}
		switch {
		case e.activity():
			c.startActivities(wm, e, len(from) > 0)
		case e.deletable:
			if err := c.startDeletions(wm, e); err != nil {
				return nil, err
			}
		}
	}
	return wm, nil
}

// startDeletions reads e's deletions from now on when wm does not say
// since when, and checks the time when it does.
func (c *Connector) startDeletions(wm connectors.Watermark, e *entity) error {
	d := wm[e.key(keyDeleted)]
	if d == "" {
		if wm[e.key(keyTS)] != "" {
			c.logger.Warn("watermark without deletion tracking: deletions before now are not read", "object", e.sobject)
		}
		wm[e.key(keyDeleted)] = formatDatetime(c.now())
		return nil
	}
	if _, err := parseDatetime(d); err != nil {
		return fmt.Errorf("salesforce: watermark %s=%q: not a datetime", e.key(keyDeleted), d)
	}
	return nil
}

// noColumnRe finds the field Salesforce says does not exist.
var noColumnRe = regexp.MustCompile(`No such column '([^']+)' on entity '([^']+)'`)

// queryError wraps a query's error; a field that does not exist (a typo
// in the source's mapping, or a field the integration user cannot see) is
// named with the source.
func (c *Connector) queryError(e *entity, err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == "INVALID_FIELD" {
		if m := noColumnRe.FindStringSubmatch(ae.full); m != nil {
			return fmt.Errorf("salesforce: source %q: %s field %q does not exist or the integration user cannot read it; check the source's fields mapping: %w",
				c.opts.Source, m[2], m[1], err)
		}
	}
	return fmt.Errorf("salesforce: query %s: %w", e.sobject, err)
}
