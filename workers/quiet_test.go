package workers

import (
	"testing"
	"time"
)

func TestQuietHoursNext(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	ny, _ := time.LoadLocation("America/New_York")
	evening := QuietHours{From: 19 * time.Hour, To: 8*time.Hour + 30*time.Minute, Weekends: true}
	lunch := QuietHours{From: 12 * time.Hour, To: 14 * time.Hour}
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	tests := []struct {
		name string
		q    QuietHours
		in   time.Time
		loc  *time.Location
		want time.Time
	}{
		{"allowed stays", evening, at(paris, 2026, 11, 24, 10, 0), paris, at(paris, 2026, 11, 24, 10, 0)},
		{"3 a.m. waits for 08:30", evening, at(paris, 2026, 11, 24, 3, 0), paris, at(paris, 2026, 11, 24, 8, 30)},
		{"evening waits for next morning", evening, at(paris, 2026, 11, 24, 22, 15), paris, at(paris, 2026, 11, 25, 8, 30)},
		{"at the window's start", evening, at(paris, 2026, 11, 24, 19, 0), paris, at(paris, 2026, 11, 25, 8, 30)},
		{"at the window's end", evening, at(paris, 2026, 11, 24, 8, 30), paris, at(paris, 2026, 11, 24, 8, 30)},
		{"friday night waits for monday", evening, at(paris, 2026, 11, 27, 20, 0), paris, at(paris, 2026, 11, 30, 8, 30)},
		{"saturday noon waits for monday", evening, at(paris, 2026, 11, 28, 12, 0), paris, at(paris, 2026, 11, 30, 8, 30)},
		{"in the contact's zone, not UTC", evening, time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), ny, at(ny, 2026, 11, 24, 8, 30)},
		{"window within a day", lunch, at(paris, 2026, 11, 24, 12, 30), paris, at(paris, 2026, 11, 24, 14, 0)},
		{"no weekends rule", lunch, at(paris, 2026, 11, 28, 10, 0), paris, at(paris, 2026, 11, 28, 10, 0)},
		// Europe/Paris leaves summer time on Sunday 2026-10-25 at 03:00 → 02:00.
		{"across the autumn DST change", evening, at(paris, 2026, 10, 23, 23, 0), paris, at(paris, 2026, 10, 26, 8, 30)},
		// America/New_York enters summer time on 2026-03-08 at 02:00 → 03:00.
		{"across the spring DST change", QuietHours{From: 22 * time.Hour, To: 2*time.Hour + 30*time.Minute}, at(ny, 2026, 3, 7, 23, 0), ny, at(ny, 2026, 3, 8, 3, 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.q.Next(tt.in, tt.loc)
			if !got.Equal(tt.want) {
				t.Fatalf("Next(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if got.Sub(tt.in) < 0 {
				t.Fatal("Next went back in time")
			}
		})
	}
}

func TestZonesFallBack(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	z := &zones{}
	if got := z.get(paris, "", "Not/AZone", "Asia/Tokyo"); got.String() != "Asia/Tokyo" {
		t.Errorf("got %v, want the first valid zone", got)
	}
	if got := z.get(paris, "", "Not/AZone"); got != paris {
		t.Errorf("got %v, want the fallback", got)
	}
}
