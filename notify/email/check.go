package email

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/locale"
)

// Check renders template name, in each of its languages, against sample
// data: a full record, one without contact, owner or purchase, and one
// whose contact and owner have no names. It catches misspelt fields,
// unguarded nil pointers and output such as "<nil>" or "<no value>" when
// the configuration is loaded instead of when a message is sent.
func (r *Renderer) Check(name string) error {
	v, ok := r.tmpls[name]
	if !ok {
		return fmt.Errorf("check %q: %w", name, ErrUnknownTemplate)
	}
	var errs []error
	for _, lang := range r.Languages(name) {
		t, in := v.def, cmp.Or(v.defaultLang, locale.Default)
		if lang != "" {
			t, in = v.byLang[lang], lang
		}
		for _, s := range samples() {
			s.data.Locale, s.data.Currency = in, "EUR"
			if err := checkOne(t, s.data); err != nil {
				errs = append(errs, fmt.Errorf("check %q with %s: %w", name, s.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// placeholders are what text/template and html/template print for a nil
// pointer or a missing map key: in a message they mean a field that a
// template should have guarded with {{with}}.
var placeholders = []string{"<nil>", "<no value>", "&lt;nil&gt;", "&lt;no value&gt;"}

// checkOne renders t against d and looks for placeholders.
func checkOne(t *tmpl, d notify.Data) error {
	subject, text, html, err := t.render(d)
	if err != nil {
		return err
	}
	for _, part := range []struct{ file, out string }{{t.txtPath, subject + text}, {t.htmlPath, html}} {
		for _, p := range placeholders {
			if strings.Contains(part.out, p) {
				return fmt.Errorf("render %s: prints %q: guard the field with {{with}}", part.file, p)
			}
		}
	}
	return nil
}

// sample is named template data for Check.
type sample struct {
	name string
	data notify.Data
}

// samples returns the data Check renders templates with.
func samples() []sample {
	days := 120
	full := notify.Data{
		Rule:        "sample-rule",
		Description: "Sample rule description",
		Severity:    "info",
		Account: model.Account{
			Ref:       model.NewRef("sample", "1"),
			Name:      "Sample Corp",
			Domain:    "sample.example",
			Lifecycle: model.Customer,
			URL:       "https://crm.example/accounts/1",
			Extra:     map[string]string{"industry": "Manufacturing"},
		},
		Contact: &model.Contact{
			Ref: model.NewRef("sample", "c1"), FirstName: "Jane", LastName: "Doe",
			Email: "jane@sample.example", Title: "Buyer",
		},
		Owner:             &model.Owner{Ref: model.NewRef("sample", "o1"), Name: "Sam Rep", Email: "sam@example.com"},
		Revenue12m:        12000,
		RevenuePrev12m:    30000,
		RevenueTrend:      0.4,
		DaysInactive:      97,
		DaysSincePurchase: &days,
		ABC:               "A",
		Now:               time.Date(2025, 1, 1, 7, 0, 0, 0, time.UTC),
	}
	bare := full
	bare.Contact, bare.Owner, bare.DaysSincePurchase = nil, nil, nil
	bare.Account.Extra = nil
	unnamed := full
	unnamed.Contact = &model.Contact{Email: "someone@sample.example"}
	unnamed.Owner = &model.Owner{Email: "sales@example.com"}
	return []sample{{"a full record", full}, {"no contact, owner or purchase", bare}, {"unnamed contact and owner", unnamed}}
}
