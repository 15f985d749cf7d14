package parallel

import (
	"errors"
	"sync/atomic"
	"testing"
)

func TestRanges(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		least int
	}{
		{"empty", 0, 1},
		{"one", 1, 1},
		{"below min", 10, 64},
		{"many", 10_000, 16},
		{"no min", 7, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := make([]int32, tt.n)
			err := Ranges(tt.n, tt.least, func(lo, hi int) error {
				if tt.least > 0 && hi-lo < tt.least && !(lo == 0 && hi == tt.n) {
					t.Errorf("range [%d, %d) is below min %d", lo, hi, tt.least)
				}
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&seen[i], 1)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("item %d seen %d times, want 1", i, c)
				}
			}
		})
	}
}

func TestRangesErrors(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int32
	err := Ranges(1000, 1, func(lo, hi int) error {
		calls.Add(1)
		if lo == 0 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if calls.Load() == 0 {
		t.Fatal("fn never called")
	}
}
