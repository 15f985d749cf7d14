// Package merge makes one portfolio out of several sources. When the same
// company sits in two CRMs (a HubSpot for marketing-led accounts, a Sellsy
// for invoicing, a CSV of legacy clients), its accounts are joined into one
// portfolio account: revenue summed (the deals of every source), activity
// the latest, contacts united and deduplicated by email, and the id, name
// and owner from the source first in precedence.
//
// Records stay stored per source: merging happens when a pass reads the
// portfolio. Build reads every account once and returns the Groups of
// accounts that are one company; a View reads the store through them. So a
// source that stops having the company removes only its part at the next
// pass, and taking a merge rule out undoes what it joined.
package merge

import (
	"cmp"
	"slices"
)

// Ways to recognise one company in two sources, for Rules.By.
const (
	// ByDomain joins accounts whose website domains are equal (public
	// email domains such as gmail.com never join).
	ByDomain = "domain"
	// ByContactEmail joins accounts that share a contact's email address.
	ByContactEmail = "contact_email"
)

// Methods lists the valid values of Rules.By.
var Methods = []string{ByDomain, ByContactEmail}

// Rules say which accounts of different sources are one company. Two
// accounts of the same source are never joined: each source's own
// duplicates are that CRM's business.
type Rules struct {
	// Mapping lists companies explicitly, each as the internal ids
	// (source:id) of its accounts. It is applied first.
	Mapping [][]string
	// By are the automatic matches, applied in order after Mapping.
	By []string
	// Precedence orders the sources: a merged account takes its id, name,
	// owner and other single-valued fields from the first source listed
	// that has them. Sources not listed come after, by name.
	Precedence []string
}

// Groups maps each merged portfolio account, by the id of its primary
// account (the one from the source first in precedence), to the ids of
// all its accounts, primary first and in precedence order. Accounts that
// merge with nothing are not in it.
type Groups map[string][]string

// Primaries returns, for every account in a group, the id of its group's
// primary.
func (g Groups) Primaries() map[string]string {
	out := make(map[string]string, len(g)*2)
	for p, members := range g {
		for _, m := range members {
			out[m] = p
		}
	}
	return out
}

// Stats say what a Build joined, for reports and logs.
type Stats struct {
	Accounts int `json:"accounts"` // accounts read, every source together
	Groups   int `json:"groups"`   // portfolio accounts made of several
	Merged   int `json:"merged"`   // accounts folded into another source's
	// Conflicts counts the joins refused because they would have put two
	// accounts of one source in the same company; Examples describe the
	// first few.
	Conflicts int      `json:"conflicts"`
	Examples  []string `json:"examples,omitempty"`
	// UnknownIDs counts mapping ids that match no stored account.
	UnknownIDs int `json:"unknown_ids,omitempty"`
}

// maxExamples is how many conflicts Stats describes.
const maxExamples = 10

// ranker orders sources by precedence.
type ranker map[string]int

func newRanker(precedence []string) ranker {
	r := make(ranker, len(precedence))
	for i, s := range precedence {
		if _, ok := r[s]; !ok {
			r[s] = i
		}
	}
	return r
}

// compare orders two (source, id) pairs: precedence, then source name
// for sources not listed, then id.
func (r ranker) compare(srcA, idA, srcB, idB string) int {
	ra, oka := r[srcA]
	rb, okb := r[srcB]
	if !oka {
		ra = len(r)
	}
	if !okb {
		rb = len(r)
	}
	return cmp.Or(cmp.Compare(ra, rb), cmp.Compare(srcA, srcB), cmp.Compare(idA, idB))
}

// sortMembers orders the accounts of a group by precedence.
func (r ranker) sortMembers(ids []string, source func(string) string) {
	slices.SortFunc(ids, func(a, b string) int { return r.compare(source(a), a, source(b), b) })
}
