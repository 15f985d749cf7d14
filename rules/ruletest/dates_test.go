package ruletest

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		in       string
		relative bool
		want     time.Time
		wantErr  string
	}{
		{name: "with a date", in: "2026-08-12", want: time.Date(2026, 8, 12, 0, 0, 0, 0, time.UTC)},
		{name: "with an RFC 3339 time", in: "2026-08-12T10:30:00+02:00", want: time.Date(2026, 8, 12, 8, 30, 0, 0, time.UTC)},
		{name: "with a time without zone", in: "2026-08-12T10:30:00", want: time.Date(2026, 8, 12, 10, 30, 0, 0, time.UTC)},
		{name: "with days before", in: "-100d", relative: true, want: now.Add(-100 * 24 * time.Hour)},
		{name: "with weeks and hours after", in: "+1w12h", relative: true, want: now.Add(7*24*time.Hour + 12*time.Hour)},
		{name: "with a relative time where only absolute ones go", in: "-100d", wantErr: `"-100d": want a date (2026-11-20) or an RFC 3339 time (2026-11-20T09:00:00Z)`},
		{name: "with a relative time without sign", in: "100d", relative: true, wantErr: `"100d": want a date (2026-08-12), an RFC 3339 time (2026-08-12T09:00:00Z) or a time relative to evaluation_time (-100d, +2w, -36h)`},
		{name: "with a bad duration", in: "-10x", relative: true, wantErr: `"-10x": invalid duration "10x" (want e.g. 30d, 2w, 12h, 90m)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDate(tt.in, now, tt.relative)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("parseDate(%q) error = %v, want %s", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("parseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
