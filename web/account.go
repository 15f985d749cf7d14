package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/web/auth"
)

// perPage is how many rows a long list shows per page.
const perPage = 50

// AccountData gives one account's record and ledger trail, for the
// account page.
type AccountData interface {
	// Account returns the portfolio account id stands for (the stored id
	// "source:external", or the CRM's own id), as passes read it; an
	// *UnknownAccountError when there is none.
	Account(ctx context.Context, id string) (*AccountRecord, error)
}

// AccountRecord is an account as passes read it (merged across sources
// with config merge) and its ledger trail.
type AccountRecord struct {
	Client model.Client
	// Trail is every ledger entry of the account (and of the accounts it
	// was merged from), newest first.
	Trail []TrailEntry
}

// TrailEntry is a ledger entry, with the rendered message when the ledger
// keeps it (it does for messages of unknown outcome, for a resend).
type TrailEntry struct {
	store.Entry
	// With is the feature values that made the rule fire, as `crmsync
	// history` writes them.
	With    string
	Message *RenderedMessage
}

// At is when the entry's message went (or was written), else when it was
// claimed or recorded.
func (e TrailEntry) At() time.Time {
	if !e.SentAt.IsZero() {
		return e.SentAt
	}
	return e.ClaimedAt
}

// RenderedMessage is the text of a message as it was rendered.
type RenderedMessage struct {
	Subject, Text string
}

// UnknownAccountError is an account id that is not in the portfolio, with
// the known accounts closest to it ("sample:A00042 (Acme)").
type UnknownAccountError struct {
	ID          string
	Suggestions []string
}

// Error implements error.
func (e *UnknownAccountError) Error() string { return fmt.Sprintf("no account %q", e.ID) }

// accountView is the account page's data.
type accountView struct {
	Unknown    *UnknownAccountError
	Suggest    []suggestion // the closest accounts, for an unknown id
	Acc        *model.Account
	Owner      *model.Owner
	CRMLink    string
	AsOf       time.Time
	Scored     bool // the features are the pass's, segmentation included
	Features   []featureRow
	Contacts   []model.Contact
	Deals      []model.Deal
	DealsPage  pager
	FlagsNow   []string
	FlagsPast  []TrailEntry
	Trail      []TrailEntry
	TrailPage  pager
	HasMessage bool // some entry keeps its rendered message
}

type featureRow struct{ Name, Value string }

// suggestion is an account to suggest, and its page.
type suggestion struct{ Label, URL string }

// AccountURL returns the path of the page of account id.
func AccountURL(id string) string { return "/accounts/" + url.PathEscape(id) }

// pager is a page of a long list: rows From+1 to To of Total.
type pager struct {
	Param            string
	Page, Pages      int
	From, To         int
	Total            int
	PrevURL, NextURL string
}

