// Package gcfloor keeps Go's garbage collector from running every few
// megabytes while a process's live heap is small. GOGC's rule collects
// once the heap has grown by as much as is live: a sync that keeps 10 MB
// live while it allocates 2 GB collects two hundred times, and spends a
// third of its time doing so. Start lets the heap grow to a floor before
// a collection instead, and leaves GOGC's rule above it.
package gcfloor

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// DefaultFloor is the heap a process may grow to before a collection:
// what crmsync's commands use.
const DefaultFloor = 128 << 20

// every is how often Start looks at the live heap.
const every = 100 * time.Millisecond

// maxPercent bounds the GOGC Start sets (a nearly empty heap).
const maxPercent = 2000

// Start sets GOGC every 100 ms, until ctx is done, so that the heap may
// grow to floor bytes before a collection while less than half of that is
// live; with more live, GOGC is 100, the default. It does nothing when
// GOGC is set in the environment: an operator's choice stands. It returns
// at once; GOGC goes back to 100 when ctx is done.
func Start(ctx context.Context, floor uint64) {
	if os.Getenv("GOGC") != "" {
		return
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		cur := 100
		for {
			select {
			case <-ctx.Done():
				debug.SetGCPercent(100)
				return
			case <-t.C:
			}
			metrics.Read(s)
			if p := Percent(s[0].Value.Uint64(), floor); p != cur {
				debug.SetGCPercent(p)
				cur = p
			}
		}
	}()
}

// Percent is the GOGC that lets a heap with live bytes live grow to floor
// before a collection: 100 (GOGC's default) once live is half of floor
// or more, at most maxPercent.
func Percent(live, floor uint64) int {
	if live == 0 || 2*live >= floor {
		return 100
	}
	p := floor*100/live - 100
	// Coarse steps, so that a heap moving a little does not set GOGC at
	// every look.
	p -= p % 50
	return int(min(max(p, 100), maxPercent))
}
