package rules

import (
	"cmp"
	"slices"
)

// Revenue is one account's revenue over the last 12 months, the input of
// ClassifyABC.
type Revenue struct {
	AccountID  string
	Revenue12m float64
}

// ClassifyABC returns the ABC class of every account in revs, keyed by
// account id. Accounts with a positive revenue are ranked by revenue
// descending (ties by account id ascending); S_prev is the share of the
// total revenue made by the accounts ranked before one. An account is A
// when S_prev < cut.A, B when S_prev < cut.B, else C. Accounts without a
// positive revenue are C. Revenues are summed in rank order, so the
// result does not depend on the order of revs.
//
// It builds a map over the whole portfolio; NewSegmenter and
// Segmenter.Apply give the same classes from two bounds, and scale.
func ClassifyABC(revs []Revenue, cut ABCCutoffs) map[string]string {
	classes := make(map[string]string, len(revs))
	ranked := make([]Revenue, 0, len(revs))
	for _, r := range revs {
		classes[r.AccountID] = ClassC
		if r.Revenue12m > 0 {
			ranked = append(ranked, r)
		}
	}
	slices.SortFunc(ranked, func(a, b Revenue) int {
		if c := cmp.Compare(b.Revenue12m, a.Revenue12m); c != 0 {
			return c
		}
		return cmp.Compare(a.AccountID, b.AccountID)
	})
	var total float64
	for _, r := range ranked {
		total += r.Revenue12m
	}
	var before float64
	for _, r := range ranked {
		classes[r.AccountID] = abcClass(before/total, cut)
		before += r.Revenue12m
	}
	return classes
}

// abcClass returns the class of an account whose predecessors make share
// sPrev of the revenue.
func abcClass(sPrev float64, cut ABCCutoffs) string {
	switch {
	case sPrev < cut.A:
		return ClassA
	case sPrev < cut.B:
		return ClassB
	default:
		return ClassC
	}
}
