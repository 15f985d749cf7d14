package crmhttp

import (
	"math/rand/v2"
	"time"
)

// Backoff returns how long to wait before retry number attempt (0 for the
// first retry): a random duration in [d/2, d] where d = base·2^attempt,
// capped at max. Half the delay is jitter, so clients that failed together
// do not retry together.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for range attempt {
		d *= 2
		if d >= max || d <= 0 {
			d = max
			break
		}
	}
	d = min(d, max)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}
