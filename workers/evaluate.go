package workers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
)

// portfolio is what an evaluation pass needs of the store.
type portfolio interface {
	EachClient(ctx context.Context, batch int, fn func(model.Client) error) error
	AcquireCooldown(ctx context.Context, rule, accountID, pass string, ttl time.Duration) (bool, error)
	Cooldown(ctx context.Context, rule, accountID string) (until time.Time, ok bool, err error)
	SaveReport(ctx context.Context, pass string, data []byte) error
}

// enqueuer is the part of asynq.Client the evaluation uses.
type enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// ClassStats describes one ABC class in a report.
type ClassStats struct {
	Accounts     int     `json:"accounts"`
	Revenue      float64 `json:"revenue_12m"`
	RevenueShare float64 `json:"revenue_share"`
}

// Report summarises an evaluation pass.
type Report struct {
	Pass       string                    `json:"pass"`
	Now        time.Time                 `json:"now"`
	StartedAt  time.Time                 `json:"started_at"`
	Duration   time.Duration             `json:"duration"`
	Accounts   int                       `json:"accounts"`
	Revenue    float64                   `json:"revenue_12m"`
	ABC        map[string]*ClassStats    `json:"abc"`
	Flags      map[string]int            `json:"flags"`    // rule → accounts flagged
	Enqueued   map[notify.Channel]int    `json:"enqueued"` // channel → messages enqueued
	Skipped    map[string]map[string]int `json:"skipped"`  // rule → reason → count
	RuleErrors int                       `json:"rule_errors,omitempty"`
}

func newReport(pass string, now time.Time) *Report {
	return &Report{
		Pass: pass, Now: now, StartedAt: time.Now(),
		ABC:      map[string]*ClassStats{"A": {}, "B": {}, "C": {}},
		Flags:    map[string]int{},
		Enqueued: map[notify.Channel]int{},
		Skipped:  map[string]map[string]int{},
	}
}

func (r *Report) skip(rule, reason string) {
	if r.Skipped[rule] == nil {
		r.Skipped[rule] = map[string]int{}
	}
	r.Skipped[rule][reason]++
}

// Evaluator runs evaluation passes over the whole portfolio.
type Evaluator struct {
	Store   portfolio
	Rules   *rules.RuleSet
	Planner *Planner
	Queue   enqueuer
	Metrics *Metrics
	Logger  *slog.Logger
}

// ProcessTask implements asynq.Handler for TypeEvaluate.
func (e *Evaluator) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p EvaluatePayload
	if err := decode(t, &p); err != nil {
		return err
	}
	_, err := e.Evaluate(ctx, p.Pass, p.Now)
	return err
}

// Evaluate scores the portfolio at now, evaluates every rule on every
// account and enqueues the messages of the accounts that flag, in batches.
// Inactivity produces no CRM change, so the whole portfolio is evaluated,
// not only what the last sync touched.
func (e *Evaluator) Evaluate(ctx context.Context, pass string, now time.Time) (*Report, error) {
	rep := newReport(pass, now)
	features, err := e.score(ctx, now, rep)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	out := newBatcher(ctx, e.Queue, pass)
	pp := newPassPlan(pass, now)
	err = e.Store.EachClient(ctx, 500, func(c model.Client) error {
		f, ok := features[c.Account.ID]
		if !ok { // arrived during the pass: score it now; it has no ABC rank yet
			f = rules.Compute(now, &c)
			f.ABC = "C"
		}
		return e.evaluateClient(ctx, pp, &c, f, rep, out)
	})
	if err == nil {
		err = out.flush()
	}
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	rep.Enqueued = out.counts
	rep.Duration = time.Since(rep.StartedAt)
	e.Metrics.PassDuration.Observe(rep.Duration.Seconds())
	if err := e.saveReport(ctx, rep); err != nil {
		return nil, err
	}
	e.Logger.Info("evaluation done", "pass", pass, "accounts", rep.Accounts, "flags", rep.Flags, "enqueued", rep.Enqueued, "duration", rep.Duration)
	return rep, nil
}

