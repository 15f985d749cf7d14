package workers

import (
	"sync"
	"time"
)

// QuietHours is a daily window (and optionally the weekend) during which
// no email reaches a contact, in the contact's own time zone. A message
// due inside it is delayed to the next allowed time, never dropped.
type QuietHours struct {
	From, To time.Duration // offsets from local midnight; To < From crosses midnight
	Weekends bool          // Saturdays and Sundays are quiet all day
}

// Next returns t when it is allowed, else the first allowed instant after
// t, computed in loc so that daylight-saving changes move it correctly.
func (q QuietHours) Next(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	for range 10 { // a weekend and a window take at most four steps
		switch {
		case q.Weekends && weekend(lt):
			lt = localDay(lt, 1, 0)
		case q.inWindow(lt):
			lt = q.windowEnd(lt)
		default:
			return lt
		}
	}
	return lt
}

func weekend(t time.Time) bool {
	return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday
}

// sinceMidnight is the wall-clock time of day of t.
func sinceMidnight(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
}

func (q QuietHours) inWindow(t time.Time) bool {
	if q.From == q.To {
		return false
	}
	tod := sinceMidnight(t)
	if q.From < q.To {
		return tod >= q.From && tod < q.To
	}
	return tod >= q.From || tod < q.To
}

// windowEnd is the end of the window t is in: today at To, or tomorrow at
// To when the window crosses midnight and t is before it.
func (q QuietHours) windowEnd(t time.Time) time.Time {
	if q.From > q.To && sinceMidnight(t) >= q.From {
		return localDay(t, 1, q.To)
	}
	return localDay(t, 0, q.To)
}

// localDay returns the wall-clock time at in t's location, days after t's
// date. When a daylight-saving change skips that wall-clock time (02:30 on
// a spring-forward night), it returns the instant just after the skip.
func localDay(t time.Time, days int, at time.Duration) time.Time {
	y, m, d := t.Date()
	h, min := int(at/time.Hour), int(at%time.Hour/time.Minute)
	c := time.Date(y, m, d+days, h, min, 0, 0, t.Location())
	if got := sinceMidnight(c); got < at {
		c = c.Add(at - got) // time.Date chose the offset before the gap
	}
	return c
}

// zones loads IANA time zones once each.
type zones struct {
	cache sync.Map // name → *time.Location
}

// get returns the first valid zone among names, else fallback (UTC when
// nil).
func (z *zones) get(fallback *time.Location, names ...string) *time.Location {
	for _, n := range names {
		if n == "" {
			continue
		}
		if l, ok := z.cache.Load(n); ok {
			return l.(*time.Location)
		}
		if l, err := time.LoadLocation(n); err == nil {
			z.cache.Store(n, l)
			return l
		}
	}
	if fallback == nil {
		return time.UTC
	}
	return fallback
}