// account serves the account page: the 360 view of one account.
func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	book, err := s.data.Book(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, _ := auth.UserFrom(ctx)
	rec, err := s.data.Account(ctx, r.PathValue("id"))
	var unknown *UnknownAccountError
	if errors.As(err, &unknown) {
		v := accountView{Unknown: unknown}
		sugg, err := visibleSuggestions(ctx, book, u, unknown.Suggestions)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, sg := range sugg {
			id, _, _ := strings.Cut(sg, " (")
			v.Suggest = append(v.Suggest, suggestion{sg, AccountURL(id)})
		}
		s.render(&statusWriter{ResponseWriter: w, code: http.StatusNotFound}, r, "account", page{Title: "No such account", Nav: "account", Data: v})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !u.Admin && !owns(u, rec.Client.Owner, nil) {
		forbidden(w, "this account belongs to another rep")
		return
	}
	scored, err := book.Scores.Scored(ctx, []string{rec.Client.Account.ID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := accountViewOf(rec, book, scored, r.URL.Query())
	s.render(w, r, "account", page{Title: rec.Client.Account.Name, Nav: "account", Data: v})
}

// accountViewOf builds the account page of rec; scored is the account as
// the book scored it (none when the last pass did not read it), q holds
// the page numbers of its lists.
func accountViewOf(rec *AccountRecord, book *Book, scored []insights.Account, q url.Values) accountView {
	c := &rec.Client
	now := book.Scores.At()
	v := accountView{Acc: &c.Account, Owner: c.Owner, CRMLink: crmLink(c.Account.URL), AsOf: now,
		Contacts: c.Contacts, FlagsNow: book.Flagged[c.Account.ID]}
	var f rules.Features
	if len(scored) > 0 {
		f, v.Scored = scored[0].Features, true
	} else {
		f = rules.Compute(now, c) // not in the last pass: no segmentation
	}
	v.Features = featureRows(f.Map())
	for _, d := range c.Deals {
		if d.Won {
			v.Deals = append(v.Deals, d)
		}
	}
	slices.SortFunc(v.Deals, func(a, b model.Deal) int { return b.ClosedAt.Compare(a.ClosedAt) })
	v.DealsPage = pageOf(q, "deals", len(v.Deals))
	v.Deals = v.Deals[v.DealsPage.From:v.DealsPage.To]
	for _, e := range rec.Trail {
		if e.Status == store.StatusResolved || e.Status == store.StatusHoldout {
			v.FlagsPast = append(v.FlagsPast, e)
		}
	}
	v.TrailPage = pageOf(q, "trail", len(rec.Trail))
	v.Trail = rec.Trail[v.TrailPage.From:v.TrailPage.To]
	for _, e := range v.Trail {
		v.HasMessage = v.HasMessage || e.Message != nil
	}
	return v
}

// owns tells whether u owns an account of owner o (or, o being nil, of
// the portfolio account acc).
func owns(u auth.User, o *model.Owner, acc *insights.Account) bool {
	email := ""
	switch {
	case o != nil:
		email = o.Email
	case acc != nil:
		email = acc.OwnerEmail
	}
	return email != "" && strings.EqualFold(strings.TrimSpace(email), u.Email)
}

// visibleSuggestions keeps the suggestions u may see: all for an admin,
// a rep's own accounts otherwise, so that a 404 does not name the
// accounts of other reps.
func visibleSuggestions(ctx context.Context, book *Book, u auth.User, sugg []string) ([]string, error) {
	if u.Admin {
		return sugg, nil
	}
	ids := make([]string, len(sugg))
	for i, s := range sugg {
		ids[i], _, _ = strings.Cut(s, " (")
	}
	accts, err := book.Scores.Scored(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, s := range sugg {
		if j := slices.IndexFunc(accts, func(a insights.Account) bool { return a.ID == ids[i] }); j >= 0 && owns(u, nil, &accts[j]) {
			out = append(out, s)
		}
	}
	return out, nil
}

// crmLink returns u when it is an http or https link, else "".
func crmLink(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return p.String()
}

// featureRows lists feature values by name, as the rules see them.
func featureRows(m map[string]any) []featureRow {
	rows := make([]featureRow, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		rows = append(rows, featureRow{k, featureValue(m[k])})
	}
	return rows
}

// featureValue writes a feature value as rules.FeatureText does, and an
// empty string (no RFM segment) as "–".
func featureValue(v any) string {
	if x, ok := v.(string); ok && x == "" {
		return "–"
	}
	return rules.FeatureText(v)
}

// pageOf returns the page of a list of total rows that the query
// parameter param asks for (1 when absent or out of range).
func pageOf(q url.Values, param string, total int) pager {
	p := pager{Param: param, Total: total, Pages: max(1, (total+perPage-1)/perPage)}
	p.Page, _ = strconv.Atoi(q.Get(param))
	p.Page = min(max(p.Page, 1), p.Pages)
	p.From, p.To = (p.Page-1)*perPage, min(p.Page*perPage, total)
	link := func(n int) string {
		u := url.Values{}
		maps.Copy(u, q)
		u.Set(param, strconv.Itoa(n))
		return "?" + u.Encode()
	}
	if p.Page > 1 {
		p.PrevURL = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.NextURL = link(p.Page + 1)
	}
	return p
}

// statusWriter answers with code instead of 200, once render has set its
// headers; an explicit WriteHeader (an error) goes through.
type statusWriter struct {
	http.ResponseWriter
	code    int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	w.written = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(w.code)
	}
	return w.ResponseWriter.Write(b)
}
