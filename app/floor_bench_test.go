package app

import (
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/floor"
	"github.com/crmsync/crmsync/internal/gensample"
)

// floors holds, per size, the floor's mean duration in this run, which
// pass/N divides its own by (x-floor).
var floors sync.Map // int → time.Duration

// benchFloor is the floor the scale benchmarks compare with: a plain Go
// program reading the same CSV files and computing the same features and
// matches (internal/floor).
func benchFloor(b *testing.B, dir string, size int) {
	var res floor.Result
	for b.Loop() {
		var err error
		if res, err = floor.Run(dir, gensample.AsOf); err != nil {
			b.Fatal(err)
		}
	}
	floors.Store(size, b.Elapsed()/time.Duration(b.N))
	n := 0
	for _, v := range res.Flags {
		n += v
	}
	b.ReportMetric(float64(res.Scored), "accounts")
	b.ReportMetric(float64(n), "flags")
}
