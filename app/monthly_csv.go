package app

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
)

// writeMonthlyCSV writes m as one figure per row, "section,item,measure,
// value", for a spreadsheet's pivot table: amounts unformatted, shares
// as fractions.
func writeMonthlyCSV(w io.Writer, m *Monthly) error {
	cw := csv.NewWriter(w)
	row := func(section, item, measure string, v any) {
		cw.Write([]string{section, item, measure, csvValue(v)})
	}
	row("section", "item", "measure", "value")
	row("review", m.Month, "end", m.End.Format("2006-01-02T15:04:05Z07:00"))
	portfolioCSV(row, &m.Portfolio)
	for _, mo := range m.Evolution {
		monthCSV(row, mo)
	}
	for _, g := range m.AtRisk {
		for _, a := range g.Accounts {
			row("at_risk", a.ID, "owner", g.Owner)
			row("at_risk", a.ID, "name", a.Name)
			row("at_risk", a.ID, "abc", a.Class)
			row("at_risk", a.ID, "revenue_12m", a.Revenue12m)
			row("at_risk", a.ID, "days_inactive", a.DaysInactive)
			row("at_risk", a.ID, "rules", strings.Join(a.Rules, " "))
		}
	}
	for _, o := range m.Outcomes {
		outcomeCSV(row, o)
	}
	cw.Flush()
	return cw.Error()
}

// csvRow writes one figure.
type csvRow func(section, item, measure string, v any)

func portfolioCSV(row csvRow, f *insights.Figures) {
	for _, kv := range []struct {
		k string
		v any
	}{
		{"accounts", f.Accounts}, {"clients", f.Clients}, {"buyers", f.Buyers},
		{"revenue_12m", f.Revenue12m}, {"revenue_prev_12m", f.RevenuePrev12m}, {"revenue_trend", f.RevenueTrend},
		{"retention", f.Retention.Rate}, {"retained", f.Retention.Kept}, {"buyers_month_before", f.Retention.Before},
		{"gained", f.Retention.Gained}, {"lost", f.Retention.Lost},
		{"at_risk_accounts", f.AtRisk}, {"revenue_at_risk", f.RevenueAtRisk},
		{"pareto_a_accounts", f.Pareto.EndA.Accounts}, {"pareto_a_revenue", f.Pareto.EndA.Revenue},
		{"pareto_ab_accounts", f.Pareto.EndB.Accounts}, {"pareto_ab_revenue", f.Pareto.EndB.Revenue},
	} {
		row("portfolio", "", kv.k, kv.v)
	}
	for _, c := range f.ABC {
		row("abc", c.Class, "accounts", c.Accounts)
		row("abc", c.Class, "account_share", c.AccountShare)
		row("abc", c.Class, "revenue_12m", c.Revenue)
		row("abc", c.Class, "revenue_share", c.RevenueShare)
	}
	for _, s := range f.PMG {
		row("pmg", s.Size, "accounts", s.Accounts)
		row("pmg", s.Size, "revenue_12m", s.Revenue)
	}
	for _, l := range model.Lifecycles {
		row("lifecycle", string(l), "accounts", f.Lifecycle[l])
	}
	for r := range f.RFM.Cells {
		for fr, c := range f.RFM.Cells[r] {
			item := fmt.Sprintf("r%d_f%d", r+1, fr+1)
			row("rfm", item, "accounts", c.Accounts)
			row("rfm", item, "mean_m", c.MeanM)
		}
	}
	for _, s := range segmentOrder {
		row("rfm_segment", s, "accounts", f.RFM.Segments[s])
	}
}

func monthCSV(row csvRow, m insights.Month) {
	row("evolution", m.Month, "buyers", m.Buyers)
	row("evolution", m.Month, "gained", m.Retention.Gained)
	row("evolution", m.Month, "lost", m.Retention.Lost)
	row("evolution", m.Month, "retention", m.Retention.Rate)
	row("evolution", m.Month, "revenue_12m", m.Revenue)
	for k, c := range insights.Classes {
		row("evolution", m.Month, c+"_accounts", m.Classes[k].Accounts)
		row("evolution", m.Month, c+"_revenue_12m", m.Classes[k].Revenue)
		for j, to := range insights.Classes {
			row("migration", m.Month, c+"_to_"+to, m.Migration[k][j])
		}
	}
	if m.HasSnapshots {
		row("evolution", m.Month, "inactive_90", m.Inactive90)
	}
}

func outcomeCSV(row csvRow, o RuleOutcome) {
	row("outcomes", o.Rule, "messaged", o.Messaged)
	row("outcomes", o.Rule, "messaged_reengaged", o.MessagedReengaged)
	row("outcomes", o.Rule, "holdout", o.Holdout)
	row("outcomes", o.Rule, "holdout_reengaged", o.HoldoutReengaged)
	row("outcomes", o.Rule, "open", o.Open)
	for _, kv := range []struct {
		k string
		v *float64
	}{{"uplift", o.Uplift}, {"uplift_low", o.UpliftLow}, {"uplift_high", o.UpliftHigh}} {
		if kv.v != nil {
			row("outcomes", o.Rule, kv.k, *kv.v)
		}
	}
}

// csvValue formats v for the CSV: floats in the shortest exact form.
func csvValue(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case string:
		return x
	}
	return fmt.Sprint(v)
}
