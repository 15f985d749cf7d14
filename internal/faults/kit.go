package faults

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
)

// Kit is what every fake shares: the test server it runs on (Start), and
// what its tests drive and read back: a hook run for each admitted request, counts of the requests admitted per
// kind, the requests received (entries of type R) with the answers per
// status, and the truncation of answers. A fake embeds it (through an
// unexported alias, so that only the methods its tests use show), counts
// requests with Admit and answers them through Serve. It is safe for concurrent use and
// has a lock of its own, never held while the hook or a fake's handler
// runs; the zero value is ready.
type Kit[R any] struct {
	srv  *httptest.Server
	cuts Truncator

	mu       sync.Mutex
	hook     func(kind string, n int)
	counts   map[string]int
	statuses map[int]int
	log      []R
}

// Start serves handler on a new test server; Close stops it.
func Start[R any](k *Kit[R], handler http.HandlerFunc) {
	k.srv = httptest.NewServer(handler)
}

// URL is the base URL of the fake (no trailing slash).
func (k *Kit[R]) URL() string { return k.srv.URL }

// Client returns an HTTP client for the fake.
func (k *Kit[R]) Client() *http.Client { return k.srv.Client() }

// Close stops the fake.
func (k *Kit[R]) Close() { k.srv.Close() }

// OnRequest sets a hook called for each admitted request, with its kind
// and how many of that kind came so far (1 for the first). It runs without
// the fake's locks, so it may change the fake's data: between the pages of
// a sync, for example.
func (k *Kit[R]) OnRequest(hook func(kind string, n int)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.hook = hook
}

// Admit counts a request of kind in k, then runs k's hook with the count.
func Admit[R any](k *Kit[R], kind string) {
	k.mu.Lock()
	if k.counts == nil {
		k.counts = map[string]int{}
	}
	k.counts[kind]++
	n, hook := k.counts[kind], k.hook
	k.mu.Unlock()
	if hook != nil {
		hook(kind, n)
	}
}

// Count returns how many requests of kind were admitted.
func (k *Kit[R]) Count(kind string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.counts[kind]
}

// Statuses returns how many answers the fake sent per HTTP status.
func (k *Kit[R]) Statuses() map[int]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[int]int, len(k.statuses))
	maps.Copy(out, k.statuses)
	return out
}

// Answered returns how many answers the fake sent with status.
func (k *Kit[R]) Answered(status int) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.statuses[status]
}

// Requests returns the requests received so far, in order.
func (k *Kit[R]) Requests() []R {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.log)
}

// ResetLog forgets the requests received (not the counts).
func (k *Kit[R]) ResetLog() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.log = nil
}

// TruncateEvery cuts every n-th 200 answer from now on at half its
// length, alternately as a short complete response and as one whose
// connection closes halfway (see Truncator). 0 stops cutting.
func (k *Kit[R]) TruncateEvery(n int) { k.cuts.Every(n) }

// Truncated returns the number of answers cut by TruncateEvery.
func (k *Kit[R]) Truncated() int { return k.cuts.Truncated() }

// Serve answers a request of k's fake: handle writes the answer to a
// writer that notes its status (and holds it back while answers are being
// cut), entry says what to log for the status answered, then the answer is
// counted, logged and sent, cut as k.TruncateEvery says.
func Serve[R any](k *Kit[R], w http.ResponseWriter, handle func(http.ResponseWriter), entry func(status int) R) {
	var held *Held
	rec := NewRecorder(w)
	if k.cuts.On() {
		held = &Held{ResponseWriter: w}
		rec.ResponseWriter = held
	}
	handle(rec)
	how := Whole
	if held != nil {
		how = k.cuts.Next(rec.Status)
	}
	e := entry(rec.Status)
	k.mu.Lock()
	if k.statuses == nil {
		k.statuses = map[int]int{}
	}
	k.statuses[rec.Status]++
	k.log = append(k.log, e)
	k.mu.Unlock()
	if held != nil {
		held.Send(how)
	}
}

// Refusals are the refusals a fake's tests inject into an API: statuses
// answered instead of the next requests (FailNext), kinds of records
// denied (Deny, Allow). The zero value refuses nothing.
type Refusals struct {
	Failures
	Denials
}

// Failures answers injected HTTP statuses instead of a fake's next
// requests. It is safe for concurrent use; the zero value fails nothing.
type Failures struct {
	mu   sync.Mutex
	next []int
}

// FailNext makes the next n admitted API requests answer status with the
// vendor's error body for it.
func (f *Failures) FailNext(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.next = append(f.next, status)
	}
}

// TakeFault returns the status f has a request answer instead, if any.
func TakeFault(f *Failures) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.next) == 0 {
		return 0, false
	}
	status := f.next[0]
	f.next = f.next[1:]
	return status, true
}

// Denials refuses reads of some kinds of records (an entity set, a scope
// missing). It is safe for concurrent use; the zero value denies nothing.
type Denials struct {
	mu     sync.Mutex
	denied map[string]bool
}

// Deny makes reads of kind answer the vendor's permission error; Allow
// lifts it.
func (d *Denials) Deny(kind string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.denied == nil {
		d.denied = map[string]bool{}
	}
	d.denied[kind] = true
}

// Allow lifts a Deny.
func (d *Denials) Allow(kind string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.denied, kind)
}

// IsDenied reports whether d denies reads of kind.
func IsDenied(d *Denials, kind string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.denied[kind]
}
