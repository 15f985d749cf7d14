// Package waitfor waits, in tests, for something that happens in the
// background: a queue to drain, a report to appear, a process to come up.
// It replaces hand-written polling loops, so that every wait has a
// deadline and every timeout says what was last seen.
package waitfor

import (
	"testing"
	"time"
)

// Tick is how often a condition is checked.
const Tick = 20 * time.Millisecond

// Until checks cond every Tick until it reports done, and fails the test
// when timeout passes first. The failure names what was awaited and the
// state cond last described, such as "3 of 100 emails delivered".
func Until(tb testing.TB, timeout time.Duration, what string, cond func() (done bool, state string)) {
	tb.Helper()
	if _, ok := Within(timeout, cond); !ok {
		_, state := cond()
		tb.Fatalf("waited %s for %s; last seen: %s", timeout, what, state)
	}
}

// Within checks cond every Tick until it reports done or timeout passes;
// it returns the last state and whether cond was done. For callers that
// fail in their own way, or that may not call t.Fatal (other goroutines).
func Within(timeout time.Duration, cond func() (done bool, state string)) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		done, state := cond()
		if done {
			return state, true
		}
		if time.Now().After(deadline) {
			return state, false
		}
		time.Sleep(Tick)
	}
}
