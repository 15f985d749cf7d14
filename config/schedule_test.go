package config

import "testing"

func TestCheckSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    string // normalised form; empty means in == want
		wantErr string
	}{
		{in: "0 7 * * 1-5"},
		{in: "*/15 8-18 * * *"},
		{in: "0,30 9 1,15 1-12/3 0"},
		{in: "5/10 * * * 6"},
		{in: "0 7 * * MON-FRI"},
		{in: "0 9 1 JAN,JUL ?"},
		{in: "@every 15m"},
		{in: "@every 1d", want: "@every 24h0m0s"},
		{in: "@every 1w2h", want: "@every 170h0m0s"},
		{in: "@hourly"},
		{in: "@daily"},
		{in: "@midnight"},
		{in: "@weekly"},
		{in: "@monthly"},
		{in: "@yearly"},
		{in: "@annually"},
		{in: "@every 0s", wantErr: `invalid schedule "@every 0s" (want a whole number of seconds, at least 1s, after @every, such as 15m or 1d)`},
		{in: "@every 1500ms", wantErr: `invalid schedule "@every 1500ms" (want a whole number of seconds, at least 1s, after @every, such as 15m or 1d)`},
		{in: "@every soon", wantErr: `invalid schedule "@every soon" (want a whole number of seconds, at least 1s, after @every, such as 15m or 1d)`},
		{in: "@fortnightly", wantErr: `invalid schedule "@fortnightly": unrecognized descriptor: @fortnightly (want @every <duration>, @hourly, @daily, @weekly, @monthly or @yearly)`},
		{in: "0 7 * *", wantErr: `invalid schedule "0 7 * *" (want 5 cron fields such as "0 7 * * 1-5", "@every 15m" or @daily)`},
		{in: "0 7 * * * *", wantErr: `invalid schedule "0 7 * * * *" (want 5 cron fields such as "0 7 * * 1-5", "@every 15m" or @daily)`},
		{in: "", wantErr: `invalid schedule "" (want 5 cron fields such as "0 7 * * 1-5", "@every 15m" or @daily)`},
		{in: "60 * * * *", wantErr: `invalid schedule "60 * * * *": end of range (60) above maximum (59): 60`},
		{in: "0 0 0 * *", wantErr: `invalid schedule "0 0 0 * *": beginning of range (0) below minimum (1): 0`},
		{in: "0 0 * 13 *", wantErr: `invalid schedule "0 0 * 13 *": end of range (13) above maximum (12): 13`},
		{in: "0 0 * * 7", wantErr: `invalid schedule "0 0 * * 7": end of range (7) above maximum (6): 7`},
		{in: "0 0 * * 5-1", wantErr: `invalid schedule "0 0 * * 5-1": beginning of range (5) beyond end of range (1): 5-1`},
		{in: "*/0 * * * *", wantErr: `invalid schedule "*/0 * * * *": step of range should be a positive number: */0`},
		{in: "0 0 * * MONDAY", wantErr: `invalid schedule "0 0 * * MONDAY": failed to parse int from MONDAY: strconv.Atoi: parsing "MONDAY": invalid syntax`},
		{in: "TZ=Europe/Paris 0 7 * * *", wantErr: `invalid schedule "TZ=Europe/Paris 0 7 * * *": no TZ= prefix: schedules are read in the zone of the timezone key`},
		{in: "CRON_TZ=UTC", wantErr: `invalid schedule "CRON_TZ=UTC": no TZ= prefix: schedules are read in the zone of the timezone key`},
	}
	for _, tt := range tests {
		got, err := checkSchedule(tt.in)
		want := tt.want
		if want == "" {
			want = tt.in
		}
		switch {
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("checkSchedule(%q) error = %v, want %q", tt.in, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != want):
			t.Errorf("checkSchedule(%q) = %q, %v, want %q", tt.in, got, err, want)
		}
	}
}
