package notify

import (
	"time"

	"github.com/crmsync/crmsync/model"
)

// Data is what message templates see: the account that was flagged, the
// person the message is for or about, the rule and the figures that made
// it fire. Template authors write {{ .Account.Name }}, {{ .DaysInactive }}.
type Data struct {
	Rule        string `json:"rule"`
	Description string `json:"description,omitempty"`
	Severity    string `json:"severity,omitempty"`
	// Title is the rule's headline for this account, rendered, plain text
	// (see rules.Rule.RenderTitle); empty: the channel's default.
	Title string `json:"title,omitempty"`
	// Locale is the language the message is written in ("en", "fr") and
	// the format of its numbers and dates.
	Locale string `json:"locale,omitempty"`
	// Currency is the ISO 4217 code of the amounts (revenue); empty:
	// unknown, amounts are shown without one.
	Currency string `json:"currency,omitempty"`

	Account model.Account  `json:"account"`
	Contact *model.Contact `json:"contact,omitempty"` // the email's recipient, or the contact a rep should call
	Owner   *model.Owner   `json:"owner,omitempty"`

	Revenue12m        float64 `json:"revenue_12m"`
	RevenuePrev12m    float64 `json:"revenue_prev_12m"`
	RevenueTrend      float64 `json:"revenue_trend"`
	DaysInactive      int     `json:"days_inactive"`
	DaysSincePurchase *int    `json:"days_since_purchase,omitempty"` // nil: never bought
	ABC               string  `json:"abc"`

	Now time.Time `json:"now"`

	// Unsubscribe is set when the email carries a SendGrid unsubscribe
	// group: templates then link {{ unsubscribeURL }}, which SendGrid
	// replaces with the recipient's own unsubscribe page.
	Unsubscribe bool `json:"unsubscribe,omitempty"`
}

// TemplateData is d as the dynamic_template_data of a SendGrid dynamic
// template: {{account.name}}, {{contact.first_name}}, {{owner.email}},
// {{days_inactive}}, ... SendGrid's handlebars escapes it in HTML.
func (d Data) TemplateData() map[string]any {
	out := map[string]any{
		"rule":             d.Rule,
		"title":            d.Title,
		"locale":           d.Locale,
		"currency":         d.Currency,
		"account":          map[string]any{"id": d.Account.ID, "name": d.Account.Name, "domain": d.Account.Domain, "url": d.Account.URL},
		"revenue_12m":      d.Revenue12m,
		"revenue_prev_12m": d.RevenuePrev12m,
		"revenue_trend":    d.RevenueTrend,
		"days_inactive":    d.DaysInactive,
		"abc":              d.ABC,
	}
	if d.DaysSincePurchase != nil {
		out["days_since_purchase"] = *d.DaysSincePurchase
	}
	if c := d.Contact; c != nil {
		out["contact"] = map[string]any{"first_name": c.FirstName, "last_name": c.LastName, "name": c.Name(), "email": c.Email, "title": c.Title}
	}
	if o := d.Owner; o != nil {
		out["owner"] = map[string]any{"name": o.Name, "email": o.Email}
	}
	return out
}
