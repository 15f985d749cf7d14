package app

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/rules"
)

func TestFormatFeaturesExplainsDaysInactive(t *testing.T) {
	at := "2026-10-28T10:00:00Z"
	tests := []struct {
		name string
		f    map[string]any
		want string
	}{
		{
			name: "since a won deal",
			f:    map[string]any{"abc": "A", "days_inactive": 23, "last_activity_at": at, "last_activity_from": "won_deal", "days_since_purchase": 23},
			want: "abc=A days_inactive=23 (since a won deal closed 2026-10-28) days_since_purchase=23",
		},
		{
			name: "since an activity",
			f:    map[string]any{"days_inactive": 71.0, "last_activity_at": "2026-09-10T08:03:00Z", "last_activity_from": "activity"},
			want: "days_inactive=71 (since an activity on 2026-09-10)",
		},
		{
			name: "since the account's creation",
			f:    map[string]any{"days_inactive": 674, "last_activity_at": "2025-01-15T00:00:00Z", "last_activity_from": "created"},
			want: "days_inactive=674 (since the account was created on 2025-01-15: no activity or purchase)",
		},
		{
			name: "from a ledger entry written before the source was kept",
			f:    map[string]any{"days_inactive": 97.0, "abc": "C"},
			want: "abc=C days_inactive=97",
		},
		{
			name: "with an unknown source",
			f:    map[string]any{"days_inactive": 5, "last_activity_at": at, "last_activity_from": "meeting"},
			want: "days_inactive=5 last_activity_at=" + at + " last_activity_from=meeting",
		},
		{
			name: "without days_inactive",
			f:    map[string]any{"last_activity_at": at, "last_activity_from": "won_deal"},
			want: "last_activity_at=" + at + " last_activity_from=won_deal",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatFeatures(tt.f); got != tt.want {
				t.Errorf("FormatFeatures() = %q\nwant               %q", got, tt.want)
			}
		})
	}
}

// TestFormatFeaturesOfComputedFeatures: the explanation of the features
// as rules.Features.Map gives them, here for a client that bought on
// 2026-10-28 at 10:00 CET and was last called long before.
func TestFormatFeaturesOfComputedFeatures(t *testing.T) {
	f := rules.Features{
		DaysInactive:     23,
		LastActivityAt:   time.Date(2026, 10, 28, 10, 0, 0, 0, time.FixedZone("CET", 3600)),
		LastActivityFrom: rules.FromPurchase,
	}
	got := FormatFeatures(f.Map())
	if !strings.Contains(got, " days_inactive=23 (since a won deal closed 2026-10-28) ") || strings.Contains(got, "last_activity") {
		t.Errorf("FormatFeatures() = %q, want days_inactive=23 (since a won deal closed 2026-10-28) and no last_activity pair", got)
	}
}
