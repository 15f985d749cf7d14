package insights

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// Source is a portfolio in the store: every account once, in the same
// order each time it is read.
type Source interface {
	EachClient(ctx context.Context, batch int, fn func(model.Client) error) error
}

// ScanOptions choose what Scan computes.
type ScanOptions struct {
	Now          time.Time
	Segmentation rules.Segmentation
	Filter       Filter
	// Flagged tells the accounts flagged now, for the revenue at risk.
	Flagged func(id string) bool
	// Ends are the month ends of the evolution (see MonthEnds); none
	// leaves Scanned.Evolution nil.
	Ends []time.Time
	// Snapshots give the evolution's activity-based figures where they
	// exist; nil for none.
	Snapshots Snapshots
	// Each, when set, is called with every account as the figures read
	// it, segmented at Now, whether the filter selects it or not, and its
	// client; neither outlives the call.
	Each func(a *Account, c *model.Client) error
	// Won, when set, is a lighter read of the same portfolio, in the same
	// order, whose clients carry at least their won deals: the reads for
	// the thresholds take it (they read revenue, purchases and recency
	// only).
	Won Source
	// Thresholds, when set, are those an earlier Scan of the same
	// portfolio found (Scanned.Thresholds): when they hold every instant
	// this scan needs (the same Now and Ends), it reads the portfolio
	// once, to count, instead of twice or three times.
	Thresholds *Thresholds
}

// Snapshots are the monthly account snapshots (Snapshot) a Scan reads
// the evolution's activity-based figures from, an account at a time, in
// the order of the portfolio's read.
type Snapshots interface {
	// Kept reports whether snapshots of month ("2006-01") were kept.
	Kept(month string) bool
	// Snapshot returns the snapshot of account id in month; false when
	// it has none.
	Snapshot(month, id string) (Snapshot, bool)
}

// SnapshotMap is Snapshots held in memory, by month then account id.
type SnapshotMap map[string]map[string]Snapshot

// Kept reports whether m holds snapshots of month.
func (m SnapshotMap) Kept(month string) bool { return len(m[month]) > 0 }

// Snapshot returns the snapshot of id in month.
func (m SnapshotMap) Snapshot(month, id string) (Snapshot, bool) {
	s, ok := m[month][id]
	return s, ok
}

// Thresholds are the segmentation thresholds of a portfolio at the
// instants a Scan needed: Now, a month before, and the evolution's.
type Thresholds struct {
	instants []time.Time
	segs     []*rules.Segmenter
}

// at returns the segmenters at instants, false unless th has them all.
func (th *Thresholds) at(instants []time.Time) ([]*rules.Segmenter, bool) {
	if th == nil {
		return nil, false
	}
	out := make([]*rules.Segmenter, len(instants))
	for i, t := range instants {
		k := slices.IndexFunc(th.instants, t.Equal)
		if k < 0 {
			return nil, false
		}
		out[i] = th.segs[k]
	}
	return out, true
}

// Scanned are the figures of a Scan: what Portfolio.Compute and
// Portfolio.Evolution return for the same portfolio.
type Scanned struct {
	Figures   Figures
	Evolution []Month
	// Segmenter segments an account at Now over the whole portfolio,
	// as the figures did (rules.Segmenter.Apply).
	Segmenter *rules.Segmenter
	// Thresholds are those of every instant the scan needed, for a
	// later scan of the same portfolio (ScanOptions.Thresholds).
	Thresholds *Thresholds
}

// scanBatch is how many clients Scan reads from the store at a time.
const scanBatch = 500

