// Package parallel spreads CPU-bound work over the machine's cores.
package parallel

import (
	"errors"
	"runtime"
	"sync"
)

// Ranges cuts [0, n) into at most GOMAXPROCS contiguous ranges, none
// shorter than least items unless n is, and calls fn on each range in its
// own goroutine (the first on the caller's). It returns once every fn has
// returned, with their errors joined. fn writes its results into the
// slots of its own range, so that the results keep the input's order.
func Ranges(n, least int, fn func(lo, hi int) error) error {
	parts := runtime.GOMAXPROCS(0)
	if least > 0 {
		parts = max(1, min(parts, n/least))
	}
	if parts <= 1 || n <= 1 {
		return fn(0, n)
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for k := 1; k < parts; k++ {
		wg.Go(func() { errs[k] = fn(n*k/parts, n*(k+1)/parts) })
	}
	errs[0] = fn(0, n/parts)
	wg.Wait()
	return errors.Join(errs...)
}
