package rules

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// ABC classes.
const (
	ClassA = "A"
	ClassB = "B"
	ClassC = "C"
)

// PMG sizes.
const (
	SizeSmall  = "small"
	SizeMedium = "medium"
	SizeLarge  = "large"
)

// Sample is what segmentation needs of one account.
type Sample struct {
	AccountID    string
	Revenue12m   float64
	Purchases12m int
	// DaysSincePurchase is nil when the account never bought.
	DaysSincePurchase *int
}

// Sample returns the part of f that segmentation needs, for account accountID.
func (f Features) Sample(accountID string) Sample {
	return Sample{
		AccountID: accountID, Revenue12m: f.Revenue12m,
		Purchases12m: f.Purchases12m, DaysSincePurchase: f.DaysSincePurchase,
	}
}

// RankBound is one account's place in the ABC ranking: revenue_12m
// descending, then account id ascending.
type RankBound struct {
	Revenue12m float64 `json:"revenue_12m"`
	AccountID  string  `json:"account_id"`
}

// covers reports whether an account with revenue rev and id id ranks at or
// before b.
func (b *RankBound) covers(rev float64, id string) bool {
	return rev > b.Revenue12m || rev == b.Revenue12m && id <= b.AccountID
}

// Segmenter holds the portfolio-wide thresholds of one evaluation pass,
// computed once by NewSegmenter; Apply then segments each account in
// constant time without allocating, so shards can be evaluated
// independently. It is JSON-encodable to ship to shard workers, and safe
// for concurrent use once built.
type Segmenter struct {
	// Accounts is the number of accounts the thresholds were computed over.
	// With none, every RFM score is 1.
	Accounts int `json:"accounts"`
	// PMG holds the revenue_12m thresholds of medium and large accounts.
	PMG PMG `json:"pmg"`
	// LastA is the last account of class A in the ABC ranking; an account
	// with a positive revenue_12m is A when it ranks at or before it. Nil
	// when class A is empty.
	LastA *RankBound `json:"last_a"`
	// LastB is the last account of class B, or of class A when B is empty;
	// an account with a positive revenue_12m that is not A is B when it
	// ranks at or before it. Nil when A and B are empty.
	LastB *RankBound `json:"last_b"`
	// Recency[k-2], for scores k = 2..5: an account scores r >= k when it
	// bought and its days_since_purchase is below Recency[k-2]. The value
	// math.MaxInt stands for an account that never bought: any purchase
	// beats it.
	Recency [4]int `json:"recency"`
	// Frequency[k-2]: an account scores f >= k when its purchases_12m is
	// above Frequency[k-2].
	Frequency [4]int `json:"frequency"`
	// Monetary[k-2]: an account scores m >= k when its revenue_12m is
	// above Monetary[k-2].
	Monetary [4]float64 `json:"monetary"`
}

// Samples holds what segmentation needs of a whole portfolio column by
// column, with no pointer per account: about 28 bytes an account (its id,
// revenue_12m, purchases_12m and days_since_purchase), so that a pass
// over a million accounts keeps tens of megabytes, not hundreds.
type Samples struct {
	ids       []byte   // the account ids, end to end
	ends      []uint32 // where each id ends in ids
	revenue   []float64
	purchases []int32
	recency   []int32 // days since purchase; -1: never bought
}

// Grow makes room for n more accounts.
func (s *Samples) Grow(n int) {
	s.ends = slices.Grow(s.ends, n)
	s.revenue = slices.Grow(s.revenue, n)
	s.purchases = slices.Grow(s.purchases, n)
	s.recency = slices.Grow(s.recency, n)
}

// Add appends the sample of account id, whose features are f.
func (s *Samples) Add(id string, f *Features) {
	s.ids = append(s.ids, id...)
	s.ends = append(s.ends, uint32(len(s.ids)))
	s.revenue = append(s.revenue, f.Revenue12m)
	s.purchases = append(s.purchases, int32(min(f.Purchases12m, math.MaxInt32)))
	rec := int32(-1)
	if f.DaysSincePurchase != nil {
		rec = int32(min(*f.DaysSincePurchase, math.MaxInt32))
	}
	s.recency = append(s.recency, rec)
}

