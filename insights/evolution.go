package insights

import "time"

// Month is one row of the evolution: the figures at a month's end, and
// how they moved since the previous month's.
type Month struct {
	Month string    `json:"month"` // "2026-11"
	End   time.Time `json:"end"`   // the first instant of the next month
	// Buyers are the accounts with revenue_12m > 0 at End; Retention
	// compares them with the previous month end's.
	Buyers    int       `json:"buyers"`
	Retention Retention `json:"retention"`
	Revenue   float64   `json:"revenue_12m"`
	// Classes are the accounts and revenue_12m of each class at End
	// (the shares are within the selected accounts).
	Classes [3]ClassRow `json:"classes"`
	// Migration[i][j] counts the accounts of class Classes[i] at the
	// previous month end and of class Classes[j] at this one.
	Migration [3][3]int `json:"migration"`
	// Snapshots counts the selected accounts with a snapshot of the
	// month; Inactive90 those whose days_inactive was >= 90. Both are 0
	// when no snapshots were kept (HasSnapshots false).
	HasSnapshots bool `json:"has_snapshots"`
	Snapshots    int  `json:"snapshots,omitempty"`
	Inactive90   int  `json:"inactive_90,omitempty"`
}

// MonthEnds returns the ends of the n months up to and including the
// month of last, oldest first: the first instant of each next month in
// loc.
func MonthEnds(last time.Time, n int, loc *time.Location) []time.Time {
	t := last.In(loc)
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	out := make([]time.Time, n)
	for i := range n {
		out[i] = start.AddDate(0, i-n+2, 0)
	}
	return out
}

// MonthOf returns the month whose end is end, as "2006-01".
func MonthOf(end time.Time) string {
	return end.AddDate(0, -1, 0).Format("2006-01")
}

// Evolution returns one Month per month end of ends (see MonthEnds), over
// the accounts of p that f selects, each compared with the month end
// before it. Revenue-based figures are backfilled from the accounts' won
// deals; snapshots, keyed by month ("2006-01") then account id, give the
// activity-based ones where they exist.
func (p *Portfolio) Evolution(f Filter, ends []time.Time, snapshots map[string]map[string]Snapshot) []Month {
	if len(ends) == 0 {
		return nil
	}
	sel := p.selected(f)
	prev := p.statesAt(ends[0].AddDate(0, -1, 0))
	out := make([]Month, len(ends))
	for k, end := range ends {
		cur := p.statesAt(end)
		out[k] = p.month(sel, end, prev, cur)
		out[k].addSnapshots(p, sel, snapshots[out[k].Month])
		prev = cur
	}
	return out
}

// month returns the figures of the month ending at end.
func (p *Portfolio) month(sel []bool, end time.Time, prev, cur []state) Month {
	m := Month{Month: MonthOf(end), End: end, Retention: retention(sel, prev, cur)}
	for k, c := range Classes {
		m.Classes[k].Class = c
	}
	n := 0
	for i := range sel {
		if !sel[i] {
			continue
		}
		n++
		m.add(prev[i], cur[i])
	}
	for k := range m.Classes {
		c := &m.Classes[k]
		c.AccountShare = share(float64(c.Accounts), float64(n))
		c.RevenueShare = share(c.Revenue, m.Revenue)
	}
	return m
}

// add counts an account, in state s at the month's end and prev a
// month before, in the month's figures.
func (m *Month) add(prev, s state) {
	if s.buyer() {
		m.Buyers++
	}
	m.Revenue += s.revenue
	m.Classes[s.class].Accounts++
	m.Classes[s.class].Revenue += s.revenue
	m.Migration[prev.class][s.class]++
}

// addSnapshots counts the activity-based figures from the month's
// snapshots, by account id; none leaves HasSnapshots false.
func (m *Month) addSnapshots(p *Portfolio, sel []bool, snaps map[string]Snapshot) {
	if len(snaps) == 0 {
		return
	}
	m.HasSnapshots = true
	for i := range sel {
		s, ok := snaps[p.Accounts[i].ID]
		if !sel[i] || !ok {
			continue
		}
		m.Snapshots++
		if s.DaysInactive >= 90 {
			m.Inactive90++
		}
	}
}
