package config_test

import (
	"testing"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/workers"
)

// TestScheduleAsTheSchedulerReadsIt: every schedule the config accepts,
// the scheduler parses, in the form the config stores it; what the
// scheduler refuses the config refuses; and the config refuses only the
// intervals the scheduler would round (stricter).
func TestScheduleAsTheSchedulerReadsIt(t *testing.T) {
	tests := []struct {
		spec     string
		stricter bool // the scheduler accepts it, rounding it: the config refuses it
	}{
		{spec: "0 7 * * 1-5"}, {spec: "*/15 8-18 * * *"}, {spec: "0 7 * * MON-FRI"}, {spec: "0 9 1 JAN,JUL ?"},
		{spec: "0 0 * * 1,"}, {spec: "@every 15m"}, {spec: "@every 1d"}, {spec: "@every 2w"}, {spec: "@hourly"},
		{spec: "@midnight"}, {spec: "@annually"}, {spec: "@every"}, {spec: "@fortnightly"}, {spec: "0 7 * *"},
		{spec: "0 7 * * * *"}, {spec: "60 * * * *"}, {spec: "0 0 * * 7"}, {spec: "*/0 * * * *"},
		{spec: "0 0 * * MONDAY"}, {spec: "0 0 L * *"},
		{spec: "@every 0s", stricter: true}, {spec: "@every 1500ms", stricter: true},
	}
	for _, tt := range tests {
		data := []byte("notify: {outbox: ./outbox}\nrule_files: [rules/a.yaml]\nevaluate: {schedule: \"" + tt.spec + "\"}\n")
		c, err := config.Parse("c.yaml", data, "testdata")
		if err != nil {
			if _, serr := workers.ParseSchedule(tt.spec); serr == nil && !tt.stricter {
				t.Errorf("%q: config refuses (%v), the scheduler accepts", tt.spec, err)
			}
			continue
		}
		if tt.stricter {
			t.Errorf("%q: config accepts as %q, want refused", tt.spec, c.Evaluate.Schedule)
		}
		if _, err := workers.ParseSchedule(c.Evaluate.Schedule); err != nil {
			t.Errorf("%q: config accepts as %q, the scheduler refuses: %v", tt.spec, c.Evaluate.Schedule, err)
		}
	}
}
