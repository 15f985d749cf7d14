package sellsyfake

import (
	"net/http"
	"strconv"
	"time"
)

// quotaState counts the requests of the current second, minute and day.
type quotaState struct {
	second, minute       time.Time // start of the windows counted
	bySecond, byMinute   int
	byDay, byMonth       int
	dayStart, monthStart time.Time
}

// admit counts a request against the quotas and sets the remaining
// headers; when a quota was spent already it answers 429 (the request
// still counts, as Sellsy counts every request).
func (s *Server) admit(w http.ResponseWriter) bool {
	s.mu.Lock()
	now := s.opts.Now()
	q := &s.quota
	if sec := now.Truncate(s.opts.Second); !sec.Equal(q.second) {
		q.second, q.bySecond = sec, 0
	}
	if minute := now.Truncate(s.opts.Minute); !minute.Equal(q.minute) {
		q.minute, q.byMinute = minute, 0
	}
	if day := now.UTC().Truncate(24 * time.Hour); !day.Equal(q.dayStart) {
		q.dayStart, q.byDay = day, 0
	}
	spent := q.bySecond >= s.opts.SecondQuota || q.byMinute >= s.opts.MinuteQuota || q.byDay >= s.opts.DayQuota
	q.bySecond++
	q.byMinute++
	q.byDay++
	q.byMonth++
	h := w.Header()
	h.Set("X-Quota-Remaining-By-Second", strconv.Itoa(max(0, s.opts.SecondQuota-q.bySecond)))
	h.Set("X-Quota-Remaining-By-Minute", strconv.Itoa(max(0, s.opts.MinuteQuota-q.byMinute)))
	h.Set("X-Quota-Remaining-By-Day", strconv.Itoa(max(0, s.opts.DayQuota-q.byDay)))
	h.Set("X-Quota-Remaining-By-Month", strconv.Itoa(max(0, monthQuota-q.byMonth)))
	s.mu.Unlock()
	if spent {
		writeError(w, http.StatusTooManyRequests, "Too many requests", "quota_exceeded", nil)
		return false
	}
	return true
}

// Throttled returns how many requests were answered 429.
func (s *Server) Throttled() int { return s.Answered(http.StatusTooManyRequests) }

// SetQuotas changes the quotas from now on (a value ≤ 0 keeps the
// current one).
func (s *Server) SetQuotas(second, minute, day int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range []struct {
		v   int
		dst *int
	}{{second, &s.opts.SecondQuota}, {minute, &s.opts.MinuteQuota}, {day, &s.opts.DayQuota}} {
		if q.v > 0 {
			*q.dst = q.v
		}
	}
}
