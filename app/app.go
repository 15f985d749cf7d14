// Package app wires crmsync's parts into a running process: the store, the
// connectors, the rules, the channels, the asynq server and scheduler and
// the HTTP endpoints. It is kept out of package main so that tests (and the
// demo) run the real process in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/email"
	"github.com/crmsync/crmsync/notify/outbox"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// Options tune an App beyond its config.
type Options struct {
	Logger *slog.Logger
	// TaskCheckInterval is how often idle workers poll for tasks (asynq
	// default 1s); the demo and tests poll faster.
	TaskCheckInterval time.Duration
}

// App is one crmsync process.
type App struct {
	Config   *config.Config
	Store    *store.Store
	Rules    *rules.RuleSet
	Outbox   *outbox.Outbox
	Registry *prometheus.Registry
	Handlers workers.Handlers

	log       *slog.Logger
	opts      Options
	client    *asynq.Client
	inspector *asynq.Inspector
	server    *asynq.Server
	syncs     syncTracker
	senders   map[notify.Channel]notify.Sender
	hooks     map[string]http.Handler
	pages     http.Handler // the dashboard (package web)
	web       *webData
	webOnce   sync.Once
}

// syncTracker keeps the latest stats of each source's sync in this process.
type syncTracker struct {
	mu   sync.Mutex
	last map[string]workers.SyncStats
}

func (t *syncTracker) record(source string, st workers.SyncStats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[string]workers.SyncStats{}
	}
	t.last[source] = st
}

func (t *syncTracker) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = nil
}

func (t *syncTracker) snapshot() map[string]workers.SyncStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.last)
}

