package insights

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// Account is one portfolio account as the figures read it: who it
// belongs to, where it comes from, and its features at the portfolio's
// now, segmented over the whole portfolio.
type Account struct {
	ID         string
	Name       string
	OwnerID    string
	OwnerName  string
	OwnerEmail string
	// Sources are the sources the account comes from: more than one when
	// config merge joined accounts of several CRMs.
	Sources   []string
	Lifecycle model.Lifecycle
	Features  rules.Features
	// sales are its won deals with a close date, for the backfill.
	sales []sale
}

// sale is a won deal as the backfill needs it: its close time (Unix
// nanoseconds) and amount.
type sale struct {
	at     int64
	amount float64
}

// Portfolio is every account at an instant, scored as a pass scores it.
// Build it with a Builder or NewPortfolio; it is read-only afterwards and
// safe for concurrent use.
type Portfolio struct {
	Now          time.Time
	Segmentation rules.Segmentation
	Accounts     []Account
	// ranked holds the indexes of the accounts with revenue_12m > 0 in
	// ABC rank order: revenue_12m descending, id ascending.
	ranked []int32

	monthBefore     []state // every account's state a month before Now
	monthBeforeOnce sync.Once

	byID     map[string]int32 // index of each account (Scored)
	byIDOnce sync.Once
}

// Builder builds a Portfolio one client at a time, so that a portfolio
// read from the store in batches need not be held whole.
type Builder struct {
	now     time.Time
	seg     rules.Segmentation
	p       *Portfolio
	samples []rules.Sample
}

// NewBuilder starts a portfolio at now, segmented with seg.
func NewBuilder(now time.Time, seg rules.Segmentation) *Builder {
	return &Builder{now: now, seg: seg, p: &Portfolio{Now: now, Segmentation: seg}}
}

// Add scores c at the builder's now (rules.Compute) and keeps what the
// figures need of it. Account ids must be unique.
func (b *Builder) Add(c *model.Client) {
	f := rules.Compute(b.now, c)
	b.samples = append(b.samples, f.Sample(c.Account.ID))
	a := NewAccount(c, f)
	a.sales = sales(c.Deals)
	b.p.Accounts = append(b.p.Accounts, a)
}

// NewAccount returns client c as the figures read it, with its features
// f (segmented or not: the caller's choice).
func NewAccount(c *model.Client, f rules.Features) Account {
	a := Account{ID: c.Account.ID, Name: c.Account.Name, OwnerID: c.Account.OwnerID, Lifecycle: c.Account.Lifecycle, Features: f}
	if c.Owner != nil {
		a.OwnerName, a.OwnerEmail = c.Owner.Name, c.Owner.Email
	}
	a.Sources = accountSources(&c.Account)
	return a
}

// sales returns the won deals of deals that have a close date.
func sales(deals []model.Deal) []sale {
	n := 0
	for i := range deals {
		if deals[i].Won && !deals[i].ClosedAt.IsZero() {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]sale, 0, n)
	for i := range deals {
		if d := &deals[i]; d.Won && !d.ClosedAt.IsZero() {
			out = append(out, sale{at: d.ClosedAt.UnixNano(), amount: d.Amount})
		}
	}
	return out
}

// accountSources returns the sources of account a.
func accountSources(a *model.Account) []string {
	if len(a.Sources) == 0 {
		return []string{a.Source}
	}
	out := make([]string, 0, len(a.Sources))
	for _, r := range a.Sources {
		if !slices.Contains(out, r.Source) {
			out = append(out, r.Source)
		}
	}
	return out
}

// Portfolio segments every account added over all of them
// (rules.NewSegmenter, Segmenter.Apply) and returns the portfolio. The
// builder must not be used afterwards.
func (b *Builder) Portfolio() *Portfolio {
	p := b.p
	s := rules.NewSegmenter(b.seg, b.samples)
	for i := range p.Accounts {
		s.Apply(p.Accounts[i].ID, &p.Accounts[i].Features)
		if p.Accounts[i].Features.Revenue12m > 0 {
			p.ranked = append(p.ranked, int32(i))
		}
	}
	slices.SortFunc(p.ranked, func(i, j int32) int {
		a, b := &p.Accounts[i], &p.Accounts[j]
		return cmp.Or(cmp.Compare(b.Features.Revenue12m, a.Features.Revenue12m), cmp.Compare(a.ID, b.ID))
	})
	b.p, b.samples = nil, nil
	return p
}

// NewPortfolio returns the portfolio of clients at now, segmented with seg.
func NewPortfolio(now time.Time, seg rules.Segmentation, clients []model.Client) *Portfolio {
	b := NewBuilder(now, seg)
	b.p.Accounts, b.samples = make([]Account, 0, len(clients)), make([]rules.Sample, 0, len(clients))
	for i := range clients {
		b.Add(&clients[i])
	}
	return b.Portfolio()
}

// At returns the instant the portfolio is scored at (Now).
func (p *Portfolio) At() time.Time { return p.Now }

// Figures returns Compute's figures: the figures of the accounts f
// selects, flagged being the accounts flagged now.
func (p *Portfolio) Figures(_ context.Context, f Filter, flagged map[string]bool) (Figures, error) {
	return p.Compute(f, flagged), nil
}

// Scored returns the accounts of ids that p holds, scored and segmented,
// in the order of ids.
func (p *Portfolio) Scored(_ context.Context, ids []string) ([]Account, error) {
	p.byIDOnce.Do(func() {
		p.byID = make(map[string]int32, len(p.Accounts))
		for i := range p.Accounts {
			p.byID[p.Accounts[i].ID] = int32(i)
		}
	})
	var out []Account
	for _, id := range ids {
		if i, ok := p.byID[id]; ok {
			out = append(out, p.Accounts[i])
		}
	}
	return out, nil
}

// Filter selects accounts by their attributes at the portfolio's now. An
// empty field selects every account.
type Filter struct {
	// Owner is the owner's id or email address (case-insensitive).
	Owner string `json:"owner,omitempty"`
	// Source is one of the sources the account comes from.
	Source string `json:"source,omitempty"`
	// Segment is an RFM segment ("champions", "at_risk", ...).
	Segment string `json:"segment,omitempty"`
	// Class is an ABC class, portfolio-wide: "A", "B" or "C".
	Class string `json:"class,omitempty"`
}

// Match reports whether a is selected by f.
func (f Filter) Match(a *Account) bool {
	return (f.Owner == "" || f.Owner == a.OwnerID || a.OwnerEmail != "" && strings.EqualFold(f.Owner, a.OwnerEmail)) &&
		(f.Source == "" || slices.Contains(a.Sources, f.Source)) &&
		(f.Segment == "" || f.Segment == a.Features.RFM.Segment) &&
		(f.Class == "" || strings.EqualFold(f.Class, a.Features.ABC))
}

// selected returns, for each account of p, whether f selects it.
func (p *Portfolio) selected(f Filter) []bool {
	sel := make([]bool, len(p.Accounts))
	for i := range p.Accounts {
		sel[i] = f.Match(&p.Accounts[i])
	}
	return sel
}

// revenue12mAt returns the revenue_12m of account a at t: the sum of its
// won deals closed in (t-365d, t], as rules.Compute defines it.
func (a *Account) revenue12mAt(t time.Time) float64 {
	to, from := t.UnixNano(), t.Add(-365*24*time.Hour).UnixNano()
	var rev float64
	for _, s := range a.sales {
		if s.at > from && s.at <= to {
			rev += s.amount
		}
	}
	return rev
}
