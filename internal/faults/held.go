package faults

import (
	"bytes"
	"cmp"
	"net/http"
)

// Held keeps an answer back, so that it can be sent cut: a fake's handler
// writes to it, then Send writes what it kept to the ResponseWriter.
type Held struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

// WriteHeader keeps the first status.
func (h *Held) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

// Write keeps p.
func (h *Held) Write(p []byte) (int, error) { return h.body.Write(p) }

// Send writes the answer kept (200 when no status was set), cut as how
// says.
func (h *Held) Send(how Cut) {
	Write(h.ResponseWriter, cmp.Or(h.status, http.StatusOK), h.body.Bytes(), how)
}

// Recorder remembers the status a fake's handler wrote (200 until it
// writes one), so the fake can count its answers by status.
type Recorder struct {
	http.ResponseWriter
	Status int
}

// NewRecorder records what is written to w.
func NewRecorder(w http.ResponseWriter) *Recorder {
	return &Recorder{ResponseWriter: w, Status: http.StatusOK}
}

// WriteHeader notes the status and writes it.
func (r *Recorder) WriteHeader(code int) {
	r.Status = code
	r.ResponseWriter.WriteHeader(code)
}
