package faults

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestTruncatorCutsEveryNthOK(t *testing.T) {
	var tr Truncator
	if tr.Next(http.StatusOK) != Whole || tr.On() {
		t.Fatal("the zero Truncator cut an answer")
	}
	tr.Every(2)
	var got []Cut
	for _, status := range []int{200, 200, 500, 200, 200, 200, 200} {
		got = append(got, tr.Next(status))
	}
	want := []Cut{Whole, Short, Whole, Whole, MidStream, Whole, Short}
	if !slices.Equal(got, want) || tr.Truncated() != 3 {
		t.Errorf("cuts %v (%d truncated), want %v (3)", got, tr.Truncated(), want)
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		how        Cut
		body, size string
	}{
		{Whole, "abcdef", ""},
		{Short, "abc", ""},
		{MidStream, "abc", "6"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		Write(rec, http.StatusOK, []byte("abcdef"), tt.how)
		if rec.Body.String() != tt.body || rec.Header().Get("Content-Length") != tt.size {
			t.Errorf("Write(%v) = %q (Content-Length %q), want %q (%q)", tt.how, rec.Body, rec.Header().Get("Content-Length"), tt.body, tt.size)
		}
	}
}

func TestHeldSendsWhatItKept(t *testing.T) {
	rec := httptest.NewRecorder()
	h := &Held{ResponseWriter: rec}
	h.WriteHeader(http.StatusAccepted)
	h.WriteHeader(http.StatusTeapot)
	if _, err := h.Write([]byte("kept")); err != nil {
		t.Fatal(err)
	}
	if rec.Body.Len() != 0 {
		t.Fatalf("wrote %q before Send", rec.Body.String())
	}
	h.Send(Whole)
	if rec.Code != http.StatusAccepted || rec.Body.String() != "kept" {
		t.Errorf("sent %d %q, want 202 %q", rec.Code, rec.Body.String(), "kept")
	}
}
