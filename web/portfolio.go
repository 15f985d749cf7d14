package web

import (
	"cmp"
	"context"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
)

// BookData gives the portfolio as the last pass read it, scored now: the
// portfolio, at-risk and account pages read it.
type BookData interface {
	Book(ctx context.Context) (*Book, error)
}

// Book is the portfolio scored now, and what the filters offer.
type Book struct {
	Scores Scores
	// Flagged maps the accounts flagged now (a rule fired and still
	// holds) to those rules, in config order.
	Flagged map[string][]string
	Owners  []Owner  // every owner of an account, by name
	Sources []string // configured sources
	Rules   []string // configured rules, in order
}

// Scores is the portfolio scored at an instant, as the pages read it:
// the figures of a filter and the accounts of given ids. An
// *insights.Portfolio, held in memory, is one; the app's reads the store
// for each filter instead, so that the dashboard never holds the whole
// portfolio.
type Scores interface {
	// At is the instant the portfolio is scored at.
	At() time.Time
	// Figures returns the figures of the accounts f selects; flagged are
	// the accounts flagged now.
	Figures(ctx context.Context, f insights.Filter, flagged map[string]bool) (insights.Figures, error)
	// Scored returns the accounts of ids that the portfolio holds,
	// scored and segmented over the whole portfolio, in the order of ids.
	Scored(ctx context.Context, ids []string) ([]insights.Account, error)
}

// Owner is a rep, as the owner filter lists them.
type Owner struct {
	ID, Name, Email string
}

// flaggedSet returns the ids of the accounts flagged now.
func (b *Book) flaggedSet() map[string]bool {
	set := make(map[string]bool, len(b.Flagged))
	for id := range b.Flagged {
		set[id] = true
	}
	return set
}

// portfolioView is the portfolio page's data.
type portfolioView struct {
	Book      *Book
	Fig       insights.Figures
	Pareto    template.HTML
	PMG       template.HTML
	Lifecycle template.HTML
	LifeRows  []bar
	RFMMax    int
	Segments  []segmentRow
}

type segmentRow struct {
	Name     string
	Accounts int
}

// portfolio serves the portfolio page: the figures of the filtered book.
func (s *Server) portfolio(w http.ResponseWriter, r *http.Request) {
	book, err := s.data.Book(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := filterOf(r)
	fig, err := book.Scores.Figures(r.Context(), f, book.flaggedSet())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := portfolioView{Book: book, Fig: fig, Pareto: paretoSVG(fig.Pareto)}
	sizes := make([]bar, len(fig.PMG))
	for i, row := range fig.PMG {
		sizes[i] = bar{row.Size, row.Revenue}
	}
	v.PMG = barsSVG("revenue_12m by size", sizes, func(x float64) string { return s.loc.Money(x, s.cur) })
	for _, lc := range model.Lifecycles {
		v.LifeRows = append(v.LifeRows, bar{string(lc), float64(fig.Lifecycle[lc])})
	}
	v.Lifecycle = barsSVG("accounts by lifecycle", v.LifeRows, s.loc.Number)
	for _, row := range fig.RFM.Cells {
		for _, c := range row {
			v.RFMMax = max(v.RFMMax, c.Accounts)
		}
	}
	for name, n := range fig.RFM.Segments {
		v.Segments = append(v.Segments, segmentRow{name, n})
	}
	slices.SortFunc(v.Segments, func(a, b segmentRow) int { return cmp.Or(b.Accounts-a.Accounts, strings.Compare(a.Name, b.Name)) })
	s.render(w, r, "portfolio", page{Title: "Portfolio", Nav: "portfolio", Filter: f, Data: v})
}