// Append adds the accounts of o after those of s.
func (s *Samples) Append(o *Samples) {
	base := uint32(len(s.ids))
	s.ids = append(s.ids, o.ids...)
	for _, end := range o.ends {
		s.ends = append(s.ends, base+end)
	}
	s.revenue = append(s.revenue, o.revenue...)
	s.purchases = append(s.purchases, o.purchases...)
	s.recency = append(s.recency, o.recency...)
}

// Len is the number of accounts.
func (s *Samples) Len() int { return len(s.ends) }

// ID returns the id of the i-th account added.
func (s *Samples) ID(i int) string {
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return string(s.ids[start:s.ends[i]])
}

// Revenue returns the revenue_12m of the i-th account added.
func (s *Samples) Revenue(i int) float64 { return s.revenue[i] }

// NewSegmenter computes the thresholds of segmentation seg over the whole
// portfolio samples, whose account ids must be unique (NewSegmenterOf).
func NewSegmenter(seg Segmentation, samples []Sample) *Segmenter {
	var all Samples
	all.Grow(len(samples))
	for i := range samples {
		f := Features{Revenue12m: samples[i].Revenue12m, Purchases12m: samples[i].Purchases12m, DaysSincePurchase: samples[i].DaysSincePurchase}
		all.Add(samples[i].AccountID, &f)
	}
	return NewSegmenterOf(seg, &all)
}

// NewSegmenterOf computes the thresholds of segmentation seg over the
// whole portfolio samples, whose account ids must be unique. It sorts
// copies of the samples' values: O(N log N), once per pass.
func NewSegmenterOf(seg Segmentation, samples *Samples) *Segmenter {
	n := samples.Len()
	s := &Segmenter{Accounts: n, PMG: seg.PMG}
	if n == 0 {
		return s
	}
	recency := slices.Clone(samples.recency)
	frequency := slices.Clone(samples.purchases)
	monetary := slices.Clone(samples.revenue)
	// Worst first: most days since purchase (never bought: worst of all),
	// fewest purchases, least revenue.
	slices.SortFunc(recency, func(a, b int32) int { return cmp.Compare(recencyOf(b), recencyOf(a)) })
	slices.Sort(frequency)
	slices.Sort(monetary)
	for k := 2; k <= 5; k++ {
		i := quintileIndex(k, n)
		s.Recency[k-2], s.Frequency[k-2], s.Monetary[k-2] = recencyOf(recency[i]), int(frequency[i]), monetary[i]
	}
	s.LastA, s.LastB = abcBounds(samples, monetary, seg.ABC)
	return s
}

// quintileIndex returns the index, in samples sorted worst first, of the
// account that an account must strictly beat to score at least k out of
// n accounts. Score k needs w >= (k-1)n/5 accounts strictly worse, that
// is beating the ceil((k-1)n/5)-th worst.
func quintileIndex(k, n int) int {
	return ((k-1)*n+4)/5 - 1
}

// recencyDays returns days since purchase, math.MaxInt when there is none.
func recencyDays(d *int) int {
	if d == nil {
		return math.MaxInt
	}
	return *d
}

// recencyOf is recencyDays of a Samples recency (-1: none).
func recencyOf(d int32) int {
	if d < 0 {
		return math.MaxInt
	}
	return int(d)
}

// abcBounds returns the last accounts of class A and of classes A or B in
// the ABC ranking of samples, nil for an empty class; revenues are the
// samples' revenues in ascending order (ABCPositions). Ids are only
// sorted among the accounts that tie with a bound.
func abcBounds(samples *Samples, revenues []float64, cut ABCCutoffs) (lastA, lastB *RankBound) {
	ranked := revenues[sort.SearchFloat64s(revenues, math.SmallestNonzeroFloat64):]
	posA, posB := ABCPositions(revenues, cut)
	return boundAt(samples, ranked, posA), boundAt(samples, ranked, posB)
}

