package rules

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

var testNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// ago returns testNow minus d.
func ago(d time.Duration) time.Time { return testNow.Add(-d) }

// won returns a won deal of amount closed at t.
func won(amount float64, t time.Time) model.Deal {
	return model.Deal{Amount: amount, Won: true, ClosedAt: t}
}

// intp returns a pointer to n.
func intp(n int) *int { return &n }

func TestCompute(t *testing.T) {
	created := ago(1000 * day)
	tests := []struct {
		name   string
		client model.Client
		want   Features
	}{
		{
			name:   "with nothing but a creation date",
			client: model.Client{Account: model.Account{CreatedAt: ago(100*day + 23*time.Hour)}},
			want:   Features{RevenueTrend: 1, DaysInactive: 100, LastActivityAt: ago(100*day + 23*time.Hour)},
		},
		{
			name:   "with a creation date after now",
			client: model.Client{Account: model.Account{CreatedAt: testNow.Add(time.Hour)}},
			want:   Features{RevenueTrend: 1, LastActivityAt: testNow},
		},
		{
			name: "with deals on the window boundaries",
			client: model.Client{Account: model.Account{CreatedAt: created}, Deals: []model.Deal{
				won(1, testNow),                     // in revenue_12m: the window is closed at now
				won(2, ago(year-time.Nanosecond)),   // in revenue_12m
				won(4, ago(year)),                   // exactly now-365d: previous window
				won(8, ago(2*year-time.Nanosecond)), // previous window
				won(16, ago(2*year)),                // exactly now-730d: neither
			}},
			want: Features{
				Revenue12m: 3, RevenuePrev12m: 12, RevenueTrend: 0.25, Purchases12m: 2,
				DaysInactive: 0, DaysSincePurchase: intp(0), LastActivityAt: testNow, LastActivityFrom: FromPurchase,
			},
		},
		{
			name: "with lost deals, undated won deals and a future deal",
			client: model.Client{Account: model.Account{CreatedAt: created}, Deals: []model.Deal{
				{Amount: 100, Won: false, ClosedAt: ago(10 * day)},
				{Amount: 200, Won: true},
				won(300, testNow.Add(5*day)),
				won(50, ago(40*day+23*time.Hour)),
			}},
			want: Features{
				Revenue12m: 50, RevenueTrend: 1, Purchases12m: 1, DaysInactive: 40,
				DaysSincePurchase: intp(0), LastActivityAt: ago(40*day + 23*time.Hour), LastActivityFrom: FromPurchase,
			},
		},
		{
			name: "with a single purchase 40 days ago and a zero previous year",
			client: model.Client{Account: model.Account{CreatedAt: created}, Deals: []model.Deal{
				won(500, ago(40*day+23*time.Hour)),
			}},
			want: Features{
				Revenue12m: 500, RevenueTrend: 1, Purchases12m: 1, DaysInactive: 40,
				DaysSincePurchase: intp(40), LastActivityAt: ago(40*day + 23*time.Hour), LastActivityFrom: FromPurchase,
			},
		},
		{
			name: "with revenue only in the previous year",
			client: model.Client{Account: model.Account{CreatedAt: created}, Deals: []model.Deal{
				won(500, ago(400*day)),
			}},
			want: Features{
				RevenuePrev12m: 500, RevenueTrend: 0, DaysInactive: 400,
				DaysSincePurchase: intp(400), LastActivityAt: ago(400 * day), LastActivityFrom: FromPurchase,
			},
		},
		{
			name: "with a contact more recently active than the account",
			client: model.Client{
				Account:  model.Account{CreatedAt: created, LastActivityAt: ago(10 * day)},
				Contacts: []model.Contact{{LastActivityAt: ago(3*day + time.Hour)}, {LastActivityAt: ago(20 * day)}},
			},
			want: Features{RevenueTrend: 1, DaysInactive: 3, LastActivityAt: ago(3*day + time.Hour), LastActivityFrom: FromActivity},
		},
		{
			name: "with the account more recently active than its contacts",
			client: model.Client{
				Account:  model.Account{CreatedAt: created, LastActivityAt: ago(10*day + 5*time.Hour)},
				Contacts: []model.Contact{{LastActivityAt: ago(20 * day)}, {}},
			},
			want: Features{RevenueTrend: 1, DaysInactive: 10, LastActivityAt: ago(10*day + 5*time.Hour), LastActivityFrom: FromActivity},
		},
		{
			name:   "with an activity just under a day ago",
			client: model.Client{Account: model.Account{CreatedAt: created, LastActivityAt: ago(day - time.Second)}},
			want:   Features{RevenueTrend: 1, DaysInactive: 0, LastActivityAt: ago(day - time.Second), LastActivityFrom: FromActivity},
		},
		{
			name: "with an activity in the future",
			client: model.Client{
				Account:  model.Account{CreatedAt: created, LastActivityAt: ago(10 * day)},
				Contacts: []model.Contact{{LastActivityAt: testNow.Add(48 * time.Hour)}},
			},
			want: Features{RevenueTrend: 1, DaysInactive: 0, LastActivityAt: testNow, LastActivityFrom: FromActivity},
		},
		{
			name: "with a purchase more recent than every activity",
			client: model.Client{
				Account:  model.Account{CreatedAt: created, LastActivityAt: ago(150 * day)},
				Contacts: []model.Contact{{LastActivityAt: ago(120 * day)}},
				Deals:    []model.Deal{won(900, ago(23*day+2*time.Hour)), won(100, ago(200*day))},
			},
			want: Features{
				Revenue12m: 1000, RevenueTrend: 1, Purchases12m: 2, DaysInactive: 23,
				DaysSincePurchase: intp(23), LastActivityAt: ago(23*day + 2*time.Hour), LastActivityFrom: FromPurchase,
			},
		},
		{
			name: "with a purchase older than the latest activity",
			client: model.Client{
				Account: model.Account{CreatedAt: created, LastActivityAt: ago(5 * day)},
				Deals:   []model.Deal{won(900, ago(80*day))},
			},
			want: Features{
				Revenue12m: 900, RevenueTrend: 1, Purchases12m: 1, DaysInactive: 5,
				DaysSincePurchase: intp(80), LastActivityAt: ago(5 * day), LastActivityFrom: FromActivity,
			},
		},
		{
			name: "with a contact active after the purchase",
			client: model.Client{
				Account:  model.Account{CreatedAt: created, LastActivityAt: ago(90 * day)},
				Contacts: []model.Contact{{LastActivityAt: ago(30 * day)}, {LastActivityAt: ago(2*day + time.Hour)}},
				Deals:    []model.Deal{won(900, ago(10*day))},
			},
			want: Features{
				Revenue12m: 900, RevenueTrend: 1, Purchases12m: 1, DaysInactive: 2,
				DaysSincePurchase: intp(10), LastActivityAt: ago(2*day + time.Hour), LastActivityFrom: FromActivity,
			},
		},
		{
			name: "with an activity at the very instant of the purchase",
			client: model.Client{
				Account: model.Account{CreatedAt: created, LastActivityAt: ago(7 * day)},
				Deals:   []model.Deal{won(900, ago(7*day))},
			},
			want: Features{
				Revenue12m: 900, RevenueTrend: 1, Purchases12m: 1, DaysInactive: 7,
				DaysSincePurchase: intp(7), LastActivityAt: ago(7 * day), LastActivityFrom: FromActivity,
			},
		},
		{
			name: "with a won deal closed after now: a purchase, not activity",
			client: model.Client{
				Account: model.Account{CreatedAt: created, LastActivityAt: ago(100 * day)},
				Deals:   []model.Deal{won(900, testNow.Add(3*day))},
			},
			want: Features{
				RevenueTrend: 1, DaysInactive: 100,
				DaysSincePurchase: intp(0), LastActivityAt: ago(100 * day), LastActivityFrom: FromActivity,
			},
		},
		{
			name: "with a won deal closed after now and no activity",
			client: model.Client{
				Account: model.Account{CreatedAt: created},
				Deals:   []model.Deal{won(900, testNow.Add(time.Second))},
			},
			want: Features{RevenueTrend: 1, DaysInactive: 1000, DaysSincePurchase: intp(0), LastActivityAt: created},
		},
		{
			name: "with a lost deal more recent than the activity",
			client: model.Client{
				Account: model.Account{CreatedAt: created, LastActivityAt: ago(100 * day)},
				Deals:   []model.Deal{{Amount: 900, Won: false, ClosedAt: ago(3 * day)}},
			},
			want: Features{RevenueTrend: 1, DaysInactive: 100, LastActivityAt: ago(100 * day), LastActivityFrom: FromActivity},
		},
		{
			name: "with a won deal without a close date",
			client: model.Client{
				Account: model.Account{CreatedAt: created, LastActivityAt: ago(100 * day)},
				Deals:   []model.Deal{{Amount: 900, Won: true}},
			},
			want: Features{RevenueTrend: 1, DaysInactive: 100, LastActivityAt: ago(100 * day), LastActivityFrom: FromActivity},
		},
		{
			name: "with no activity but a purchase",
			client: model.Client{
				Account:  model.Account{CreatedAt: created},
				Contacts: []model.Contact{{}, {}},
				Deals:    []model.Deal{won(900, ago(61*day)), won(100, ago(300*day))},
			},
			want: Features{
				Revenue12m: 1000, RevenueTrend: 1, Purchases12m: 2, DaysInactive: 61,
				DaysSincePurchase: intp(61), LastActivityAt: ago(61 * day), LastActivityFrom: FromPurchase,
			},
		},
		{
			name: "with a purchase recorded before the account was created",
			client: model.Client{
				Account: model.Account{CreatedAt: ago(10 * day)},
				Deals:   []model.Deal{won(900, ago(50*day))},
			},
			want: Features{
				Revenue12m: 900, RevenueTrend: 1, Purchases12m: 1, DaysInactive: 50,
				DaysSincePurchase: intp(50), LastActivityAt: ago(50 * day), LastActivityFrom: FromPurchase,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compute(testNow, &tt.client)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Compute() = %s\nwant        %s", fmtFeatures(got), fmtFeatures(tt.want))
			}
		})
	}
}

