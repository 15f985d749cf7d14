package app

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/rules"
)

// The feature keys that tell what days_inactive counts from (see
// rules.Features.Map).
const (
	keyDaysInactive     = "days_inactive"
	keyLastActivityAt   = "last_activity_at"
	keyLastActivityFrom = "last_activity_from"
)

// FormatFeatures writes feature values as sorted key=value pairs, the way
// explanations show them. When the features say what days_inactive counts
// from, it is written next to it instead of as pairs of its own, so that
// a reader sees why a client that just bought is not quiet:
//
//	days_inactive=23 (since a won deal closed 2026-10-28)
func FormatFeatures(f map[string]any) string {
	since, ok := inactiveSince(f)
	keys := slices.Sorted(maps.Keys(f))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if ok && (k == keyLastActivityAt || k == keyLastActivityFrom) {
			continue
		}
		part := k + "=" + rules.FeatureText(f[k])
		if ok && k == keyDaysInactive {
			part += " (" + since + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " ")
}

// inactiveSince says what days_inactive counts from, with its date (UTC):
// "since an activity on 2026-09-10", "since a won deal closed 2026-10-28"
// or "since the account was created on 2025-01-15: no activity or
// purchase". It is false when f lacks days_inactive or does not say, as
// in ledger entries written before the features did.
func inactiveSince(f map[string]any) (string, bool) {
	from, _ := f[keyLastActivityFrom].(string)
	at, _ := f[keyLastActivityAt].(string)
	if _, ok := f[keyDaysInactive]; !ok || from == "" || at == "" {
		return "", false
	}
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		at = t.UTC().Format(time.DateOnly)
	}
	switch from {
	case "activity":
		return "since an activity on " + at, true
	case "won_deal":
		return "since a won deal closed " + at, true
	case "created":
		return "since the account was created on " + at + ": no activity or purchase", true
	}
	return "", false
}
