package insights

import (
	"time"

	"github.com/crmsync/crmsync/rules"
)

// Classes are the ABC classes in table order; a class's index in it is
// what Month.Migration is indexed by.
var Classes = [3]string{rules.ClassA, rules.ClassB, rules.ClassC}

// classIndex returns the index of class in Classes (C for anything else).
func classIndex(class string) int {
	switch class {
	case rules.ClassA:
		return 0
	case rules.ClassB:
		return 1
	}
	return 2
}

// state is what an account was at an instant as far as its won deals
// tell: its revenue_12m and its ABC class over the whole portfolio.
type state struct {
	revenue float64
	class   uint8 // index in Classes
}

// buyer reports whether the account bought in the 12 months before.
func (s state) buyer() bool { return s.revenue > 0 }

// statesAt returns the state of every account of p at t: its
// revenue_12m from its won deals, and its ABC class from a
// rules.Segmenter over every account, as a pass at t would class it
// (the class depends on revenue_12m alone).
func (p *Portfolio) statesAt(t time.Time) []state {
	out := make([]state, len(p.Accounts))
	if t.Equal(p.Now) {
		for i := range p.Accounts {
			f := &p.Accounts[i].Features
			out[i] = state{revenue: f.Revenue12m, class: uint8(classIndex(f.ABC))}
		}
		return out
	}
	samples := make([]rules.Sample, len(p.Accounts))
	for i := range p.Accounts {
		samples[i] = rules.Sample{AccountID: p.Accounts[i].ID, Revenue12m: p.Accounts[i].revenue12mAt(t)}
	}
	s := rules.NewSegmenter(p.Segmentation, samples)
	for i := range samples {
		f := rules.Features{Revenue12m: samples[i].Revenue12m}
		s.Apply(samples[i].AccountID, &f)
		out[i] = state{revenue: f.Revenue12m, class: uint8(classIndex(f.ABC))}
	}
	return out
}

// statesMonthBefore returns the states one calendar month before Now,
// computed once.
func (p *Portfolio) statesMonthBefore() []state {
	p.monthBeforeOnce.Do(func() { p.monthBefore = p.statesAt(p.Now.AddDate(0, -1, 0)) })
	return p.monthBefore
}

// Retention compares the buyers (accounts with revenue_12m > 0) at two
// instants.
type Retention struct {
	Before int `json:"before"` // buyers at the earlier instant
	Kept   int `json:"kept"`   // of them, still buyers at the later one
	Gained int `json:"gained"` // buyers at the later instant that were not before
	Lost   int `json:"lost"`   // buyers before that are not any more
	// Rate is Kept / Before; 0 when Before is 0.
	Rate float64 `json:"rate"`
}

// retention compares the selected accounts' states before and after.
func retention(sel []bool, before, after []state) Retention {
	var r Retention
	for i := range sel {
		if !sel[i] {
			continue
		}
		was, is := before[i].buyer(), after[i].buyer()
		switch {
		case was && is:
			r.Before++
			r.Kept++
		case was:
			r.Before++
			r.Lost++
		case is:
			r.Gained++
		}
	}
	if r.Before > 0 {
		r.Rate = float64(r.Kept) / float64(r.Before)
	}
	return r
}
