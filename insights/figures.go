package insights

import (
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// MaxParetoPoints bounds the points of a Pareto curve.
const MaxParetoPoints = 101

// Figures are the portfolio figures at an instant (see the package
// documentation for each definition).
type Figures struct {
	Now            time.Time `json:"now"`
	Filter         Filter    `json:"filter"`
	Accounts       int       `json:"accounts"`
	Clients        int       `json:"clients"`
	Buyers         int       `json:"buyers"`
	Revenue12m     float64   `json:"revenue_12m"`
	RevenuePrev12m float64   `json:"revenue_prev_12m"`
	RevenueTrend   float64   `json:"revenue_trend"`
	// Retention compares the buyers one calendar month before Now with
	// those at Now.
	Retention     Retention               `json:"retention"`
	AtRisk        int                     `json:"at_risk_accounts"`
	RevenueAtRisk float64                 `json:"revenue_at_risk"`
	Pareto        Pareto                  `json:"pareto"`
	ABC           [3]ClassRow             `json:"abc"`
	RFM           RFMGrid                 `json:"rfm"`
	PMG           [3]SizeRow              `json:"pmg"`
	Lifecycle     map[model.Lifecycle]int `json:"lifecycle"`
}

// ClassRow is one line of the ABC table.
type ClassRow struct {
	Class        string  `json:"class"`
	Accounts     int     `json:"accounts"`
	AccountShare float64 `json:"account_share"`
	Revenue      float64 `json:"revenue_12m"`
	RevenueShare float64 `json:"revenue_share"`
}

// SizeRow is one PMG size: its accounts and their revenue_12m.
type SizeRow struct {
	Size     string  `json:"size"`
	Accounts int     `json:"accounts"`
	Revenue  float64 `json:"revenue_12m"`
}

// RFMCell is one (r, f) cell of the RFM grid.
type RFMCell struct {
	Accounts int     `json:"accounts"`
	MeanM    float64 `json:"mean_m"` // 0 when the cell is empty
}

// RFMGrid is the RFM grid: Cells[r-1][f-1], and the accounts per named
// segment.
type RFMGrid struct {
	Cells    [5][5]RFMCell  `json:"cells"`
	Segments map[string]int `json:"segments"`
}

// Sizes are the PMG sizes in table order.
var Sizes = [3]string{rules.SizeSmall, rules.SizeMedium, rules.SizeLarge}

// Compute returns the figures of the accounts of p that f selects;
// flagged holds the ids of the accounts flagged now, for the revenue at
// risk.
func (p *Portfolio) Compute(f Filter, flagged map[string]bool) Figures {
	sel := p.selected(f)
	fig := Figures{Now: p.Now, Filter: f, Lifecycle: map[model.Lifecycle]int{}, RFM: RFMGrid{Segments: map[string]int{}}}
	for k, c := range Classes {
		fig.ABC[k].Class = c
	}
	for k, s := range Sizes {
		fig.PMG[k].Size = s
	}
	for i := range p.Accounts {
		if sel[i] {
			fig.add(&p.Accounts[i], flagged[p.Accounts[i].ID])
		}
	}
	fig.finish()
	fig.Retention = retention(sel, p.statesMonthBefore(), p.statesAt(p.Now))
	fig.Pareto = p.pareto(sel)
	return fig
}

// add counts account a in the figures.
func (fig *Figures) add(a *Account, flagged bool) {
	ft := &a.Features
	fig.Accounts++
	if a.Lifecycle == model.Customer {
		fig.Clients++
	}
	if ft.Revenue12m > 0 {
		fig.Buyers++
	}
	fig.Revenue12m += ft.Revenue12m
	fig.RevenuePrev12m += ft.RevenuePrev12m
	if flagged {
		fig.AtRisk++
		fig.RevenueAtRisk += ft.Revenue12m
	}
	c := &fig.ABC[classIndex(ft.ABC)]
	c.Accounts++
	c.Revenue += ft.Revenue12m
	s := &fig.PMG[sizeIndex(ft.PMG)]
	s.Accounts++
	s.Revenue += ft.Revenue12m
	if r, fr := ft.RFM.R, ft.RFM.F; r >= 1 && r <= 5 && fr >= 1 && fr <= 5 {
		cell := &fig.RFM.Cells[r-1][fr-1]
		cell.Accounts++
		cell.MeanM += float64(ft.RFM.M) // a sum until finish
	}
	fig.RFM.Segments[ft.RFM.Segment]++
	fig.Lifecycle[a.Lifecycle]++
}

// finish turns sums into shares and means.
func (fig *Figures) finish() {
	fig.RevenueTrend = 1
	if fig.RevenuePrev12m != 0 {
		fig.RevenueTrend = fig.Revenue12m / fig.RevenuePrev12m
	}
	for k := range fig.ABC {
		c := &fig.ABC[k]
		c.AccountShare = share(float64(c.Accounts), float64(fig.Accounts))
		c.RevenueShare = share(c.Revenue, fig.Revenue12m)
	}
	for r := range fig.RFM.Cells {
		for f := range fig.RFM.Cells[r] {
			if cell := &fig.RFM.Cells[r][f]; cell.Accounts > 0 {
				cell.MeanM /= float64(cell.Accounts)
			}
		}
	}
}

// share returns part/whole, 0 when whole is 0.
func share(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	return part / whole
}

// sizeIndex returns the index of size in Sizes (small for anything else).
func sizeIndex(size string) int {
	switch size {
	case rules.SizeMedium:
		return 1
	case rules.SizeLarge:
		return 2
	}
	return 0
}
