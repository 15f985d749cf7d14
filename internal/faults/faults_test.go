package faults

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
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

func TestKitCountsLogsAndRunsTheHook(t *testing.T) {
	var k Kit[string]
	var hooked []string
	k.OnRequest(func(kind string, n int) { hooked = append(hooked, kind+strconv.Itoa(n)) })
	Admit(&k, "a")
	Admit(&k, "b")
	Admit(&k, "a")
	if !slices.Equal(hooked, []string{"a1", "b1", "a2"}) || k.Count("a") != 2 || k.Count("c") != 0 {
		t.Errorf("hook saw %v, Count(a) = %d; want [a1 b1 a2] and 2", hooked, k.Count("a"))
	}
	for _, status := range []int{http.StatusOK, http.StatusTooManyRequests, http.StatusOK} {
		Serve(&k, httptest.NewRecorder(), func(w http.ResponseWriter) {
			if status != http.StatusOK {
				w.WriteHeader(status)
			}
		}, func(got int) string { return strconv.Itoa(got) })
	}
	if got := k.Requests(); !slices.Equal(got, []string{"200", "429", "200"}) {
		t.Errorf("Requests() = %v, want the statuses answered, in order", got)
	}
	if st := k.Statuses(); st[200] != 2 || st[429] != 1 || len(st) != 2 || k.Answered(429) != 1 {
		t.Errorf("Statuses() = %v, Answered(429) = %d; want 2×200, 1×429", st, k.Answered(429))
	}
	k.ResetLog()
	if len(k.Requests()) != 0 || k.Count("a") != 2 {
		t.Errorf("after ResetLog: %d requests, Count(a) %d; want none, 2", len(k.Requests()), k.Count("a"))
	}
	if (&Kit[string]{}).Statuses() == nil {
		t.Error("a new Kit's Statuses() is nil, want an empty map")
	}
}

func TestKitServeCutsEveryNthAnswer(t *testing.T) {
	var k Kit[int]
	k.TruncateEvery(2)
	var bodies []string
	for range 2 {
		rec := httptest.NewRecorder()
		Serve(&k, rec, func(w http.ResponseWriter) { w.Write([]byte("abcdef")) }, func(s int) int { return s })
		bodies = append(bodies, rec.Body.String())
	}
	if !slices.Equal(bodies, []string{"abcdef", "abc"}) || k.Truncated() != 1 {
		t.Errorf("bodies %q, %d truncated; want the second cut", bodies, k.Truncated())
	}
}

func TestRefusals(t *testing.T) {
	var r Refusals
	if _, ok := TakeFault(&r.Failures); ok || IsDenied(&r.Denials, "x") {
		t.Fatal("the zero Refusals refused")
	}
	r.FailNext(2, http.StatusServiceUnavailable)
	r.Deny("x")
	var got []int
	for {
		status, ok := TakeFault(&r.Failures)
		if !ok {
			break
		}
		got = append(got, status)
	}
	if !slices.Equal(got, []int{503, 503}) || !IsDenied(&r.Denials, "x") || IsDenied(&r.Denials, "y") {
		t.Errorf("faults %v, x denied %v; want [503 503], true", got, IsDenied(&r.Denials, "x"))
	}
	r.Allow("x")
	if IsDenied(&r.Denials, "x") {
		t.Error("x still denied after Allow")
	}
}

func TestKitStartServesTheHandler(t *testing.T) {
	var k Kit[int]
	Start(&k, func(w http.ResponseWriter, r *http.Request) {
		Serve(&k, w, func(w http.ResponseWriter) { w.WriteHeader(http.StatusTeapot) }, func(s int) int { return s })
	})
	defer k.Close()
	resp, err := k.Client().Get(k.URL() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || !slices.Equal(k.Requests(), []int{http.StatusTeapot}) {
		t.Errorf("answered %d, logged %v; want 418 logged", resp.StatusCode, k.Requests())
	}
}
