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
}
