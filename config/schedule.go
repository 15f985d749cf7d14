package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// descriptors are the predefined schedules cron parsers accept.
var descriptors = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

// cronFields are the five fields of a cron spec and their bounds.
var cronFields = []struct {
	name     string
	min, max int
}{
	{"minute", 0, 59},
	{"hour", 0, 23},
	{"day of month", 1, 31},
	{"month", 1, 12},
	{"day of week", 0, 6},
}

// checkSchedule validates a schedule: a 5-field cron spec, "@every
// <duration>" or a descriptor such as @daily. It returns the schedule in the
// form cron libraries read: "@every 1d" becomes "@every 24h0m0s".
func checkSchedule(s string) (string, error) {
	if rest, ok := strings.CutPrefix(s, "@every "); ok {
		return checkEvery(s, strings.TrimSpace(rest))
	}
	if strings.HasPrefix(s, "@") {
		for _, d := range descriptors {
			if s == d {
				return s, nil
			}
		}
		return "", fmt.Errorf("unknown schedule %q (want @every <duration>, @hourly, @daily, @weekly, @monthly or @yearly)", s)
	}
	fields := strings.Fields(s)
	if len(fields) != len(cronFields) {
		return "", fmt.Errorf(`invalid schedule %q (want 5 cron fields such as "0 7 * * 1-5", "@every 15m" or @daily)`, s)
	}
	for i, f := range fields {
		if err := checkCronField(f, cronFields[i].min, cronFields[i].max); err != nil {
			return "", fmt.Errorf("invalid schedule %q: %s field: %w", s, cronFields[i].name, err)
		}
	}
	return s, nil
}

func checkEvery(s, rest string) (string, error) {
	if d, err := time.ParseDuration(rest); err == nil && d > 0 {
		return s, nil
	}
	d, err := ParseDuration(rest)
	if err != nil || d <= 0 {
		return "", fmt.Errorf("invalid schedule %q (want a positive duration after @every, such as 15m or 1d)", s)
	}
	return "@every " + d.String(), nil
}

// checkCronField validates a list of items "*", "n" or "n-m", each with an
// optional "/step".
func checkCronField(f string, lo, hi int) error {
	for item := range strings.SplitSeq(f, ",") {
		rng, step, hasStep := strings.Cut(item, "/")
		if hasStep {
			if n, err := strconv.Atoi(step); err != nil || n < 1 {
				return fmt.Errorf("invalid step %q", step)
			}
		}
		if rng == "*" {
			continue
		}
		from, to, isRange := strings.Cut(rng, "-")
		a, err := cronNumber(from, lo, hi)
		if err != nil {
			return err
		}
		if !isRange {
			continue
		}
		b, err := cronNumber(to, lo, hi)
		if err != nil {
			return err
		}
		if a > b {
			return fmt.Errorf("invalid range %q", rng)
		}
	}
	return nil
}

func cronNumber(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("invalid value %q", s)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("value %d out of range %d-%d", n, lo, hi)
	}
	return n, nil
}
