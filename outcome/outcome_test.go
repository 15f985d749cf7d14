package outcome

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 0.00005 }

// TestWilson checks intervals against Newcombe (1998), Statistics in
// Medicine 17:857-872, table II (method 3), and the edge cases.
func TestWilson(t *testing.T) {
	tests := []struct {
		x, n      int64
		low, high float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
		{29, 29, 0.8830, 1},
	}
	for _, tt := range tests {
		r := Wilson(tt.x, tt.n)
		if !near(r.Low, tt.low) || !near(r.High, tt.high) {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", tt.x, tt.n, r.Low, r.High, tt.low, tt.high)
		}
	}
	if r := Wilson(0, 0); !math.IsNaN(r.Value) || !math.IsNaN(r.Low) {
		t.Errorf("Wilson(0, 0) = %+v, want NaN", r)
	}
}

// TestCompare checks the difference interval against Newcombe (1998),
// Statistics in Medicine 17:873-890, table II (method 10), which covers a
// small holdout and empty or full groups.
func TestCompare(t *testing.T) {
	tests := []struct {
		mx, mn, hx, hn   int64
		value, low, high float64
		significant      bool
	}{
		{56, 70, 48, 80, 0.2000, 0.0524, 0.3339, true},
		{9, 10, 3, 10, 0.6000, 0.1705, 0.8090, true},
		{6, 7, 2, 7, 0.5714, 0.0582, 0.8062, true},
		{5, 56, 0, 29, 0.0893, -0.0381, 0.1926, false},
		{0, 10, 0, 20, 0, -0.1611, 0.2775, false},
		{10, 10, 0, 20, 1, 0.6791, 1, true},
	}
	for _, tt := range tests {
		u := Compare(tt.mx, tt.mn, tt.hx, tt.hn)
		if !near(u.Value, tt.value) || !near(u.Low, tt.low) || !near(u.High, tt.high) || u.Significant != tt.significant {
			t.Errorf("Compare(%d/%d, %d/%d) = %.4f [%.4f, %.4f] significant %v, want %.4f [%.4f, %.4f] %v",
				tt.mx, tt.mn, tt.hx, tt.hn, u.Value, u.Low, u.High, u.Significant, tt.value, tt.low, tt.high, tt.significant)
		}
	}
	if u := Compare(3, 10, 0, 0); !math.IsNaN(u.Value) || u.Significant {
		t.Errorf("no holdout: %+v, want NaN", u)
	}
}
