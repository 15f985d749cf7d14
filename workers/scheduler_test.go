package workers

import (
	"testing"
	"time"
)

func TestParseScheduleAlignsEveryAcrossProcesses(t *testing.T) {
	sc, err := ParseSchedule("@every 15m")
	if err != nil {
		t.Fatal(err)
	}
	// Two processes started 7 minutes apart must agree on the ticks, or
	// per-tick task ids would differ and each would enqueue its own copy.
	a := sc.Next(time.Date(2026, 11, 24, 10, 1, 0, 0, time.UTC))
	b := sc.Next(time.Date(2026, 11, 24, 10, 8, 0, 0, time.UTC))
	want := time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)
	if !a.Equal(want) || !b.Equal(want) {
		t.Fatalf("Next = %v and %v, want both %v", a, b, want)
	}
	if got := sc.Next(want); !got.Equal(want.Add(15 * time.Minute)) {
		t.Fatalf("Next(tick) = %v, want the following tick", got)
	}
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		spec    string
		from    time.Time
		want    time.Time
		wantErr bool
	}{
		{spec: "0 7 * * 1-5", from: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), want: time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)}, // Saturday → Monday
		{spec: "@hourly", from: time.Date(2026, 11, 21, 12, 30, 0, 0, time.UTC), want: time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)},
		{spec: "61 * * * *", wantErr: true},
		{spec: "@every nonsense", wantErr: true},
	}
	for _, tt := range tests {
		sc, err := ParseSchedule(tt.spec)
		if (err != nil) != tt.wantErr {
			t.Fatalf("ParseSchedule(%q) error = %v, wantErr %v", tt.spec, err, tt.wantErr)
		}
		if err != nil {
			continue
		}
		if got := sc.Next(tt.from); !got.Equal(tt.want) {
			t.Errorf("ParseSchedule(%q).Next(%v) = %v, want %v", tt.spec, tt.from, got, tt.want)
		}
	}
}

func TestTickIDIsStable(t *testing.T) {
	tick := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	if TickID("evaluate", tick) != TickID("evaluate", tick.In(time.FixedZone("X", 3600))) {
		t.Fatal("the same instant in two zones must give one tick id")
	}
	if TickID("evaluate", tick) == TickID("evaluate", tick.Add(time.Minute)) {
		t.Fatal("two ticks must differ")
	}
}
