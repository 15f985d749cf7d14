package insights

import "github.com/crmsync/crmsync/rules"

// ParetoPoint is a point of the Pareto curve: the first Accounts share
// of the ranked accounts make the Revenue share of their revenue_12m.
type ParetoPoint struct {
	Accounts float64 `json:"accounts"`
	Revenue  float64 `json:"revenue"`
}

// Pareto is the Pareto curve of the accounts with revenue_12m > 0 in ABC
// rank order, with the points where class A and classes A+B end (A ends
// at (0,0) when class A is empty).
type Pareto struct {
	Ranked int           `json:"ranked"` // accounts on the curve
	Points []ParetoPoint `json:"points"`
	EndA   ParetoPoint   `json:"end_a"`
	EndB   ParetoPoint   `json:"end_b"`
}

// pareto returns the Pareto curve of the selected accounts. The classes
// are the portfolio's, so the selected A accounts are the first of the
// selected ranking, then the B ones.
func (p *Portfolio) pareto(sel []bool) Pareto {
	var idx []int32
	var total float64
	for _, i := range p.ranked {
		if sel[i] {
			idx = append(idx, i)
			total += p.Accounts[i].Features.Revenue12m
		}
	}
	n := len(idx)
	out := Pareto{Ranked: n, Points: []ParetoPoint{{}}}
	if n == 0 {
		return out
	}
	// cum[k] is the revenue of the first k accounts; points are taken at
	// k = round(j*n/(m-1)) for j = 0..m-1.
	m := min(n+1, MaxParetoPoints)
	next, cum := 1, 0.0
	for k, i := range idx {
		a := &p.Accounts[i].Features
		cum += a.Revenue12m
		pt := ParetoPoint{Accounts: float64(k+1) / float64(n), Revenue: cum / total}
		switch a.ABC {
		case rules.ClassA:
			out.EndA, out.EndB = pt, pt
		case rules.ClassB:
			out.EndB = pt
		}
		if k+1 == (next*n+(m-1)/2)/(m-1) {
			out.Points = append(out.Points, pt)
			next++
		}
	}
	return out
}