func TestComputeDoesNotAllocateWithoutPurchase(t *testing.T) {
	c := &model.Client{
		Account:  model.Account{CreatedAt: ago(400 * day), LastActivityAt: ago(50 * day)},
		Contacts: []model.Contact{{LastActivityAt: ago(20 * day)}, {LastActivityAt: ago(30 * day)}},
		Deals:    []model.Deal{{Amount: 900, Won: false, ClosedAt: ago(3 * day)}},
	}
	if n := testing.AllocsPerRun(100, func() { Compute(testNow, c) }); n != 0 {
		t.Errorf("Compute allocated %v times, want 0", n)
	}
}

func TestActivitySourceString(t *testing.T) {
	tests := []struct {
		s    ActivitySource
		want string
	}{
		{FromCreation, "created"},
		{FromActivity, "activity"},
		{FromPurchase, "won_deal"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("ActivitySource(%d).String() = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// fmtFeatures prints f with its days_since_purchase dereferenced.
func fmtFeatures(f Features) string {
	return fmt.Sprintf("%v last=%s from=%s", f.Map(), f.LastActivityAt.Format(time.RFC3339Nano), f.LastActivityFrom)
}

func TestFeaturesMap(t *testing.T) {
	tests := []struct {
		name string
		f    Features
		want map[string]any
	}{
		{
			name: "without a purchase",
			f: Features{
				Revenue12m: 1, RevenuePrev12m: 2, RevenueTrend: 0.5, DaysInactive: 7, ABC: "B", PMG: "small", RFM: RFM{R: 1, F: 2, M: 3, Segment: "hibernating"},
				LastActivityAt: time.Date(2025, 6, 8, 13, 30, 0, 0, time.FixedZone("CEST", 2*3600)), LastActivityFrom: FromActivity,
			},
			want: map[string]any{
				"revenue_12m": 1.0, "revenue_prev_12m": 2.0, "revenue_trend": 0.5,
				"days_inactive": 7, "last_activity_at": "2025-06-08T11:30:00Z", "last_activity_from": "activity", "days_since_purchase": nil, "purchases_12m": 0, "abc": "B",
				"pareto_top": false, "pmg": "small", "rfm_r": 1, "rfm_f": 2, "rfm_m": 3, "rfm_segment": "hibernating",
			},
		},
		{
			name: "with a purchase",
			f: Features{
				RevenueTrend: 1, DaysSincePurchase: intp(12), Purchases12m: 4, ABC: "A", ParetoTop: true, PMG: "large", RFM: RFM{R: 5, F: 5, M: 4, Segment: "champions"},
				DaysInactive: 12, LastActivityAt: ago(12 * day), LastActivityFrom: FromPurchase,
			},
			want: map[string]any{
				"revenue_12m": 0.0, "revenue_prev_12m": 0.0, "revenue_trend": 1.0,
				"days_inactive": 12, "last_activity_at": "2025-06-03T12:00:00Z", "last_activity_from": "won_deal", "days_since_purchase": 12, "purchases_12m": 4, "abc": "A",
				"pareto_top": true, "pmg": "large", "rfm_r": 5, "rfm_f": 5, "rfm_m": 4, "rfm_segment": "champions",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.f.Map()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Map() = %v, want %v", got, tt.want)
			}
			if v, ok := got["days_since_purchase"]; !ok || (tt.f.DaysSincePurchase == nil) != (v == nil) {
				t.Errorf("days_since_purchase = %#v, want an untyped nil only without a purchase", v)
			}
		})
	}
}
