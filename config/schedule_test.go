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
		{in: "@every 15m"},
		{in: "@every 1d", want: "@every 24h0m0s"},
		{in: "@every 1w2h", want: "@every 170h0m0s"},
		{in: "@hourly"},
		{in: "@daily"},
		{in: "@weekly"},
		{in: "@monthly"},
		{in: "@yearly"},
		{in: "@every 0s", wantErr: `invalid schedule "@every 0s" (want a positive duration after @every, such as 15m or 1d)`},
		{in: "@every soon", wantErr: `invalid schedule "@every soon" (want a positive duration after @every, such as 15m or 1d)`},
		{in: "@fortnightly", wantErr: `unknown schedule "@fortnightly" (want @every <duration>, @hourly, @daily, @weekly, @monthly or @yearly)`},
		{in: "0 7 * *", wantErr: `invalid schedule "0 7 * *" (want 5 cron fields such as "0 7 * * 1-5", "@every 15m" or @daily)`},
		{in: "", wantErr: `invalid schedule "" (want 5 cron fields such as "0 7 * * 1-5", "@every 15m" or @daily)`},
		{in: "60 * * * *", wantErr: `invalid schedule "60 * * * *": minute field: value 60 out of range 0-59`},
		{in: "0 0 0 * *", wantErr: `invalid schedule "0 0 0 * *": day of month field: value 0 out of range 1-31`},
		{in: "0 0 * 13 *", wantErr: `invalid schedule "0 0 * 13 *": month field: value 13 out of range 1-12`},
		{in: "0 0 * * 7", wantErr: `invalid schedule "0 0 * * 7": day of week field: value 7 out of range 0-6`},
		{in: "0 0 * * 5-1", wantErr: `invalid schedule "0 0 * * 5-1": day of week field: invalid range "5-1"`},
		{in: "*/0 * * * *", wantErr: `invalid schedule "*/0 * * * *": minute field: invalid step "0"`},
		{in: "0 0 * * MON", wantErr: `invalid schedule "0 0 * * MON": day of week field: invalid value "MON"`},
		{in: "0 0 * * 1,", wantErr: `invalid schedule "0 0 * * 1,": day of week field: invalid value ""`},
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
