package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration as Go does ("90m", "12h30m") and also
// accepts whole days and weeks ("30d", "2w", "1d12h"), which is how sales
// people count.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	rest := s
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		i := strings.Index(rest, u.suffix)
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 30d, 2w, 12h, 90m)", s)
		}
		total += time.Duration(n) * u.unit
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 30d, 2w, 12h, 90m)", s)
		}
		total += d
	}
	return total, nil
}

// FormatDuration writes d the way ParseDuration reads it, with days when d
// is a whole number of days.
func FormatDuration(d time.Duration) string {
	day := 24 * time.Hour
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}
