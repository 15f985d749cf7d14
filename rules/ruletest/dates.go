package ruletest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/config"
)

// dateLayouts are the absolute forms a date may take; those without a
// zone are UTC.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

// errDateSyntax is the hint given for a value that is not a date.
var errDateSyntax = errors.New("want a date (2026-08-12), an RFC 3339 time (2026-08-12T09:00:00Z) or a time relative to evaluation_time (-100d, +2w, -36h)")

// parseDate parses an absolute date or time, or, when relative is true, a
// signed duration such as -100d counted from now.
func parseDate(s string, now time.Time, relative bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if relative && (strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+")) {
		d, err := config.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", s, err)
		}
		if s[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if !relative {
		return time.Time{}, fmt.Errorf("%q: want a date (2026-11-20) or an RFC 3339 time (2026-11-20T09:00:00Z)", s)
	}
	return time.Time{}, fmt.Errorf("%q: %w", s, errDateSyntax)
}
