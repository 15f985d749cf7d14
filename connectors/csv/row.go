package csv

import (
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// row reads the values of one data row. The first problem met is kept in
// err and the later reads return zero values, so a mapping function can
// read every column and check err once.
type row struct {
	source string
	rec    []string
	cols   map[string]int
	extra  []column
	format *Format
	err    error
	// badLanguage is the first language value read that names no
	// language; the row is kept without one.
	badLanguage string
}

// fail records the first problem of the row.
func (r *row) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// str returns the trimmed value of a column, empty when the file lacks it.
func (r *row) str(name string) string {
	i, ok := r.cols[name]
	if !ok || i >= len(r.rec) {
		return ""
	}
	return strings.TrimSpace(r.rec[i])
}

// required returns the value of a column that must not be empty.
func (r *row) required(name string) string {
	v := r.str(name)
	if v == "" {
		r.fail("%s: required value is empty", name)
	}
	return v
}

// ref returns the Ref of the row's record from its id column.
func (r *row) ref() model.Ref {
	return model.NewRef(r.source, r.required("id"))
}

// refID returns the internal id a reference column points to, or empty.
func (r *row) refID(name string) string {
	v := r.str(name)
	if v == "" {
		return ""
	}
	return model.ID(r.source, v)
}

// date reads a plain date (midnight UTC), an RFC 3339 time or a date in
// the Format's date format.
func (r *row) date(name string, required bool) time.Time {
	v := r.str(name)
	if v == "" {
		if required {
			r.fail("%s: required value is empty", name)
		}
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t
	}
	if t, ok := r.format.Dates.parse(v); ok {
		return t
	}
	want := "YYYY-MM-DD or RFC 3339"
	if d := r.format.Dates.String(); d != "" {
		want = d + ", " + want
	}
	r.fail("%s: invalid date %q (want %s)", name, v, want)
	return time.Time{}
}

// boolean reads true/false, yes/no, oui/non, vrai/faux or 1/0, in any
// case; empty is false.
func (r *row) boolean(name string, required bool) bool {
	v := r.str(name)
	switch strings.ToLower(v) {
	case "true", "yes", "oui", "vrai", "1":
		return true
	case "false", "no", "non", "faux", "0":
		return false
	case "":
		if required {
			r.fail("%s: required value is empty", name)
		}
		return false
	}
	r.fail("%s: invalid boolean %q (want true/false, yes/no, oui/non or 1/0)", name, v)
	return false
}

// amount reads a required, non-negative decimal number written with the
// Format's decimal separator.
func (r *row) amount(name string) float64 {
	v := r.required(name)
	if v == "" {
		return 0
	}
	if r.format.decimal() == ',' {
		return r.amountComma(name, v)
	}
	n, err := parseDecimal(v)
	switch {
	case err != nil:
		r.fail("%s: invalid number %q (want digits with an optional '.' decimal separator)", name, v)
	case n < 0:
		r.fail("%s: negative amount %q", name, v)
	}
	return n
}

// amountComma reads v, a non-negative amount written with a ',' decimal
// separator.
func (r *row) amountComma(name, v string) float64 {
	n, err := parseDecimalComma(v)
	switch {
	case err != nil:
		r.fail(`%s: invalid number %q: %v (decimal separator ","; want e.g. 1234,56, 1.234,56 or 1 234,56)`, name, v, err)
	case n < 0:
		r.fail("%s: negative amount %q", name, v)
	}
	return n
}

// email reads an optional bare email address (no display name).
func (r *row) email(name string, required bool) string {
	v := r.str(name)
	if v == "" {
		if required {
			r.fail("%s: required value is empty", name)
		}
		return ""
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v {
		r.fail("%s: invalid address %q", name, v)
		return ""
	}
	return v
}

// timezone reads an optional IANA time zone name.
func (r *row) timezone(name string) string {
	v := r.str(name)
	if v == "" {
		return ""
	}
	if v == "Local" {
		r.fail("%s: unknown time zone %q (want an IANA name such as Europe/Paris)", name, v)
		return ""
	}
	if !knownZone(v) {
		r.fail("%s: unknown time zone %q (want an IANA name such as Europe/Paris)", name, v)
		return ""
	}
	return v
}

// zones holds the time zone names found valid so far: loading a zone
// reads the time zone database, far slower than mapping a row.
var zones sync.Map // name → struct{}

// knownZone reports whether name is a time zone of the database.
func knownZone(name string) bool {
	if _, ok := zones.Load(name); ok {
		return true
	}
	if _, err := time.LoadLocation(name); err != nil {
		return false
	}
	zones.Store(name, struct{}{})
	return true
}

// language reads an optional language: a tag in any case with '-' or '_'
// (fr, fr-FR, fr_fr, en-us) or a language's name in English, French or
// itself (French, Français, Anglais, Deutsch); see connectors.Language.
// A value that names no language does not fail the row: it reads as ""
// and is kept in badLanguage for the file's warning.
func (r *row) language(name string) string {
	v := r.str(name)
	tag, ok := connectors.Language(v)
	if !ok && r.badLanguage == "" {
		r.badLanguage = v
	}
	return tag
}

// lifecycle reads a lifecycle; empty means customer.
func (r *row) lifecycle(name string) model.Lifecycle {
	v := r.str(name)
	if v == "" {
		return model.Customer
	}
	l := model.Lifecycle(strings.ToLower(v))
	if !l.Valid() {
		r.fail("%s: unknown value %q (want prospect, customer, former or other)", name, v)
		return ""
	}
	return l
}

// extras returns the values of the columns the schema does not know, keyed
// by their lower-case header name.
func (r *row) extras() map[string]string {
	if len(r.extra) == 0 {
		return nil
	}
	m := make(map[string]string, len(r.extra))
	for _, c := range r.extra {
		m[c.name] = strings.TrimSpace(r.rec[c.index])
	}
	return m
}
