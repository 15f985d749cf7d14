package csv

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

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
	err    error
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

// date reads a plain date (midnight UTC) or an RFC 3339 time.
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
	r.fail("%s: invalid date %q (want YYYY-MM-DD or RFC 3339)", name, v)
	return time.Time{}
}

// boolean reads true/false, yes/no or 1/0, in any case; empty is false.
func (r *row) boolean(name string, required bool) bool {
	v := r.str(name)
	switch strings.ToLower(v) {
	case "true", "yes", "1":
		return true
	case "false", "no", "0":
		return false
	case "":
		if required {
			r.fail("%s: required value is empty", name)
		}
		return false
	}
	r.fail("%s: invalid boolean %q (want true/false, yes/no or 1/0)", name, v)
	return false
}

// amount reads a required, non-negative decimal number with a '.' separator.
func (r *row) amount(name string) float64 {
	v := r.required(name)
	if v == "" {
		return 0
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

// parseDecimal parses an optionally signed decimal such as "-1234.50",
// refusing what strconv.ParseFloat accepts beyond that (exponents,
// hexadecimal, underscores, Inf, NaN).
func parseDecimal(s string) (float64, error) {
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	whole, frac, _ := strings.Cut(digits, ".")
	if whole+frac == "" || !allDigits(whole) || !allDigits(frac) {
		return 0, errors.New("not a decimal number")
	}
	return strconv.ParseFloat(s, 64)
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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
	if _, err := time.LoadLocation(v); err != nil {
		r.fail("%s: unknown time zone %q (want an IANA name such as Europe/Paris)", name, v)
		return ""
	}
	return v
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
