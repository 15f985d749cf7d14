// Package gcfloor keeps Go's garbage collector from running every few
// megabytes while a process's live heap is small. GOGC's rule collects
// once the heap has grown by as much as is live: a sync that keeps 10 MB
// live while it allocates 2 GB collects two hundred times, and spends a
// third of its time doing so. Start lets the heap grow to a floor before
// a collection instead, and leaves GOGC's rule above it.
//
// A collection's cost is what is live, and how often one runs is what
// is allocated over the room left above it: a pass over a million
// accounts keeps about 50 MB live and allocates 4 GB, so GOGC's 100
// collects it about ninety times (a fifth of its CPU), a 256 MB floor
// about twenty.
package gcfloor

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// DefaultFloor is the heap a process may grow to before a collection:
// what crmsync's commands use. In a container with a memory limit, Start
// takes at most a quarter of the limit (ContainerFloor).
const DefaultFloor = 256 << 20

// cgroupLimits are where a container's memory limit is read: cgroup v2,
// then v1.
var cgroupLimits = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

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
	floor = ContainerFloor(floor, cgroupLimits...)
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

// ContainerFloor is floor, or a quarter of the memory limit in the first
// of files that holds one when that is less: a heap let grow to the
// floor must not take a small container's memory. A file that is
// missing, says "max" or holds a limit above the machine's reach (cgroup
// v1's "none") sets no limit.
func ContainerFloor(floor uint64, files ...string) uint64 {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		limit, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || limit >= 1<<60 {
			return floor // "max", or v1's page-rounded maximum
		}
		return min(floor, limit/4)
	}
	return floor
}
