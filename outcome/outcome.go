// Package outcome measures whether a rule's messages change anything: it
// compares how often the accounts it messaged re-engaged with how often
// those of its holdout did (DESIGN "Outcomes: did the nudges work?").
package outcome

import "math"

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// Rate is a proportion with its 95% Wilson score interval.
type Rate struct {
	Successes, Trials int64
	Value, Low, High  float64
}

// Wilson returns the rate x/n with its 95% Wilson score interval, which
// stays within [0, 1] and behaves with small n and rates near 0 or 1
// (Newcombe 1998, method 3). With n = 0 every field but the counts is NaN.
func Wilson(x, n int64) Rate {
	r := Rate{Successes: x, Trials: n}
	if n <= 0 {
		r.Value, r.Low, r.High = math.NaN(), math.NaN(), math.NaN()
		return r
	}
	p, nf, z2 := float64(x)/float64(n), float64(n), z95*z95
	center := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z95 / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	r.Value, r.Low, r.High = p, math.Max(0, center-half), math.Min(1, center+half)
	return r
}

// Uplift is the difference between the re-engagement rate of messaged
// accounts and that of the holdout, with its 95% interval.
type Uplift struct {
	Messaged, Holdout Rate
	Value, Low, High  float64
	// Significant is set when the interval excludes 0: the messages made
	// a difference, up or down.
	Significant bool
}

// Compare returns the uplift of messaged over holdout, with Newcombe's
// hybrid score interval for a difference of two independent proportions
// (Newcombe 1998, method 10), built from the two Wilson intervals. With no
// trial in either group the figures are NaN.
func Compare(messagedX, messagedN, holdoutX, holdoutN int64) Uplift {
	m, h := Wilson(messagedX, messagedN), Wilson(holdoutX, holdoutN)
	u := Uplift{Messaged: m, Holdout: h, Value: m.Value - h.Value}
	if math.IsNaN(u.Value) {
		u.Low, u.High = math.NaN(), math.NaN()
		return u
	}
	u.Low = u.Value - math.Sqrt(sq(m.Value-m.Low)+sq(h.High-h.Value))
	u.High = u.Value + math.Sqrt(sq(m.High-m.Value)+sq(h.Value-h.Low))
	u.Significant = u.Low > 0 || u.High < 0
	return u
}

func sq(x float64) float64 { return x * x }
