package rules

import (
	"hash/fnv"
	"math"
)

// InHoldout reports whether account accountID is in the rule's holdout: a
// share Holdout of accounts, drawn by a hash of the rule's name and the
// account's id, so the draw is the same at every pass and on every
// process, independent from one rule to another, and needs no state.
func (r *Rule) InHoldout(accountID string) bool {
	if r.Holdout <= 0 {
		return false
	}
	return draw(r.Name, accountID) < r.Holdout
}

// draw maps (rule, account) to a number uniform in [0, 1).
func draw(rule, accountID string) float64 {
	h := fnv.New64a()
	h.Write([]byte(rule))
	h.Write([]byte{0})
	h.Write([]byte(accountID))
	// FNV's low bits mix poorly on short inputs: finish with a 64-bit mixer
	// (splitmix64's) before keeping 53 bits.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / math.Exp2(53)
}
