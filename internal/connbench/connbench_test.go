package connbench

import (
	"testing"
	"time"
)

func TestRateSpent(t *testing.T) {
	tests := []struct {
		name        string
		pulls       []int // work of each pull
		perWindow   int
		wantWork    int
		wantFastest time.Duration
	}{
		{name: "within one window", pulls: []int{20}, perWindow: 20, wantWork: 20},
		{name: "one over the window", pulls: []int{21}, perWindow: 20, wantWork: 21, wantFastest: time.Second},
		{name: "pulls add up", pulls: []int{41, 123}, perWindow: 20, wantWork: 164, wantFastest: 8 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Rate
			for _, n := range tt.pulls {
				r.Spent(n, tt.perWindow, time.Second)
			}
			if r.Work != tt.wantWork || r.Fastest != tt.wantFastest {
				t.Errorf("work %d, fastest %s; want %d, %s", r.Work, r.Fastest, tt.wantWork, tt.wantFastest)
			}
		})
	}
}
