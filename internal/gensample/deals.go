package gensample

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// period is a window of days before asOf, [from, to).
type period struct {
	from, to int
}

// The periods won deals fall in: the last 12 months, the 12 before and
// the 6 before those (30 months in all).
var (
	recent = period{0, 365}
	prev   = period{365, 730}
	older  = period{730, 913}
)

// genDeals writes a's won and lost deals.
func (g *generator) genDeals(a *account) error {
	if a.lifecycle != "other" && g.chance(0.25) {
		if err := g.lostDeals(a); err != nil {
			return err
		}
	}
	if a.lifecycle == "prospect" || a.lifecycle == "other" || g.chance(0.08) {
		return nil
	}
	yearly := a.size * revenueUnit
	revenue := map[period]float64{
		recent: yearly * g.trend(a),
		prev:   yearly,
		older:  yearly / 2 * g.between(0.6, 1.2),
	}
	if !a.customer() {
		revenue[recent] = 0
	}
	n := min(13, 2+int(max(0, math.Log2(a.size)))+g.rng.IntN(3))
	return g.wonDeals(a, n, revenue)
}

// trend draws the ratio of the last 12 months' revenue to the 12 before:
// about 10% of the large accounts (a third of the largest tenth) drop
// sharply, some grow, most hold.
func (g *generator) trend(a *account) float64 {
	switch {
	case a.num == 42 || a.size > 12 && g.chance(0.30):
		return g.between(0.25, 0.45)
	case g.chance(0.15):
		return g.between(1.4, 2.2)
	default:
		return g.between(0.8, 1.2)
	}
}

// wonDeals spreads revenue over n won deals: one in each period that has
// revenue first, the rest drawn in proportion to the revenue.
func (g *generator) wonDeals(a *account, n int, revenue map[period]float64) error {
	order := []period{recent, prev, older}
	count := map[period]int{}
	total := 0.0
	for _, p := range order {
		if revenue[p] > 0 && n > 0 {
			count[p]++
			n--
		}
		total += revenue[p]
	}
	for ; n > 0; n-- {
		r, p := g.rng.Float64()*total, recent
		for _, p = range order {
			if r -= revenue[p]; r < 0 {
				break
			}
		}
		count[p]++
	}
	for _, p := range order {
		for range count[p] {
			amount := revenue[p] / float64(count[p]) * g.between(0.7, 1.3)
			if err := g.deal(a, amount, true, g.closeDate(a, p)); err != nil {
				return err
			}
		}
	}
	return nil
}

// lostDeals writes one or two lost or still open deals.
func (g *generator) lostDeals(a *account) error {
	for range 1 + g.rng.IntN(2) {
		closed := ""
		if g.chance(0.7) {
			closed = g.closeDate(a, period{0, 730})
		}
		if err := g.deal(a, a.size*revenueUnit*g.between(0.1, 0.5), false, closed); err != nil {
			return err
		}
	}
	return nil
}

// closeDate draws a time in p, after a was created.
func (g *generator) closeDate(a *account, p period) string {
	minutes := (p.from + g.rng.IntN(p.to-p.from)) * 24 * 60
	t := asOf.Add(-time.Duration(minutes+g.rng.IntN(24*60)) * time.Minute)
	if t.Before(a.created) {
		t = a.created.Add(time.Duration(g.rng.Float64() * float64(asOf.Sub(a.created))))
	}
	return stamp(t)
}

func (g *generator) deal(a *account, amount float64, won bool, closed string) error {
	g.nDeal++
	name := fmt.Sprintf("%s %s", pick(g, products), a.name)
	return g.deals.write([]string{fmt.Sprintf("D%06d", g.nDeal), a.id, name,
		strconv.FormatFloat(amount, 'f', 2, 64), "EUR", strconv.FormatBool(won), closed})
}
