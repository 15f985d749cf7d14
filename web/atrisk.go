package web

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/insights"
)

// atRiskPageSize is how many accounts a page of the list shows.
const atRiskPageSize = 50

// atRiskRow is an account flagged now, with why: the rules flagging it
// and the features they read, as the pass scored them.
type atRiskRow struct {
	ID, Name     string
	Owner        string // name, else email, else id; "" without owner
	OwnerEmail   string
	Rules        []string
	DaysInactive int
	Revenue12m   float64
	RevenueTrend float64
	ABC, Segment string
	URL          template.URL // the account page
}

// atRiskView is the at-risk page's data.
type atRiskView struct {
	Book      *Book
	Rows      []atRiskRow // the page's rows
	Total     int         // rows over every page
	Revenue   float64     // their revenue_12m
	Sort, Dir string
	Page      int
	Pages     int
	Prev      template.URL // "" on the first page
	Next      template.URL // "" on the last page
	SortLinks map[string]template.URL
	CSV       template.URL
	Classes   []string // for the class filter
}

// atRiskSorts are the orders of the at-risk list and each one's
// default direction.
var atRiskSorts = map[string]string{"value": "desc", "days": "desc", "owner": "asc"}

// atRiskOrder is the order asked for with ?sort= and ?dir=.
type atRiskOrder struct{ sort, dir string }

// atRiskOrderOf reads the order from the query: by value (revenue_12m)
// descending unless it says otherwise.
func atRiskOrderOf(q url.Values) (atRiskOrder, error) {
	o := atRiskOrder{sort: cmp.Or(q.Get("sort"), "value"), dir: q.Get("dir")}
	def, ok := atRiskSorts[o.sort]
	if !ok {
		return o, fmt.Errorf("sort: %q, want value, days or owner", o.sort)
	}
	switch o.dir {
	case "":
		o.dir = def
	case "asc", "desc":
	default:
		return o, fmt.Errorf("dir: %q, want asc or desc", o.dir)
	}
	return o, nil
}

// query returns o as query values.
func (o atRiskOrder) query() url.Values {
	return url.Values{"sort": {o.sort}, "dir": {o.dir}}
}

// compare orders two rows by o, then by revenue_12m descending, then by
// id.
func (o atRiskOrder) compare(a, b *atRiskRow) int {
	var c int
	switch o.sort {
	case "value":
		c = cmp.Compare(a.Revenue12m, b.Revenue12m)
	case "days":
		c = cmp.Compare(a.DaysInactive, b.DaysInactive)
	case "owner":
		c = strings.Compare(strings.ToLower(a.Owner), strings.ToLower(b.Owner))
	}
	if o.dir == "desc" {
		c = -c
	}
	return cmp.Or(c, cmp.Compare(b.Revenue12m, a.Revenue12m), strings.Compare(a.ID, b.ID))
}

// atRiskRows returns the accounts of book flagged now that f selects, in
// order o. It reads the flagged accounts only, atRiskBatch at a time.
func atRiskRows(ctx context.Context, book *Book, f insights.Filter, o atRiskOrder) ([]atRiskRow, error) {
	ids := slices.Sorted(maps.Keys(book.Flagged))
	var rows []atRiskRow
	for from := 0; from < len(ids); from += atRiskBatch {
		accts, err := book.Scores.Scored(ctx, ids[from:min(from+atRiskBatch, len(ids))])
		if err != nil {
			return nil, err
		}
		for i := range accts {
			if a := &accts[i]; f.Match(a) {
				rows = append(rows, atRiskRowOf(a, book.Flagged[a.ID]))
			}
		}
	}
	slices.SortFunc(rows, func(a, b atRiskRow) int { return o.compare(&a, &b) })
	return rows, nil
}

// atRiskBatch is how many flagged accounts atRiskRows reads at a time.
const atRiskBatch = 500