// Scan computes the figures at opts.Now and the evolution over opts.Ends
// of the portfolio src, reading it two or three times instead of holding
// it: once for the segmentation thresholds at every instant the figures
// need (Now, a month before, each month end and the one before the
// first), once more only when accounts tie on revenue_12m at an ABC
// bound (for their ids), then once to count. Its memory is 8 bytes per
// account and instant (the revenues that the ABC classes and the monetary
// score are quantiles of), 8 per selected buyer (the Pareto curve), and
// a few per distinct recency and frequency, whatever the size of the
// portfolio otherwise. Its figures equal those of a Portfolio built from
// the same clients.
func Scan(ctx context.Context, src Source, opts ScanOptions) (*Scanned, error) {
	sc := newScan(opts)
	if segs, ok := opts.Thresholds.at(sc.instants); ok {
		sc.segs, sc.revenues, sc.recency, sc.frequency = segs, nil, nil, nil
	} else {
		won := src
		if opts.Won != nil {
			won = opts.Won
		}
		if err := won.EachClient(ctx, scanBatch, sc.sample); err != nil {
			return nil, fmt.Errorf("scanning the portfolio: %w", err)
		}
		if err := sc.bounds(ctx, won); err != nil {
			return nil, err
		}
	}
	if err := src.EachClient(ctx, scanBatch, sc.count); err != nil {
		return nil, fmt.Errorf("scanning the portfolio: %w", err)
	}
	return sc.finish(), nil
}

// scan is the state of one Scan.
type scan struct {
	opts     ScanOptions
	instants []time.Time // Now first
	// revenues[i] holds every account's revenue_12m at instants[i]
	// (sorted once the first read is over).
	revenues  [][]float64
	recency   map[int]int // days since purchase at Now → accounts; math.MaxInt: never bought
	frequency map[int]int // purchases_12m at Now → accounts
	segs      []*rules.Segmenter
	ties      []tie

	fig       Figures
	before    []int // instant of a month before Now
	buyers    []float64
	nA, nB    int
	months    []Month
	monthIdx  []int // instant of each end
	prevIdx   int   // instant before the first end
	monthSize []int // selected accounts
}

// tie is an ABC bound whose revenue several accounts share: its id is
// found on a second read.
type tie struct {
	instant int
	rev     float64
	pos     int // the bound's position among the accounts with rev, by id
	a       bool
	ids     []string
}

func newScan(opts ScanOptions) *scan {
	sc := &scan{opts: opts, recency: map[int]int{}, frequency: map[int]int{}}
	sc.instants = []time.Time{opts.Now}
	at := func(t time.Time) int {
		if i := slices.IndexFunc(sc.instants, t.Equal); i >= 0 {
			return i
		}
		sc.instants = append(sc.instants, t)
		return len(sc.instants) - 1
	}
	sc.before = []int{at(opts.Now.AddDate(0, -1, 0))}
	if len(opts.Ends) > 0 {
		sc.prevIdx = at(opts.Ends[0].AddDate(0, -1, 0))
		for _, end := range opts.Ends {
			sc.monthIdx = append(sc.monthIdx, at(end))
		}
	}
	sc.revenues = make([][]float64, len(sc.instants))
	return sc
}

// revenueAt returns the revenue_12m of c at each instant: f's at Now.
func (sc *scan) revenueAt(c *model.Client, f *rules.Features, out []float64) []float64 {
	out = append(out[:0], f.Revenue12m)
	a := Account{sales: sales(c.Deals)}
	for _, t := range sc.instants[1:] {
		out = append(out, a.revenue12mAt(t))
	}
	return out
}

// sample is the first read: the values the thresholds are quantiles of.
func (sc *scan) sample(c model.Client) error {
	f := rules.Compute(sc.opts.Now, &c)
	for i, rev := range sc.revenueAt(&c, &f, make([]float64, 0, len(sc.instants))) {
		sc.revenues[i] = append(sc.revenues[i], rev)
	}
	d := math.MaxInt
	if f.DaysSincePurchase != nil {
		d = *f.DaysSincePurchase
	}
	sc.recency[d]++
	sc.frequency[f.Purchases12m]++
	return nil
}

