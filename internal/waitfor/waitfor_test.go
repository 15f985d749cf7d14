package waitfor

import (
	"fmt"
	"testing"
	"time"
)

func TestWithin(t *testing.T) {
	n := 0
	state, ok := Within(time.Second, func() (bool, string) { n++; return n == 3, fmt.Sprint(n) })
	if !ok || state != "3" {
		t.Errorf("Within = %q, %v; want done at the third check", state, ok)
	}
	start := time.Now()
	state, ok = Within(50*time.Millisecond, func() (bool, string) { return false, "never" })
	if ok || state != "never" || time.Since(start) < 50*time.Millisecond {
		t.Errorf("Within = %q, %v after %s; want not done after the timeout", state, ok, time.Since(start))
	}
}

// fakeTB records a Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestUntilSaysWhatItSawLast(t *testing.T) {
	tb := &fakeTB{}
	Until(tb, 30*time.Millisecond, "the queue to drain", func() (bool, string) { return false, "2 pending" })
	if tb.msg != "waited 30ms for the queue to drain; last seen: 2 pending" {
		t.Errorf("failure = %q", tb.msg)
	}
}
