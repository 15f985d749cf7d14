// Package faults holds the faults the vendor fakes can inject into their
// answers, shared so that every fake breaks the same way.
package faults

import (
	"net/http"
	"strconv"
	"sync"
)

// Cut is how an answer is truncated.
type Cut int

// How an answer is sent.
const (
	Whole     Cut = iota
	Short         // a complete response of the first half
	MidStream     // the whole length announced, the connection closed after half
)

// Truncator cuts every n-th 200 answer at half its length: the 1st, 3rd...
// cut is sent as a complete response of that half (a body that does not
// parse), the 2nd, 4th... announces its whole Content-Length and closes
// the connection after the half (a body cut mid-stream). It is safe for
// concurrent use; the zero value cuts nothing.
type Truncator struct {
	mu        sync.Mutex
	every     int // 0: never
	oks       int // 200 answers since Every
	truncated int
}

// Every cuts every n-th 200 answer from now on; 0 stops cutting.
func (t *Truncator) Every(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.every, t.oks = max(n, 0), 0
}

// On reports whether answers are being cut.
func (t *Truncator) On() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.every > 0
}

// Truncated returns the number of answers cut.
func (t *Truncator) Truncated() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.truncated
}

// Next tells how to send the next answer, which has status.
func (t *Truncator) Next(status int) Cut {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.every == 0 || status != http.StatusOK {
		return Whole
	}
	if t.oks++; t.oks%t.every != 0 {
		return Whole
	}
	if t.truncated++; t.truncated%2 == 1 {
		return Short
	}
	return MidStream
}

// Write sends body with status to w, cut as how says.
func Write(w http.ResponseWriter, status int, body []byte, how Cut) {
	if how != Whole {
		if how == MidStream {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		body = body[:len(body)/2]
	}
	w.WriteHeader(status)
	w.Write(body)
}
