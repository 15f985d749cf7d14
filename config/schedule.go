package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// scheduleHint says what a schedule looks like, in schedule errors.
const scheduleHint = `want 5 cron fields such as "0 7 * * 1-5", "@every 15m" or @daily`

// descriptorHint lists the schedules starting with "@".
const descriptorHint = "want @every <duration>, @hourly, @daily, @weekly, @monthly or @yearly"

// checkSchedule validates a schedule with the parser the scheduler uses
// (robfig/cron's standard parser, as workers.ParseSchedule): a 5-field
// cron spec, "@every <duration>" or a descriptor such as @daily. It
// returns the schedule in the form that parser reads: "@every 1d" becomes
// "@every 24h0m0s". It refuses what the parser would silently change (an
// interval under a second or not a whole number of seconds) and a TZ=
// prefix: schedules are read in the timezone key's zone.
func checkSchedule(s string) (string, error) {
	if rest, ok := strings.CutPrefix(s, "@every "); ok {
		norm, err := checkEvery(s, strings.TrimSpace(rest))
		if err != nil {
			return "", err
		}
		s = norm
	}
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return "", fmt.Errorf("invalid schedule %q: no TZ= prefix: schedules are read in the zone of the timezone key", s)
	}
	if !strings.HasPrefix(s, "@") && len(strings.Fields(s)) != 5 {
		return "", fmt.Errorf("invalid schedule %q (%s)", s, scheduleHint)
	}
	if _, err := cron.ParseStandard(s); err != nil {
		if strings.HasPrefix(s, "@") {
			return "", fmt.Errorf("invalid schedule %q: %v (%s)", s, err, descriptorHint)
		}
		return "", fmt.Errorf("invalid schedule %q: %v", s, err)
	}
	return s, nil
}

// checkEvery validates the duration of "@every <duration>" and returns the
// schedule with the duration as time.ParseDuration reads it.
func checkEvery(s, rest string) (string, error) {
	d, err := time.ParseDuration(rest)
	if err != nil {
		d, err = ParseDuration(rest)
	}
	if err != nil || d < time.Second || d%time.Second != 0 {
		return "", fmt.Errorf("invalid schedule %q (want a whole number of seconds, at least 1s, after @every, such as 15m or 1d)", s)
	}
	if _, err := time.ParseDuration(rest); err == nil {
		return s, nil
	}
	return "@every " + d.String(), nil
}
