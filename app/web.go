package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/web"
	"github.com/crmsync/crmsync/web/auth"
)

// bookMaxAge is how long the dashboard keeps a scored portfolio when no
// new pass has run: its day-based figures move with the clock.
const bookMaxAge = 15 * time.Minute

// dashboard builds the web dashboard of the app (config web): the pages
// of package web over the store, behind Slack sign-in or loopback only.
func (a *App) dashboard() (http.Handler, error) {
	w := a.Config.Web
	opts := auth.Options{
		PublicURL: w.PublicURL, SessionKey: w.SessionKey.Reveal(), SessionTTL: w.SessionTTL,
		CookieSecure: w.CookieSecure, Admins: w.Admins, AdminToken: a.Config.HTTP.AdminToken.Reveal(),
		IsOwner: a.webData().isOwner, Logger: a.log.With("component", "web"),
	}
	if sl := w.SignIn.Slack; sl != nil {
		opts.ClientID, opts.ClientSecret, opts.TeamID, opts.IssuerURL = sl.ClientID, sl.ClientSecret.Reveal(), sl.TeamID, sl.IssuerURL
	}
	au, err := auth.New(opts)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s, err := web.New(web.Options{Data: a.webData(), Auth: au, Locale: a.Config.Locale, Currency: a.Config.Currency, Logger: a.log.With("component", "web")})
	if err != nil {
		return nil, err
	}
	return s.Handler(), nil
}

// webData is what the dashboard reads, one per app.
func (a *App) webData() *webData {
	a.webOnce.Do(func() { a.web = &webData{a: a} })
	return a.web
}

// webData implements web.Data over the app's store.
type webData struct {
	a *App

	mu   sync.Mutex
	book *web.Book // its Scores are a *storeScores
	pass string    // the pass the book was built after
	at   time.Time // when it was built

	// evolutions keeps the months computed over the latest book:
	// backfilling 12 months of 100,000 accounts ranks the whole book 13
	// times.
	evolutions evolutionCache
}

// Book returns the portfolio scored now, built again when a pass has run
// since, or when it is older than bookMaxAge.
func (d *webData) Book(ctx context.Context) (*web.Book, error) {
	pass, _, err := d.a.Store.Passes.LatestReport(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.book != nil && d.pass == pass && time.Since(d.at) < bookMaxAge {
		return d.book, nil
	}
	if err := d.build(ctx, d.passTime(ctx, pass)); err != nil {
		return nil, err
	}
	d.pass, d.at = pass, time.Now()
	return d.book, nil
}

// passTime is the time the pass evaluated the portfolio at, so that the
// dashboard's figures are those of the pass (and of its flags); now when
// no pass has run.
func (d *webData) passTime(ctx context.Context, pass string) time.Time {
	if pass == "" {
		return time.Now()
	}
	r, err := d.a.passReport(ctx, pass)
	if err != nil || r == nil || r.Now.IsZero() {
		return time.Now()
	}
	return r.Now
}

// build reads the portfolio as passes read it and scores it at now, in
// one insights.Scan: the book keeps its thresholds (at now, and at the
// ends of the evolution page's default months), its unfiltered figures,
// the owners and the accounts per source, never the accounts
// (storeScores reads them again when a page asks, once per filter).
// d.mu is held.
func (d *webData) build(ctx context.Context, now time.Time) error {
	a := d.a
	flagged, err := a.flaggedNow(ctx)
	if err != nil {
		return err
	}
	reads, err := a.Handlers.Evaluate.FigureReads(ctx)
	if err != nil {
		return err
	}
	owners := map[string]web.Owner{}
	bySource := map[string]int{}
	sc, err := insights.Scan(ctx, reads.Features, insights.ScanOptions{
		Now: now, Segmentation: a.Rules.Segmentation, Ends: web.DefaultMonthEnds(now, a.Config.Location()), Won: reads.Won,
		Flagged: func(id string) bool { _, ok := flagged[id]; return ok },
		Each: func(acc *insights.Account, c *model.Client) error {
			if o := c.Owner; o != nil {
				owners[o.ID] = web.Owner{ID: o.ID, Name: o.Name, Email: strings.ToLower(o.Email)}
			}
			for _, s := range acc.Sources {
				bySource[s]++
			}
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("web: reading the portfolio: %w", err)
	}
	scores := newStoreScores(now, a.Rules.Segmentation, reads, sc)
	scores.bySource = bySource
	book := &web.Book{Scores: scores, Flagged: flagged, Rules: a.RuleNames()}
	for _, o := range owners {
		book.Owners = append(book.Owners, o)
	}
	slices.SortFunc(book.Owners, func(x, y web.Owner) int { return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)) })
	for _, s := range a.Config.Sources {
		book.Sources = append(book.Sources, s.Name)
	}
	d.book = book
	return nil
}

// isOwner tells whether email owns accounts, for sign-in.
func (d *webData) isOwner(ctx context.Context, email string) (bool, error) {
	b, err := d.Book(ctx)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(b.Owners, func(o web.Owner) bool { return o.Email == email }), nil
}
