// Package web serves crmsync's dashboard: the monthly review of the
// portfolio in a browser, on the same HTTP server as /healthz and the
// webhooks. Pages are rendered on the server with html/template; charts
// are inline SVG drawn here, each with the table it is drawn from; there
// are no scripts, styles or fonts from elsewhere, so it works offline.
//
// Every page takes the signed-in user from package web/auth: an admin
// sees the whole portfolio, a rep only the accounts they own. Filters are
// query parameters, so every view has a URL that can be shared.
//
// What the pages show comes from Data, which the app implements over the
// store. The pages read the scored portfolio through Scores: the figures
// of a filter, and the accounts of given ids (the at-risk list reads the
// flagged ones only), so that an implementation need not hold the
// portfolio; the app's streams it from the store and keeps the figures.
package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/insights"
	"github.com/crmsync/crmsync/notify/locale"
	"github.com/crmsync/crmsync/web/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

// Data is everything the dashboard reads; the app implements it. Each
// page's part is defined next to the page.
type Data interface {
	BookData
	EvolutionData
	OpsData
	AccountData
	RulesData
}

// Options configure a Server.
type Options struct {
	Data Data
	// Auth signs users in and guards every page; required.
	Auth *auth.Auth
	// Locale and Currency format numbers, amounts and dates (config
	// locale, currency).
	Locale, Currency string
	Logger           *slog.Logger
}

// Server is the dashboard's HTTP handler.
type Server struct {
	data  Data
	auth  *auth.Auth
	log   *slog.Logger
	loc   locale.Locale
	cur   string
	pages map[string]*template.Template
}

// New parses the templates and returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Data == nil || opts.Auth == nil {
		return nil, errors.New("web: Data and Auth are required")
	}
	s := &Server{data: opts.Data, auth: opts.Auth, log: opts.Logger, loc: locale.For(opts.Locale), cur: opts.Currency, pages: map[string]*template.Template{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	for _, n := range names {
		name := n.Name()
		if name == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(s.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		s.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return s, nil
}

// Handler returns the dashboard's routes, sign-in included, every page
// behind the auth middleware. Mount it at "/".
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", s.auth.Handler())
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/portfolio", http.StatusSeeOther)
	})
	pages.HandleFunc("GET /portfolio", s.portfolio)
	pages.HandleFunc("GET /evolution", s.evolution)
	pages.HandleFunc("GET /at-risk", s.atRisk)
	pages.HandleFunc("GET /at-risk.csv", s.atRiskCSV)
	pages.HandleFunc("GET /accounts/{id}", s.account)
	pages.HandleFunc("GET /rules", s.rules)
	pages.HandleFunc("GET /ops", s.ops)
	pages.HandleFunc("POST /ops/resend", s.resend)
	mux.Handle("/", s.auth.Require(pages))
	return mux
}

// page is what every template gets: the user, the navigation, the CSRF
// token for forms, the filter in effect, and the page's own data.
type page struct {
	Title  string
	Nav    string // the page's name, to mark it in the navigation
	User   auth.User
	CSRF   string
	Filter insights.Filter
	Query  template.URL // the filter as a query string, for links between pages
	Data   any
}

// render executes the named page into a buffer first, so that an error
// never sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	t, ok := s.pages[name]
	if !ok {
		s.fail(w, r, fmt.Errorf("no page %q", name))
		return
	}
	p.User, _ = auth.UserFrom(r.Context())
	p.CSRF = auth.CSRFToken(r)
	p.Query = template.URL(filterQuery(p.Filter)) // url.Values.Encode: safe in a URL
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = b.WriteTo(w)
}

// fail logs err and answers 500 without its detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("dashboard page failed", "path", r.URL.Path, "err", err)
	http.Error(w, "the page could not be built; the log says why", http.StatusInternalServerError)
}

// forbidden answers 403 with why.
func forbidden(w http.ResponseWriter, why string) {
	http.Error(w, why, http.StatusForbidden)
}

// filterOf reads the filter from the query; a rep's filter is always
// their own book, whatever the query says.
func filterOf(r *http.Request) insights.Filter {
	q := r.URL.Query()
	f := insights.Filter{Owner: q.Get("owner"), Source: q.Get("source"), Segment: q.Get("segment"), Class: q.Get("class")}
	if u, ok := auth.UserFrom(r.Context()); ok && !u.Admin {
		f.Owner = u.Email
	}
	return f
}

// filterQuery writes f as a query string ("" when empty).
func filterQuery(f insights.Filter) string {
	v := url.Values{}
	for k, s := range map[string]string{"owner": f.Owner, "source": f.Source, "segment": f.Segment, "class": f.Class} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v.Encode()
}
