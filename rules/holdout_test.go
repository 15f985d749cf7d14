package rules

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestHoldoutParse(t *testing.T) {
	tests := []struct {
		yaml    string
		holdout float64
		window  string
		err     string
	}{
		{"", 0, "720h0m0s", ""},
		{"    holdout: 10%\n    outcome_window: 14d\n", 0.10, "336h0m0s", ""},
		{"    holdout: \"0.5%\"\n", 0.005, "720h0m0s", ""},
		{"    holdout: 60%\n", 0, "", `r.yaml:4:14: rules[0].holdout: want a share of flagged accounts from 0.1% to 50%, such as "10%", got "60%"`},
		{"    holdout: 10\n", 0, "", `rules[0].holdout: want a share`},
		{"    outcome_window: 0d\n", 0, "", "rules[0].outcome_window: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			rs, err := Parse("r.yaml", []byte("rules:\n  - name: quiet\n    when: days_inactive > 90\n"+tt.yaml))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := rs.Rule("quiet")
			if r.Holdout != tt.holdout || r.OutcomeWindow.String() != tt.window {
				t.Errorf("holdout %v window %v, want %v %v", r.Holdout, r.OutcomeWindow, tt.holdout, tt.window)
			}
		})
	}
}

// TestInHoldout: the draw is stable, near the share asked for, and
// independent between rules.
func TestInHoldout(t *testing.T) {
	a := &Rule{Name: "quiet", Holdout: 0.10}
	b := &Rule{Name: "churning", Holdout: 0.10}
	const n = 20000
	var inA, inBoth int
	for i := range n {
		id := fmt.Sprintf("hubspot:%d", i)
		if a.InHoldout(id) != a.InHoldout(id) {
			t.Fatal("draw not stable")
		}
		if a.InHoldout(id) {
			inA++
			if b.InHoldout(id) {
				inBoth++
			}
		}
	}
	// 10% of 20,000 is 2,000 with a standard deviation of about 42.
	if math.Abs(float64(inA)-2000) > 200 {
		t.Errorf("%d of %d in the holdout, want about 2,000", inA, n)
	}
	// Independent draws: about 10% of those are in b's too.
	if math.Abs(float64(inBoth)-200) > 70 {
		t.Errorf("%d in both holdouts, want about 200", inBoth)
	}
	if (&Rule{Name: "x"}).InHoldout("a") {
		t.Error("no holdout set, account held out")
	}
}
