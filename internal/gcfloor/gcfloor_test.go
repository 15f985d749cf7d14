package gcfloor

import "testing"

func TestPercent(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name string
		live uint64
		want int
	}{
		{name: "nothing live yet", live: 0, want: 100},
		{name: "half the floor live", live: 64 * mb, want: 100},
		{name: "more than the floor live", live: 900 * mb, want: 100},
		{name: "32 MB live grows to 128", live: 32 * mb, want: 300},
		{name: "10 MB live", live: 10 * mb, want: 1150},
		{name: "1 MB live, capped", live: 1 * mb, want: maxPercent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percent(tt.live, 128*mb); got != tt.want {
				t.Errorf("Percent(%d MB) = %d, want %d", tt.live/mb, got, tt.want)
			}
		})
	}
}