// atRiskRowOf is the row of account a, flagged by ruleNames.
func atRiskRowOf(a *insights.Account, ruleNames []string) atRiskRow {
	ft := &a.Features
	return atRiskRow{ID: a.ID, Name: a.Name, Owner: cmp.Or(a.OwnerName, a.OwnerEmail, a.OwnerID),
		OwnerEmail: a.OwnerEmail, Rules: ruleNames, DaysInactive: ft.DaysInactive, Revenue12m: ft.Revenue12m,
		RevenueTrend: ft.RevenueTrend, ABC: ft.ABC, Segment: ft.RFM.Segment,
		URL: template.URL("/accounts/" + url.PathEscape(a.ID))}
}

// atRisk serves the at-risk page: the flagged accounts of the filtered
// book, atRiskPageSize at a time.
func (s *Server) atRisk(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o, err := atRiskOrderOf(q)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pageNo, err := pageParam(q.Get("page"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	book, err := s.data.Book(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := filterOf(r)
	rows, err := atRiskRows(r.Context(), book, f, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := atRiskView{Book: book, Classes: insights.Classes[:], Total: len(rows), Sort: o.sort, Dir: o.dir, Pages: max(1, (len(rows)+atRiskPageSize-1)/atRiskPageSize)}
	for i := range rows {
		v.Revenue += rows[i].Revenue12m
	}
	v.Page = min(pageNo, v.Pages)
	v.Rows = rows[(v.Page-1)*atRiskPageSize : min(len(rows), v.Page*atRiskPageSize)]
	v.links(f, o)
	s.render(w, r, "atrisk", page{Title: "At risk", Nav: "at-risk", Filter: f, Data: v})
}

// links sets the view's links: pages, sorts and the CSV export, each
// keeping the filter.
func (v *atRiskView) links(f insights.Filter, o atRiskOrder) {
	at := func(n int) template.URL {
		q := o.query()
		q.Set("page", strconv.Itoa(n))
		return link("/at-risk", f, q)
	}
	if v.Page > 1 {
		v.Prev = at(v.Page - 1)
	}
	if v.Page < v.Pages {
		v.Next = at(v.Page + 1)
	}
	v.SortLinks = map[string]template.URL{}
	for name, def := range atRiskSorts {
		dir := def
		if name == o.sort {
			dir = map[string]string{"asc": "desc", "desc": "asc"}[o.dir]
		}
		v.SortLinks[name] = link("/at-risk", f, atRiskOrder{name, dir}.query())
	}
	v.CSV = link("/at-risk.csv", f, o.query())
}

// pageParam reads ?page=, 1 when absent.
func pageParam(raw string) (int, error) {
	if raw == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("page: %q, want a page number from 1", raw)
	}
	return n, nil
}

// atRiskCSVHeader names the columns of the at-risk export.
var atRiskCSVHeader = []string{"id", "name", "owner", "owner_email", "rules", "days_inactive", "revenue_12m", "revenue_trend", "abc", "rfm_segment"}

// atRiskCSV serves the at-risk list as CSV (RFC 4180): every row of the
// page's table, all pages, in the same order, with a header.
func (s *Server) atRiskCSV(w http.ResponseWriter, r *http.Request) {
	o, err := atRiskOrderOf(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	book, err := s.data.Book(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := atRiskRows(r.Context(), book, filterOf(r), o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="at-risk.csv"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	_ = cw.Write(atRiskCSVHeader)
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for i := range rows {
		a := &rows[i]
		_ = cw.Write([]string{cell(a.ID), cell(a.Name), cell(a.Owner), cell(a.OwnerEmail), cell(strings.Join(a.Rules, " ")),
			strconv.Itoa(a.DaysInactive), num(a.Revenue12m), num(a.RevenueTrend), cell(a.ABC), cell(a.Segment)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.log.Warn("at-risk export cut short", "err", err)
	}
}

// cell returns a text cell as a spreadsheet keeps it as text: prefixed
// with a quote when it starts like a formula (= + - @, tab, CR).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