// bounds builds the segmenter of each instant, reading the portfolio
// again for the ids of tied bounds.
func (sc *scan) bounds(ctx context.Context, src Source) error {
	sc.segs = make([]*rules.Segmenter, len(sc.instants))
	for i, revs := range sc.revenues {
		slices.Sort(revs)
		s := &rules.Segmenter{Accounts: len(revs), PMG: sc.opts.Segmentation.PMG}
		sc.segs[i] = s
		if len(revs) == 0 {
			continue
		}
		if i == 0 {
			sc.quintiles(s, revs)
		}
		posA, posB := rules.ABCPositions(revs, sc.opts.Segmentation.ABC)
		s.LastA = sc.bound(i, revs, posA, true)
		s.LastB = sc.bound(i, revs, posB, false)
	}
	if len(sc.ties) > 0 {
		err := src.EachClient(ctx, scanBatch, func(c model.Client) error {
			f := rules.Compute(sc.opts.Now, &c)
			revs := sc.revenueAt(&c, &f, nil)
			for k := range sc.ties {
				if t := &sc.ties[k]; revs[t.instant] == t.rev {
					t.ids = append(t.ids, c.Account.ID)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("scanning the portfolio: %w", err)
		}
		for _, t := range sc.ties {
			slices.Sort(t.ids)
			b := &rules.RankBound{Revenue12m: t.rev, AccountID: t.ids[t.pos]}
			if t.a {
				sc.segs[t.instant].LastA = b
			} else {
				sc.segs[t.instant].LastB = b
			}
		}
	}
	sc.revenues = nil
	return nil
}

// quintiles fills the RFM thresholds of s, as rules.NewSegmenter does,
// from the histograms and the sorted revenues.
func (sc *scan) quintiles(s *rules.Segmenter, revs []float64) {
	n := len(revs)
	recency := slices.Sorted(maps.Keys(sc.recency))
	slices.Reverse(recency) // worst first: most days
	frequency := slices.Sorted(maps.Keys(sc.frequency))
	for k := 2; k <= 5; k++ {
		i := ((k-1)*n+4)/5 - 1
		s.Recency[k-2] = nth(recency, sc.recency, i)
		s.Frequency[k-2] = nth(frequency, sc.frequency, i)
		s.Monetary[k-2] = revs[i]
	}
	sc.recency, sc.frequency = nil, nil
}

// nth returns the i-th value (from 0) of the values counted in hist, in
// the order of keys.
func nth(keys []int, hist map[int]int, i int) int {
	for _, k := range keys {
		if i < hist[k] {
			return k
		}
		i -= hist[k]
	}
	return keys[len(keys)-1]
}

// bound returns the account at ranking position pos at instant i, nil
// for -1; when several accounts share its revenue, it is completed once
// their ids are read.
func (sc *scan) bound(i int, revs []float64, pos int, a bool) *rules.RankBound {
	if pos < 0 {
		return nil
	}
	ranked := revs[sort.SearchFloat64s(revs, math.SmallestNonzeroFloat64):]
	rev := ranked[len(ranked)-1-pos]
	first := len(ranked) - sort.Search(len(ranked), func(k int) bool { return ranked[k] > rev })
	last := len(ranked) - sort.SearchFloat64s(ranked, rev) // past the tied ones
	if last-first == 1 {
		// Alone with its revenue: any id ranks the same against it.
		return &rules.RankBound{Revenue12m: rev, AccountID: "\U0010FFFF"}
	}
	sc.ties = append(sc.ties, tie{instant: i, rev: rev, pos: pos - first, a: a})
	return nil
}

// count is the last read: every figure, account by account.
func (sc *scan) count(c model.Client) error {
	o := &sc.opts
	if sc.fig.Lifecycle == nil {
		sc.start()
	}
	f := rules.Compute(o.Now, &c)
	sc.segs[0].Apply(c.Account.ID, &f)
	a := NewAccount(&c, f)
	if o.Each != nil {
		if err := o.Each(&a, &c); err != nil {
			return err
		}
	}
	if !o.Filter.Match(&a) {
		return nil
	}
	flagged := o.Flagged != nil && o.Flagged(a.ID)
	sc.fig.add(&a, flagged)
	revs := sc.revenueAt(&c, &f, nil)
	states := make([]state, len(revs))
	for i, rev := range revs {
		g := rules.Features{Revenue12m: rev}
		sc.segs[i].Apply(a.ID, &g)
		states[i] = state{revenue: rev, class: uint8(classIndex(g.ABC))}
	}
	countRetention(&sc.fig.Retention, states[sc.before[0]], states[0])
	if f.Revenue12m > 0 {
		sc.buyers = append(sc.buyers, f.Revenue12m)
		switch f.ABC {
		case rules.ClassA:
			sc.nA++
		case rules.ClassB:
			sc.nB++
		}
	}
	prev := sc.prevIdx
	for k, i := range sc.monthIdx {
		m := &sc.months[k]
		sc.monthSize[k]++
		countRetention(&m.Retention, states[prev], states[i])
		m.add(states[prev], states[i])
		if m.HasSnapshots {
			if snap, ok := o.Snapshots.Snapshot(m.Month, a.ID); ok {
				m.Snapshots++
				if snap.DaysInactive >= 90 {
					m.Inactive90++
				}
			}
		}
		prev = i
	}
	return nil
}

// start sets the figures up before the first account.
func (sc *scan) start() {
	o := &sc.opts
	sc.fig = Figures{Now: o.Now, Filter: o.Filter, Lifecycle: map[model.Lifecycle]int{}, RFM: RFMGrid{Segments: map[string]int{}}}
	for k, c := range Classes {
		sc.fig.ABC[k].Class = c
	}
	for k, s := range Sizes {
		sc.fig.PMG[k].Size = s
	}
	sc.months = make([]Month, len(o.Ends))
	sc.monthSize = make([]int, len(o.Ends))
	for k, end := range o.Ends {
		m := &sc.months[k]
		*m = Month{Month: MonthOf(end), End: end, HasSnapshots: o.Snapshots != nil && o.Snapshots.Kept(MonthOf(end))}
		for j, c := range Classes {
			m.Classes[j].Class = c
		}
	}
}

// countRetention counts one account, whose states before and after are
// was and is, in r.
func countRetention(r *Retention, was, is state) {
	switch {
	case was.buyer() && is.buyer():
		r.Before++
		r.Kept++
	case was.buyer():
		r.Before++
		r.Lost++
	case is.buyer():
		r.Gained++
	}
}

// finish turns the counts into figures.
func (sc *scan) finish() *Scanned {
	if sc.fig.Lifecycle == nil {
		sc.start()
	}
	fig := &sc.fig
	fig.finish()
	finishRetention(&fig.Retention)
	fig.Pareto = paretoOf(sc.buyers, sc.nA, sc.nB)
	out := &Scanned{Figures: *fig, Segmenter: sc.segs[0], Thresholds: &Thresholds{instants: sc.instants, segs: sc.segs}}
	if len(sc.months) == 0 {
		return out
	}
	for k := range sc.months {
		m := &sc.months[k]
		finishRetention(&m.Retention)
		for j := range m.Classes {
			c := &m.Classes[j]
			c.AccountShare = share(float64(c.Accounts), float64(sc.monthSize[k]))
			c.RevenueShare = share(c.Revenue, m.Revenue)
		}
	}
	out.Evolution = sc.months
	return out
}

func finishRetention(r *Retention) {
	if r.Before > 0 {
		r.Rate = float64(r.Kept) / float64(r.Before)
	}
}

// paretoOf returns the Pareto curve of the selected buyers' revenues, of
// which the nA first ranked are class A and the nB next class B, as
// Portfolio.pareto computes it.
func paretoOf(revs []float64, nA, nB int) Pareto {
	slices.SortFunc(revs, func(a, b float64) int { return cmp.Compare(b, a) })
	n := len(revs)
	out := Pareto{Ranked: n, Points: []ParetoPoint{{}}}
	if n == 0 {
		return out
	}
	var total float64
	for _, r := range revs {
		total += r
	}
	m := min(n+1, MaxParetoPoints)
	next, cum := 1, 0.0
	for k, r := range revs {
		cum += r
		pt := ParetoPoint{Accounts: float64(k+1) / float64(n), Revenue: cum / total}
		if k < nA {
			out.EndA, out.EndB = pt, pt
		} else if k < nA+nB {
			out.EndB = pt
		}
		if k+1 == (next*n+(m-1)/2)/(m-1) {
			out.Points = append(out.Points, pt)
			next++
		}
	}
	return out
}