// ABCPositions returns the positions, in the ABC ranking (largest revenue
// first, from 0), of the last account of class A and of the last of
// classes A or B, -1 for an empty class; revenues are the portfolio's
// revenues in ascending order. Accounts that tie on revenue add the same
// amounts to S_prev whatever their order, so the ranking by revenue alone
// gives each position its class.
func ABCPositions(revenues []float64, cut ABCCutoffs) (posA, posB int) {
	// Ranked positions are revenues[len-1], revenues[len-2], ... down to
	// the first positive revenue.
	ranked := revenues[sort.SearchFloat64s(revenues, math.SmallestNonzeroFloat64):]
	rev := func(pos int) float64 { return ranked[len(ranked)-1-pos] }
	total := 0.0
	for pos := range ranked {
		total += rev(pos)
	}
	posA, posB, before := -1, -1, 0.0
	for pos := range ranked {
		class := abcClass(before/total, cut)
		if class == ClassC {
			break
		}
		if class == ClassA {
			posA = pos
		}
		posB = pos
		before += rev(pos)
	}
	return posA, posB
}

// boundAt returns the account at position pos of the ABC ranking, nil
// when pos is -1; ranked holds the positive revenues in ascending order.
func boundAt(samples *Samples, ranked []float64, pos int) *RankBound {
	if pos < 0 {
		return nil
	}
	rev := ranked[len(ranked)-1-pos]
	// The accounts with revenue rev hold positions first, first+1, ... by id.
	first := len(ranked) - sort.Search(len(ranked), func(i int) bool { return ranked[i] > rev })
	var ids []string
	for i, r := range samples.revenue {
		if r == rev {
			ids = append(ids, samples.ID(i))
		}
	}
	slices.Sort(ids)
	return &RankBound{Revenue12m: rev, AccountID: ids[pos-first]}
}

// Apply fills the portfolio-wide features of f (ABC, ParetoTop, PMG, RFM)
// for account accountID from the thresholds, reading f's Revenue12m,
// Purchases12m and DaysSincePurchase. It takes constant time and does not
// allocate. An account that was not among the samples is placed where its
// values would have put it, without moving the thresholds.
func (s *Segmenter) Apply(accountID string, f *Features) {
	f.ABC = s.abc(accountID, f.Revenue12m)
	f.ParetoTop = f.ABC == ClassA
	f.PMG = s.PMG.size(f.Revenue12m)
	f.RFM = s.rfm(f)
}

// Class returns the ABC class of account id, whose revenue_12m is rev.
func (s *Segmenter) Class(id string, rev float64) string { return s.abc(id, rev) }

// abc returns the ABC class of an account with id id and revenue rev.
func (s *Segmenter) abc(id string, rev float64) string {
	switch {
	case !(rev > 0):
		return ClassC
	case s.LastA != nil && s.LastA.covers(rev, id):
		return ClassA
	case s.LastB != nil && s.LastB.covers(rev, id):
		return ClassB
	}
	return ClassC
}

// size returns the PMG size of an account with revenue rev: large from
// p.Large up, medium from p.Medium up, else small.
func (p PMG) size(rev float64) string {
	switch {
	case rev >= p.Large:
		return SizeLarge
	case rev >= p.Medium:
		return SizeMedium
	}
	return SizeSmall
}

// rfm returns the RFM scores and segment of f.
func (s *Segmenter) rfm(f *Features) RFM {
	if s.Accounts == 0 {
		return RFM{R: 1, F: 1, M: 1, Segment: RFMSegment(1, 1)}
	}
	days := recencyDays(f.DaysSincePurchase)
	r, fr, m := 1, 1, 1
	for i := range 4 {
		if days < s.Recency[i] {
			r++
		}
		if f.Purchases12m > s.Frequency[i] {
			fr++
		}
		if f.Revenue12m > s.Monetary[i] {
			m++
		}
	}
	return RFM{R: r, F: fr, M: m, Segment: RFMSegment(r, fr)}
}