// score computes every account's features and its ABC class, and fills the
// portfolio part of the report.
func (e *Evaluator) score(ctx context.Context, now time.Time, rep *Report) (map[string]rules.Features, error) {
	features := map[string]rules.Features{}
	var revs []rules.Revenue
	err := e.Store.EachClient(ctx, 500, func(c model.Client) error {
		f := rules.Compute(now, &c)
		features[c.Account.ID] = f
		revs = append(revs, rules.Revenue{AccountID: c.Account.ID, Revenue12m: f.Revenue12m})
		return nil
	})
	if err != nil {
		return nil, err
	}
	classes := rules.ClassifyABC(revs, e.Rules.Segmentation.ABC)
	for _, r := range revs {
		f := features[r.AccountID]
		f.ABC = classes[r.AccountID]
		features[r.AccountID] = f
		cs := rep.ABC[f.ABC]
		cs.Accounts++
		cs.Revenue += r.Revenue12m
		rep.Revenue += r.Revenue12m
	}
	for _, cs := range rep.ABC {
		if rep.Revenue > 0 {
			cs.RevenueShare = cs.Revenue / rep.Revenue
		}
	}
	rep.Accounts = len(revs)
	return features, nil
}

func (e *Evaluator) evaluateClient(ctx context.Context, pp *passPlan, c *model.Client, f rules.Features, rep *Report, out *batcher) error {
	matches, err := e.Rules.Evaluate(pp.now, c, f)
	if err != nil {
		rep.RuleErrors++
		e.Logger.Warn("rule error", "account", c.Account.ID, "err", err)
	}
	for _, m := range matches {
		rep.Flags[m.Rule.Name]++
		e.Metrics.Flags.WithLabelValues(m.Rule.Name).Inc()
		for range len(m.Rule.Actions) - len(m.Actions) {
			e.skipped(rep, m.Rule.Name, SkipInhibited)
		}
		if len(m.Actions) == 0 {
			continue
		}
		ok, err := e.Store.AcquireCooldown(ctx, m.Rule.Name, c.Account.ID, pp.pass, m.Rule.Cooldown)
		if err != nil {
			return err
		}
		if !ok {
			e.skipped(rep, m.Rule.Name, SkipCooldown)
			continue
		}
		pl, err := e.Planner.Plan(ctx, pp, c, f, m)
		if err != nil {
			return err
		}
		for _, reason := range pl.skips {
			e.skipped(rep, m.Rule.Name, reason)
		}
		if err := out.add(pl.msgs...); err != nil {
			return err
		}
	}
	return nil
}

func (e *Evaluator) skipped(rep *Report, rule, reason string) {
	rep.skip(rule, reason)
	e.Metrics.Skipped.WithLabelValues(rule, reason).Inc()
}

func (e *Evaluator) saveReport(ctx context.Context, rep *Report) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("evaluate %s: encode report: %w", rep.Pass, err)
	}
	if err := e.Store.SaveReport(ctx, rep.Pass, b); err != nil {
		return fmt.Errorf("evaluate %s: %w", rep.Pass, err)
	}
	return nil
}

// batcher groups messages into delivery tasks: one channel and one
// delivery time per task.
type batcher struct {
	ctx     context.Context
	q       enqueuer
	pass    string
	pending map[batchKey][]notify.Message
	counts  map[notify.Channel]int
}

type batchKey struct {
	ch        notify.Channel
	notBefore int64 // unix seconds; 0: now
}

func newBatcher(ctx context.Context, q enqueuer, pass string) *batcher {
	return &batcher{ctx: ctx, q: q, pass: pass, pending: map[batchKey][]notify.Message{}, counts: map[notify.Channel]int{}}
}

func (b *batcher) add(msgs ...notify.Message) error {
	for _, m := range msgs {
		k := batchKey{ch: m.Channel}
		if !m.NotBefore.IsZero() {
			k.notBefore = m.NotBefore.Unix()
		}
		b.pending[k] = append(b.pending[k], m)
		if len(b.pending[k]) >= BatchSize {
			if err := b.send(k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *batcher) flush() error {
	keys := slices.Collect(maps.Keys(b.pending))
	slices.SortFunc(keys, func(x, y batchKey) int {
		return cmp.Or(cmp.Compare(x.ch, y.ch), cmp.Compare(x.notBefore, y.notBefore))
	})
	for _, k := range keys {
		if err := b.send(k); err != nil {
			return err
		}
	}
	return nil
}

func (b *batcher) send(k batchKey) error {
	msgs := b.pending[k]
	if len(msgs) == 0 {
		return nil
	}
	var opts []asynq.Option
	if k.notBefore != 0 {
		opts = append(opts, asynq.ProcessAt(time.Unix(k.notBefore, 0)))
	}
	t, err := NewDeliverTask(k.ch, DeliverPayload{Pass: b.pass, Messages: msgs})
	if err != nil {
		return err
	}
	if _, err := b.q.EnqueueContext(b.ctx, t, opts...); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s batch: %w", k.ch, err)
	}
	b.counts[k.ch] += len(msgs)
	delete(b.pending, k)
	return nil
}
