package rules

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/model"
)

// day is the unit of every "days" feature.
const day = 24 * time.Hour

// year is the length of a revenue window.
const year = 365 * day

// Features are the figures computed for one account that rules look at.
// See the package documentation for their exact definitions.
type Features struct {
	Revenue12m     float64
	RevenuePrev12m float64
	RevenueTrend   float64
	DaysInactive   int
	// DaysSincePurchase is nil when the account has no won deal.
	DaysSincePurchase *int
	// LastActivityAt is the instant DaysInactive counts from, never later
	// than now: the latest of the activities on the account or its
	// contacts and the close dates of its won deals closed at or before
	// now, else the account's creation.
	LastActivityAt time.Time
	// LastActivityFrom tells what LastActivityAt is the date of.
	LastActivityFrom ActivitySource
	// Purchases12m is the number of won deals closed in (now-365d, now].
	Purchases12m int

	// The fields below need the whole portfolio: Compute leaves them zero
	// and Segmenter.Apply fills them.

	// ABC is "A", "B" or "C".
	ABC string
	// ParetoTop is true for class A.
	ParetoTop bool
	// PMG is "small", "medium" or "large", by Revenue12m.
	PMG string
	// RFM holds the quintile scores over the portfolio and their segment.
	RFM RFM
}

// ActivitySource tells what Features.LastActivityAt is the date of.
type ActivitySource uint8

const (
	// FromCreation: the account has neither activity nor purchase, so
	// days_inactive counts from its creation.
	FromCreation ActivitySource = iota
	// FromActivity: an activity on the account or one of its contacts.
	FromActivity
	// FromPurchase: the close date of a won deal.
	FromPurchase
)

// String returns s as explanations name it: "created", "activity" or
// "won_deal".
func (s ActivitySource) String() string {
	switch s {
	case FromActivity:
		return "activity"
	case FromPurchase:
		return "won_deal"
	}
	return "created"
}

// Compute returns every feature of c at now but those that need the whole
// portfolio (ABC, ParetoTop, PMG, RFM; see Segmenter and ScorePortfolio).
// Deals that are not won, and won deals without a close date, are
// ignored. A won deal closed at or before now is activity: a purchase is
// the strongest sign of life. Activities dated after now count as now;
// won deals closed after now count as purchases now (days_since_purchase
// 0), not as activity.
func Compute(now time.Time, c *model.Client) Features {
	var f Features
	var lastPurchase, lastBought time.Time // latest won deal; latest closed at or before now
	for i := range c.Deals {
		d := &c.Deals[i]
		if !d.Won || d.ClosedAt.IsZero() {
			continue
		}
		addRevenue(&f, now, d)
		if d.ClosedAt.After(lastPurchase) {
			lastPurchase = d.ClosedAt
		}
		if d.ClosedAt.After(lastBought) && !d.ClosedAt.After(now) {
			lastBought = d.ClosedAt
		}
	}
	f.RevenueTrend = trend(f.Revenue12m, f.RevenuePrev12m)
	if !lastPurchase.IsZero() {
		n := daysBetween(lastPurchase, now)
		f.DaysSincePurchase = &n
	}
	f.LastActivityAt, f.LastActivityFrom = lastActivity(now, c, lastBought)
	f.DaysInactive = daysBetween(f.LastActivityAt, now)
	return f
}

// addRevenue adds the amount of won deal d to the revenue window it falls
// in, and counts it in Purchases12m when that is the last 12 months.
func addRevenue(f *Features, now time.Time, d *model.Deal) {
	switch t := d.ClosedAt; {
	case t.After(now):
	case t.After(now.Add(-year)):
		f.Revenue12m += d.Amount
		f.Purchases12m++
	case t.After(now.Add(-2 * year)):
		f.RevenuePrev12m += d.Amount
	}
}

// trend returns cur/prev, or 1 when prev is 0.
func trend(cur, prev float64) float64 {
	if prev == 0 {
		return 1
	}
	return cur / prev
}

// lastActivity returns the instant days_inactive counts from, never
// later than now, and what it is the date of: the latest activity on the
// account of c or any of its contacts, or bought, the close date of its
// latest won deal closed at or before now, when later; else the account's
// creation. On a tie the activity wins.
func lastActivity(now time.Time, c *model.Client, bought time.Time) (time.Time, ActivitySource) {
	last, from := latestActivity(c), FromActivity
	if bought.After(last) {
		last, from = bought, FromPurchase
	}
	if last.IsZero() {
		last, from = c.Account.CreatedAt, FromCreation
	}
	if last.After(now) {
		last = now
	}
	return last, from
}

// latestActivity returns the latest activity on the account of c or any
// of its contacts, zero when there is none.
func latestActivity(c *model.Client) time.Time {
	last := c.Account.LastActivityAt
	for i := range c.Contacts {
		if t := c.Contacts[i].LastActivityAt; t.After(last) {
			last = t
		}
	}
	return last
}

// daysBetween returns the whole days from t to now, 0 when t is after now.
func daysBetween(t, now time.Time) int {
	if t.After(now) {
		return 0
	}
	return int(now.Sub(t) / day)
}

// Map returns f keyed by feature name, as rules and explanations name them.
// days_since_purchase is nil (untyped) when there was no purchase.
// last_activity_at (RFC 3339, UTC) and last_activity_from (see
// ActivitySource.String) tell what days_inactive counts from; they are
// not names of rule expressions, where last_activity_at is the account
// record's own (account.last_activity_at).
func (f Features) Map() map[string]any {
	var dsp any
	if f.DaysSincePurchase != nil {
		dsp = *f.DaysSincePurchase
	}
	return map[string]any{
		"revenue_12m":         f.Revenue12m,
		"revenue_prev_12m":    f.RevenuePrev12m,
		"revenue_trend":       f.RevenueTrend,
		"days_inactive":       f.DaysInactive,
		"last_activity_at":    f.LastActivityAt.UTC().Format(time.RFC3339),
		"last_activity_from":  f.LastActivityFrom.String(),
		"days_since_purchase": dsp,
		"purchases_12m":       f.Purchases12m,
		"abc":                 f.ABC,
		"pareto_top":          f.ParetoTop,
		"pmg":                 f.PMG,
		"rfm_r":               f.RFM.R,
		"rfm_f":               f.RFM.F,
		"rfm_m":               f.RFM.M,
		"rfm_segment":         f.RFM.Segment,
	}
}

// FeatureText writes a feature value of Features.Map as people read it:
// "none" for nil (days_since_purchase without a purchase), floats with at
// most two decimals.
func FeatureText(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case float64:
		if x != math.Trunc(x) {
			return strconv.FormatFloat(x, 'f', 2, 64)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