// New loads the rules and templates named by cfg, opens the store and
// builds every handler. Nothing runs until Start or Run.
func New(ctx context.Context, cfg *config.Config, opts Options) (*App, error) {
	log := cmpLogger(opts.Logger)
	rs, renderer, err := LoadRules(cfg)
	if err != nil {
		return nil, err
	}
	senders, ob, err := newSenders(cfg)
	if err != nil {
		return nil, err
	}
	if err := CheckChannels(cfg, rs); err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if st.Embedded() {
		log.Warn("no redis.url configured: using an embedded in-memory Redis; state is lost on exit")
	}
	if err := migrate(ctx, st, log); err != nil {
		st.Close()
		return nil, err
	}
	sharePacing(senders, st)
	a := &App{Config: cfg, Store: st, Rules: rs, Outbox: ob, senders: senders, Registry: prometheus.NewRegistry(), log: log, opts: opts}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.client = asynq.NewClientFromRedisClient(st.Redis())
	a.inspector = asynq.NewInspectorFromRedisClient(st.Redis())
	a.Registry.MustRegister(a.opsCollectors()...)
	conns, err := buildConnectors(ctx, cfg, st.Syncs, st.Records, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Handlers = a.handlers(renderer, conns)
	if a.hooks, err = a.webhooks(); err != nil {
		st.Close()
		return nil, err
	}
	if a.pages, err = a.dashboard(); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// LoadRules loads cfg's rule files and email templates and checks that
// every template a rule names exists and renders. It touches no network, so
// `config check` uses it.
func LoadRules(cfg *config.Config) (*rules.RuleSet, *email.Renderer, error) {
	paths, err := cfg.RulePaths()
	if err != nil {
		return nil, nil, err
	}
	rs, err := rules.LoadFiles(paths...)
	if err != nil {
		return nil, nil, err
	}
	renderer, err := email.NewRenderer(templatesFS(cfg))
	if err != nil {
		return nil, nil, fmt.Errorf("templates: %w", err)
	}
	var errs []error
	for _, r := range rs.Rules {
		for _, a := range r.Actions {
			if a.Email == nil || workers.IsDynamicTemplate(a.Email.Template) {
				continue // SendGrid renders dynamic templates
			}
			if err := renderer.Check(a.Email.Template); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: rule %s: template %q: %w", r.File, r.Line, r.Name, a.Email.Template, err))
			}
		}
	}
	return rs, renderer, errors.Join(errs...)
}

func (a *App) handlers(renderer *email.Renderer, conns map[string]connectors.Connector) workers.Handlers {
	m := workers.NewMetrics(a.Registry)
	m.ReadChannelPauses(a.Store.Ledger, a.log, a.channels()...)
	cfg := a.Config
	planner := &workers.Planner{
		Email:           renderer,
		From:            workers.Address{Email: cfg.Notify.Email.From.Email, Name: cfg.Notify.Email.From.Name},
		ReplyToOwner:    cfg.Notify.Email.ReplyToOwner,
		FallbackChannel: cfg.Notify.Slack.FallbackChannel,
		Suppressions:    a.Store.Suppressions,
		Ledger:          a.Store.Ledger,
		Cap:             emailCap(cfg),
		Quiet:           quietHours(cfg),
		Location:        cfg.Location(),
		Unsubscribe:     cfg.Notify.Email.UnsubscribeGroupID > 0,
		Locale:          cfg.Locale,
		Currency:        cfg.Currency,
	}
	deliverer := func(ch notify.Channel) *workers.Deliverer {
		return &workers.Deliverer{Channel: ch, Sender: a.senders[ch], Ledger: a.Store.Ledger, Suppressions: a.Store.Suppressions,
			Pauses: a.Store.Ledger, Queue: a.inspector, NS: a.ns(),
			Cap: emailCap(cfg), Metrics: m, Logger: a.log.With("channel", string(ch))}
	}
	return workers.Handlers{
		Sync: &workers.Syncer{Sources: conns, Records: a.Store.Records, Syncs: a.Store.Syncs, Gate: a.gate(), Queue: a.client, NS: a.ns(), Tasks: a.inspector,
			Metrics: m, Logger: a.log, Progress: a.syncs.record},
		Evaluate: &workers.Evaluator{Records: a.Store.Records, Passes: store.Retained{Passes: a.Store.Passes, Reports: a.Config.Retention.Reports}, Syncs: a.Store.Syncs, Rules: a.Rules, Planner: planner, Queue: a.client, NS: a.ns(), Gate: a.gate(), Tasks: a.inspector,
			Metrics: m, Logger: a.log, Limits: passLimits(cfg), Merge: cfg.MergeRules(), Location: cfg.Location()},
		Email:   deliverer(notify.Email),
		Slack:   deliverer(notify.Slack),
		Actions: &workers.Actions{Passes: a.Store.Passes, Records: a.Store.Records, Logger: a.log},
	}
}

// passLimits returns limits.per_pass.
func passLimits(cfg *config.Config) workers.PassLimits {
	l := cfg.Limits.PerPass
	return workers.PassLimits{Emails: l.Emails, SlackPerRep: l.SlackPerRep, SlackPerChannel: l.SlackPerChannel}
}

func emailCap(cfg *config.Config) workers.FrequencyCap {
	return workers.FrequencyCap{Max: cfg.Limits.EmailsPerContact.Max, Per: cfg.Limits.EmailsPerContact.Per}
}

// quietHours returns the configured quiet hours, nil when there are none.
func quietHours(cfg *config.Config) *workers.QuietHours {
	q := cfg.Limits.QuietHours
	from, to, ok := q.Window()
	if !ok && !q.Weekends {
		return nil
	}
	return &workers.QuietHours{From: from, To: to, Weekends: q.Weekends}
}

// gate lists the configured sources and their stale_after, which decide
// when a pass may run.
func (a *App) gate() store.Gate {
	g := store.Gate{}
	for _, s := range a.Config.Sources {
		g.Sources = append(g.Sources, s.Name)
		g.StaleAfter = append(g.StaleAfter, s.StaleAfter)
	}
	return g
}

// ns is the deployment's asynq namespace: the store's.
func (a *App) ns() workers.Namespace { return workers.Namespace(a.Store.Namespace()) }

// Close stops the workers if they run and closes the store. The asynq
// client and inspector share the store's connection and need no closing.
func (a *App) Close() error {
	a.Stop()
	return a.Store.Close()
}

func templatesFS(cfg *config.Config) fs.FS {
	if cfg.Templates == "" {
		return nil
	}
	return os.DirFS(cfg.Templates)
}

func cmpLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// ResolveAccount turns an account id as a user types it (the CRM's own id,
// or source:id) into the internal id of a stored account; it returns id
// unchanged when nothing matches, so callers report "no such account".
func (a *App) ResolveAccount(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	candidates := []string{id}
	for _, s := range a.Config.Sources {
		candidates = append(candidates, s.Name+":"+id)
	}
	for _, c := range candidates {
		if _, ok, err := a.Store.Records.Client(ctx, c); err == nil && ok {
			return a.mergedInto(ctx, c)
		}
	}
	return id
}

// mergedInto returns the portfolio account id stands for: the primary of
// the accounts the latest pass merged it with (config merge), else id.
func (a *App) mergedInto(ctx context.Context, id string) string {
	if a.Config.Merge == nil {
		return id
	}
	if g, err := a.Store.Records.MergeGroup(ctx, id); err == nil && len(g) > 0 {
		return g[0]
	}
	return id
}
