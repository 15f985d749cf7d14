package app

import (
	"runtime"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/floor"
	"github.com/crmsync/crmsync/internal/gensample"
)

// benchFloor is the floor the scale benchmarks compare with: a plain Go
// program reading the same CSV files and computing the same features and
// matches (internal/floor).
func benchFloor(b *testing.B, dir string) {
	var res floor.Result
	for b.Loop() {
		var err error
		if res, err = floor.Run(dir, gensample.AsOf); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for _, v := range res.Flags {
		n += v
	}
	b.ReportMetric(float64(res.Scored), "accounts")
	b.ReportMetric(float64(n), "flags")
}

// floorNow runs the floor over the portfolio in dir once and returns
// how long it took: what a pass/N compares each pass with. It collects
// the floor's garbage after, so that the pass does not.
func floorNow(b *testing.B, dir string) time.Duration {
	start := time.Now()
	if _, err := floor.Run(dir, gensample.AsOf); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	runtime.GC()
	return d
}
