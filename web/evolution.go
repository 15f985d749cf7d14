package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/insights"
)

// EvolutionData gives the evolution page its months.
type EvolutionData interface {
	// Evolution returns one insights.Month per month end of ends (see
	// insights.MonthEnds) over the accounts of the book that f selects:
	// revenue-based figures backfilled from the won deals, activity-based
	// ones from the monthly snapshots where they were kept.
	Evolution(ctx context.Context, f insights.Filter, ends []time.Time) ([]insights.Month, error)
	// Location is the time zone months are cut in (config timezone).
	Location() *time.Location
}

// The months the evolution page shows: by default, and at most.
const (
	defaultMonths = 12
	maxMonths     = 36
)

// evolutionView is the evolution page's data.
type evolutionView struct {
	Book   *Book
	Months []insights.Month // oldest first, the last complete month last
	Count  int              // the months asked for
	Last   string           // the last month shown
	// Classes are the ABC classes, in the order of Month.Classes.
	Classes []string
	// Chosen is the month whose migration matrix is shown: the latest,
	// or the one asked for with ?month=.
	Chosen    insights.Month
	Revenue   template.HTML // revenue_12m by class
	Retention template.HTML
	// MonthLinks are the URLs choosing each month's matrix, by month.
	MonthLinks map[string]template.URL
	// SnapshotsSince is the first month shown with snapshots ("" when
	// none); SnapshotsEarlier is true when it is the first month shown,
	// so they may have started before.
	SnapshotsSince   string
	SnapshotsEarlier bool
}

// classColors are the series colours of classes A, B and C.
var classColors = [3]string{"#1f5fa8", "#e08e0b", "#7f8c8d"}

// evolution serves the evolution page: the filtered book month by month,
// up to the last complete month before the book was scored.
func (s *Server) evolution(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := monthsParam(q.Get("months"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	book, err := s.data.Book(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := s.data.Location()
	last := lastCompleteMonth(book.Scores.At(), loc)
	f := filterOf(r)
	months, err := s.months(r.Context(), f, insights.MonthEnds(last, n, loc))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := evolutionView{Book: book, Months: months, Count: n, Chosen: months[n-1], Last: months[n-1].Month, Classes: insights.Classes[:]}
	if raw := q.Get("month"); raw != "" {
		t, err := monthParam(raw, last, loc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if v.Chosen, err = s.chosenMonth(r.Context(), f, t, months, loc); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	v.charts(s)
	v.MonthLinks = make(map[string]template.URL, len(months))
	for _, m := range months {
		l := url.Values{"month": {m.Month}, "months": {strconv.Itoa(n)}}
		v.MonthLinks[m.Month] = link("/evolution", f, l)
	}
	for k, m := range months {
		if m.HasSnapshots {
			v.SnapshotsSince, v.SnapshotsEarlier = m.Month, k == 0
			break
		}
	}
	s.render(w, r, "evolution", page{Title: "Evolution", Nav: "evolution", Filter: f, Data: v})
}

// months returns the months ending at ends: one call to Data, which
// reads the portfolio once for all of them.
func (s *Server) months(ctx context.Context, f insights.Filter, ends []time.Time) ([]insights.Month, error) {
	months, err := s.data.Evolution(ctx, f, ends)
	if err == nil && len(months) != len(ends) {
		err = fmt.Errorf("evolution: %d months, want %d", len(months), len(ends))
	}
	return months, err
}

// monthsParam reads ?months=, defaultMonths when absent.
func monthsParam(raw string) (int, error) {
	if raw == "" {
		return defaultMonths, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxMonths {
		return 0, fmt.Errorf("months: %q, want a number of months from 1 to %d", raw, maxMonths)
	}
	return n, nil
}

// DefaultMonthEnds returns the ends of the months the evolution page
// shows by default for a book scored at now, in loc: the app prepares
// their thresholds when it builds the book.
func DefaultMonthEnds(now time.Time, loc *time.Location) []time.Time {
	return insights.MonthEnds(lastCompleteMonth(now, loc), defaultMonths, loc)
}

// lastCompleteMonth returns an instant of the last month of loc that
// ended at or before now.
func lastCompleteMonth(now time.Time, loc *time.Location) time.Time {
	t := now.In(loc)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc).AddDate(0, -1, 0)
}

// monthParam reads ?month= ("2006-01"), a month of loc that ended by
// the end of last's.
func monthParam(raw string, last time.Time, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01", raw, loc)
	if err != nil {
		return t, fmt.Errorf("month: %q, want a month such as 2026-10", raw)
	}
	if t.After(last) {
		return t, fmt.Errorf("month: %s is not over yet; the last complete month is %s", raw, last.Format("2006-01"))
	}
	return t, nil
}

// chosenMonth returns the month of t: from months when it is one of
// them, else computed alone.
func (s *Server) chosenMonth(ctx context.Context, f insights.Filter, t time.Time, months []insights.Month, loc *time.Location) (insights.Month, error) {
	for _, m := range months {
		if m.Month == t.Format("2006-01") {
			return m, nil
		}
	}
	one, err := s.data.Evolution(ctx, f, insights.MonthEnds(t, 1, loc))
	if err == nil && len(one) != 1 {
		err = fmt.Errorf("%d months, want 1", len(one))
	}
	if err != nil {
		return insights.Month{}, fmt.Errorf("evolution of %s: %w", t.Format("2006-01"), err)
	}
	return one[0], nil
}

// charts draws revenue_12m by class and the retention over the months.
func (v *evolutionView) charts(s *Server) {
	xs := make([]string, len(v.Months))
	byClass := make([]line, len(insights.Classes))
	for k, c := range insights.Classes {
		byClass[k] = line{Label: "class " + c, Color: classColors[k], Values: make([]float64, len(v.Months))}
	}
	ret := []line{{Label: "retention", Color: "#1e7b45", Values: make([]float64, len(v.Months))}}
	for i, m := range v.Months {
		xs[i] = m.Month
		for k := range byClass {
			byClass[k].Values[i] = m.Classes[k].Revenue
		}
		ret[0].Values[i] = m.Retention.Rate
	}
	v.Revenue = linesSVG("revenue_12m by class at each month end", xs, byClass, func(x float64) string { return s.loc.Money(x, s.cur) })
	v.Retention = linesSVG("retention: buyers of the month before still buying", xs, ret, func(x float64) string {
		return s.loc.Number(x*100) + " %"
	})
}

// link returns path with f and more as its query.
func link(path string, f insights.Filter, more url.Values) template.URL {
	q, _ := url.ParseQuery(filterQuery(f))
	for k, v := range more {
		q[k] = v
	}
	if len(q) == 0 {
		return template.URL(path)
	}
	return template.URL(path + "?" + q.Encode())
}
