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
	"github.com/crmsync/crmsync/store"
)

// portfolio is what an evaluation pass needs of the store.
type portfolio interface {
	EachClient(ctx context.Context, batch int, fn func(model.Client) error) error
	AccountIDRange(ctx context.Context, from, to string, limit int64) ([]string, error)
	Clients(ctx context.Context, ids []string) ([]model.Client, error)
	AcquireCooldown(ctx context.Context, rule, accountID, pass string, ttl time.Duration) (bool, error)
	Cooldown(ctx context.Context, rule, accountID string) (until time.Time, ok bool, err error)
	LockPass(ctx context.Context, pass string, ttl time.Duration) (ok bool, holder string, err error)
	UnlockPass(ctx context.Context, pass string) error
	SavePassPlan(ctx context.Context, pass string, data []byte) error
	PassPlan(ctx context.Context, pass string) ([]byte, error)
	SaveShardResult(ctx context.Context, pass string, shard int, data []byte) (int64, error)
	ShardResults(ctx context.Context, pass string) ([][]byte, error)
	SaveReport(ctx context.Context, pass string, data []byte) error
	FlagStates(ctx context.Context, rule string, ids []string) ([]*store.FlagState, error)
	SetFlagStates(ctx context.Context, rule string, set map[string]store.FlagState, clear []string) error
	RecordResolved(ctx context.Context, e store.Entry, at time.Time) error
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
	Flags      map[string]int            `json:"flags"`    // rule → accounts flagged (fired)
	Resolved   map[string]int            `json:"resolved"` // rule → flags that stopped holding
	Enqueued   map[notify.Channel]int    `json:"enqueued"` // channel → messages enqueued
	Skipped    map[string]map[string]int `json:"skipped"`  // rule → reason → count
	RuleErrors int                       `json:"rule_errors,omitempty"`
}

func newReport(pass string, now time.Time) *Report {
	return &Report{
		Pass: pass, Now: now, StartedAt: time.Now(),
		ABC:      map[string]*ClassStats{"A": {}, "B": {}, "C": {}},
		Flags:    map[string]int{},
		Resolved: map[string]int{},
		Enqueued: map[notify.Channel]int{},
		Skipped:  map[string]map[string]int{},
	}
}

// Evaluator runs evaluation passes over the whole portfolio. A pass is
// planned once (the portfolio-wide thresholds: ABC bounds, RFM quintiles;
// and the shards: ranges of account ids), then its shards are evaluated by
// any number of workers in parallel, and the shard that completes the pass
// writes its report. One pass runs at a time.
type Evaluator struct {
	Store   portfolio
	Rules   *rules.RuleSet
	Planner *Planner
	Queue   enqueuer
	Metrics *Metrics
	Logger  *slog.Logger
	// ShardSize is the number of accounts a shard holds (default
	// DefaultShardSize).
	ShardSize int
}

// DefaultShardSize is the number of accounts of a shard.
const DefaultShardSize = 2000

// PassLockTTL bounds how long a pass that died keeps others from running.
const PassLockTTL = time.Hour

// ProcessTask implements asynq.Handler for TypeEvaluate: it plans the pass
// and enqueues its shards.
func (e *Evaluator) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p EvaluatePayload
	if err := decode(t, &p); err != nil {
		return err
	}
	return e.Start(ctx, p.Pass, p.Now)
}

// ProcessShard is the asynq handler of TypeEvaluateShard.
func (e *Evaluator) ProcessShard(ctx context.Context, t *asynq.Task) error {
	var p ShardPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	doc, err := e.loadPlan(ctx, p.Pass)
	if err != nil {
		return err
	}
	res, err := e.runShard(ctx, doc, p.Shard)
	if err != nil {
		return fmt.Errorf("evaluate %s shard %d: %w", p.Pass, p.Shard, err)
	}
	return e.shardDone(ctx, doc, p.Shard, res)
}

// Start plans pass at now and enqueues its shards. When another pass is
// running, this one is skipped: passes never overlap.
func (e *Evaluator) Start(ctx context.Context, pass string, now time.Time) error {
	doc, ok, err := e.begin(ctx, pass, now)
	if err != nil || !ok {
		return err
	}
	if len(doc.Bounds) == 0 {
		_, err := e.finish(ctx, doc, nil)
		return err
	}
	for i := range doc.Bounds {
		t, err := NewShardTask(ShardPayload{Pass: pass, Shard: i})
		if err != nil {
			return err
		}
		if _, err := e.Queue.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("evaluate %s: enqueue shard %d: %w", pass, i, err)
		}
	}
	return nil
}

// Evaluate runs a whole pass in this goroutine, shard after shard, and
// returns its report. Tests and one-shot commands use it; the queue runs
// the same steps spread over workers.
func (e *Evaluator) Evaluate(ctx context.Context, pass string, now time.Time) (*Report, error) {
	doc, ok, err := e.begin(ctx, pass, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("evaluate %s: another pass is running", pass)
	}
	results := make([]*shardResult, len(doc.Bounds))
	for i := range doc.Bounds {
		if results[i], err = e.runShard(ctx, doc, i); err != nil {
			return nil, fmt.Errorf("evaluate %s shard %d: %w", pass, i, err)
		}
	}
	return e.finish(ctx, doc, results)
}

// begin takes the pass lock and returns the pass's plan: the saved one
// when a retried coordinator finds it, so shards never change under it.
func (e *Evaluator) begin(ctx context.Context, pass string, now time.Time) (*passDoc, bool, error) {
	ok, holder, err := e.Store.LockPass(ctx, pass, PassLockTTL)
	if err != nil {
		return nil, false, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	if !ok {
		e.Logger.Warn("evaluation pass skipped: another pass is running", "pass", pass, "running", holder)
		return nil, false, nil
	}
	if doc, err := e.loadPlan(ctx, pass); err == nil {
		return doc, true, nil
	}
	doc, err := e.plan(ctx, pass, now)
	if err != nil {
		return nil, false, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, false, fmt.Errorf("evaluate %s: encode plan: %w", pass, err)
	}
	if err := e.Store.SavePassPlan(ctx, pass, b); err != nil {
		return nil, false, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	return doc, true, nil
}

func (e *Evaluator) loadPlan(ctx context.Context, pass string) (*passDoc, error) {
	b, err := e.Store.PassPlan(ctx, pass)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	var doc passDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("evaluate %s: decode plan: %v: %w", pass, err, asynq.SkipRetry)
	}
	return &doc, nil
}

// passDoc is the plan of a pass, shared with the shard workers.
type passDoc struct {
	Pass      string           `json:"pass"`
	Now       time.Time        `json:"now"`
	StartedAt time.Time        `json:"started_at"`
	Segmenter *rules.Segmenter `json:"segmenter"`
	// Bounds are the first account id of each shard: shard i holds the ids
	// from Bounds[i] up to, not including, Bounds[i+1] (the last: to the end).
	Bounds   []string               `json:"bounds"`
	Accounts int                    `json:"accounts"`
	Revenue  float64                `json:"revenue_12m"`
	ABC      map[string]*ClassStats `json:"abc"`
}

// plan reads the whole portfolio once: the samples segmentation needs, the
// shard bounds every ShardSize accounts, and the ABC distribution.
func (e *Evaluator) plan(ctx context.Context, pass string, now time.Time) (*passDoc, error) {
	doc := &passDoc{Pass: pass, Now: now, StartedAt: time.Now(), ABC: map[string]*ClassStats{"A": {}, "B": {}, "C": {}}}
	size := cmp.Or(e.ShardSize, DefaultShardSize)
	var samples []rules.Sample
	err := e.Store.EachClient(ctx, 500, func(c model.Client) error {
		if len(samples)%size == 0 {
			doc.Bounds = append(doc.Bounds, c.Account.ID)
		}
		f := rules.Compute(now, &c)
		samples = append(samples, f.Sample(c.Account.ID))
		return nil
	})
	if err != nil {
		return nil, err
	}
	doc.Segmenter = rules.NewSegmenter(e.Rules.Segmentation, samples)
	for _, s := range samples {
		f := rules.Features{Revenue12m: s.Revenue12m, Purchases12m: s.Purchases12m, DaysSincePurchase: s.DaysSincePurchase}
		doc.Segmenter.Apply(s.AccountID, &f)
		cs := doc.ABC[f.ABC]
		cs.Accounts++
		cs.Revenue += s.Revenue12m
		doc.Revenue += s.Revenue12m
	}
	for _, cs := range doc.ABC {
		if doc.Revenue > 0 {
			cs.RevenueShare = cs.Revenue / doc.Revenue
		}
	}
	doc.Accounts = len(samples)
	return doc, nil
}

// shardResult is what one shard did, summed into the pass's report.
type shardResult struct {
	Accounts   int                       `json:"accounts"`
	Flags      map[string]int            `json:"flags"`
	Resolved   map[string]int            `json:"resolved"`
	Enqueued   map[notify.Channel]int    `json:"enqueued"`
	Skipped    map[string]map[string]int `json:"skipped"`
	RuleErrors int                       `json:"rule_errors"`
}

func (r *shardResult) skip(rule, reason string) {
	if r.Skipped[rule] == nil {
		r.Skipped[rule] = map[string]int{}
	}
	r.Skipped[rule][reason]++
}

// runShard evaluates the accounts of shard i and enqueues their messages.
func (e *Evaluator) runShard(ctx context.Context, doc *passDoc, i int) (*shardResult, error) {
	res := &shardResult{Flags: map[string]int{}, Resolved: map[string]int{}, Skipped: map[string]map[string]int{}}
	out := newBatcher(ctx, e.Queue, doc.Pass)
	pp := newPassPlan(doc.Pass, doc.Now)
	err := e.eachInShard(ctx, doc, i, func(batch []scored) error {
		res.Accounts += len(batch)
		return e.evaluateBatch(ctx, pp, batch, res, out)
	})
	if err == nil {
		err = out.flush()
	}
	res.Enqueued = out.counts
	return res, err
}

// scored is an account with its features and, once evaluated, the rules
// whose condition holds for it.
type scored struct {
	c       model.Client
	f       rules.Features
	matches []rules.Match
}

// eachInShard calls fn with the accounts of shard i and their features, a
// batch at a time.
func (e *Evaluator) eachInShard(ctx context.Context, doc *passDoc, i int, fn func([]scored) error) error {
	from, to := doc.Bounds[i], ""
	if i+1 < len(doc.Bounds) {
		to = doc.Bounds[i+1]
	}
	for {
		ids, err := e.Store.AccountIDRange(ctx, from, to, 500)
		if err != nil || len(ids) == 0 {
			return err
		}
		clients, err := e.Store.Clients(ctx, ids)
		if err != nil {
			return err
		}
		batch := make([]scored, len(clients))
		for j := range clients {
			batch[j] = scored{c: clients[j], f: rules.Compute(doc.Now, &clients[j])}
			doc.Segmenter.Apply(clients[j].Account.ID, &batch[j].f)
		}
		if err := fn(batch); err != nil {
			return err
		}
		from = ids[len(ids)-1] + "\x00" // the next id after the last one read
	}
}

// shardDone records shard i's result; the shard that completes the pass
// writes its report.
func (e *Evaluator) shardDone(ctx context.Context, doc *passDoc, i int, res *shardResult) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("evaluate %s shard %d: encode result: %w", doc.Pass, i, err)
	}
	n, err := e.Store.SaveShardResult(ctx, doc.Pass, i, b)
	if err != nil || int(n) < len(doc.Bounds) {
		return err
	}
	raw, err := e.Store.ShardResults(ctx, doc.Pass)
	if err != nil {
		return err
	}
	results := make([]*shardResult, len(raw))
	for j, b := range raw {
		if err := json.Unmarshal(b, &results[j]); err != nil {
			return fmt.Errorf("evaluate %s: decode shard result: %w", doc.Pass, err)
		}
	}
	_, err = e.finish(ctx, doc, results)
	return err
}

// finish sums the shards' results into the pass's report, saves it and
// lets the next pass run.
func (e *Evaluator) finish(ctx context.Context, doc *passDoc, results []*shardResult) (*Report, error) {
	rep := newReport(doc.Pass, doc.Now)
	rep.StartedAt, rep.Accounts, rep.Revenue, rep.ABC = doc.StartedAt, doc.Accounts, doc.Revenue, doc.ABC
	for _, r := range results {
		rep.RuleErrors += r.RuleErrors
		for k, v := range r.Flags {
			rep.Flags[k] += v
		}
		for k, v := range r.Resolved {
			rep.Resolved[k] += v
		}
		for k, v := range r.Enqueued {
			rep.Enqueued[k] += v
		}
		for rule, reasons := range r.Skipped {
			for reason, n := range reasons {
				if rep.Skipped[rule] == nil {
					rep.Skipped[rule] = map[string]int{}
				}
				rep.Skipped[rule][reason] += n
			}
		}
	}
	rep.Duration = time.Since(rep.StartedAt)
	e.Metrics.PassDuration.Observe(rep.Duration.Seconds())
	if err := e.saveReport(ctx, rep); err != nil {
		return nil, err
	}
	if err := e.Store.UnlockPass(ctx, doc.Pass); err != nil {
		return nil, err
	}
	e.Logger.Info("evaluation done", "pass", doc.Pass, "accounts", rep.Accounts, "flags", rep.Flags, "enqueued", rep.Enqueued, "duration", rep.Duration)
	return rep, nil
}

// evaluateBatch evaluates the rules on a batch of accounts, moves each
// rule's flag state forward (pending while its condition has held for less
// than its for; fired; resolved when it stops holding) and acts on the
// rules that fire.
func (e *Evaluator) evaluateBatch(ctx context.Context, pp *passPlan, batch []scored, res *shardResult, out *batcher) error {
	for j := range batch {
		var err error
		if batch[j].matches, err = e.Rules.Evaluate(pp.now, &batch[j].c, batch[j].f); err != nil {
			res.RuleErrors++
			e.Logger.Warn("rule error", "account", batch[j].c.Account.ID, "err", err)
		}
	}
	fires := make([]map[string]bool, len(batch))
	for j := range fires {
		fires[j] = map[string]bool{}
	}
	for _, r := range e.Rules.Rules {
		if err := e.advanceFlags(ctx, pp, r, batch, fires, res, out); err != nil {
			return err
		}
	}
	for j := range batch {
		firing := rules.Firing(batch[j].matches, func(r *rules.Rule) bool { return fires[j][r.Name] })
		for _, m := range firing {
			if err := e.act(ctx, pp, &batch[j], m, res, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// advanceFlags moves rule r's flag state forward for every account of the
// batch, marks in fires where it fires, and resolves the flags that
// stopped holding.
func (e *Evaluator) advanceFlags(ctx context.Context, pp *passPlan, r *rules.Rule, batch []scored, fires []map[string]bool, res *shardResult, out *batcher) error {
	ids := make([]string, len(batch))
	for j := range batch {
		ids[j] = batch[j].c.Account.ID
	}
	states, err := e.Store.FlagStates(ctx, r.Name, ids)
	if err != nil {
		return err
	}
	set := map[string]store.FlagState{}
	var clear []string
	for j := range batch {
		st, held := states[j], matched(batch[j].matches, r)
		switch {
		case held:
			next, fire := stepFlag(st, r, pp)
			if st == nil || *st != next {
				set[ids[j]] = next
			}
			if fire {
				fires[j][r.Name] = true
			} else {
				e.skipped(res, r.Name, SkipPending)
			}
		case st != nil:
			clear = append(clear, ids[j])
			if !st.FiredAt.IsZero() {
				if err := e.resolve(ctx, pp, &batch[j], r, res, out); err != nil {
					return err
				}
			}
		}
	}
	return e.Store.SetFlagStates(ctx, r.Name, set, clear)
}

// stepFlag returns the state of a rule whose condition holds at this pass,
// and whether it fires: at once without for, else once the condition has
// held for that long; a rule that fired keeps firing (its cooldown decides
// whether it sends again).
func stepFlag(st *store.FlagState, r *rules.Rule, pp *passPlan) (store.FlagState, bool) {
	next := store.FlagState{Since: pp.now}
	if st != nil {
		next = *st
	}
	if next.FiredAt.IsZero() && pp.now.Sub(next.Since) >= r.For {
		next.FiredAt, next.Pass = pp.now, pp.pass
	}
	return next, !next.FiredAt.IsZero()
}

func matched(matches []rules.Match, r *rules.Rule) bool {
	for _, m := range matches {
		if m.Rule == r {
			return true
		}
	}
	return false
}

// resolve records that r's flag on the account stopped holding and sends
// the rule's on_resolve note, if any.
func (e *Evaluator) resolve(ctx context.Context, pp *passPlan, s *scored, r *rules.Rule, res *shardResult, out *batcher) error {
	res.Resolved[r.Name]++
	entry := store.Entry{
		Key: LedgerKey(r.Name, s.c.Account.ID, "resolved", "", pp.pass), Rule: r.Name, AccountID: s.c.Account.ID,
		Pass: pp.pass, Expression: r.When, Features: s.f.Map(),
	}
	if err := e.Store.RecordResolved(ctx, entry, pp.now); err != nil {
		return err
	}
	pl, err := e.Planner.PlanResolved(pp, &s.c, s.f, r)
	if err != nil {
		return err
	}
	for _, reason := range pl.skips {
		e.skipped(res, r.Name, reason)
	}
	return out.add(pl.msgs...)
}

// act takes the actions of a firing rule: cooldown, safety rails, then the
// rendered messages to the batcher.
func (e *Evaluator) act(ctx context.Context, pp *passPlan, s *scored, m rules.Match, res *shardResult, out *batcher) error {
	c := &s.c
	res.Flags[m.Rule.Name]++
	e.Metrics.Flags.WithLabelValues(m.Rule.Name).Inc()
	for range len(m.Rule.Actions) - len(m.Actions) {
		e.skipped(res, m.Rule.Name, SkipInhibited)
	}
	if len(m.Actions) == 0 {
		return nil
	}
	ok, err := e.Store.AcquireCooldown(ctx, m.Rule.Name, c.Account.ID, pp.pass, m.Rule.Cooldown)
	if err != nil {
		return err
	}
	if !ok {
		e.skipped(res, m.Rule.Name, SkipCooldown)
		return nil
	}
	pl, err := e.Planner.Plan(ctx, pp, c, s.f, m)
	if err != nil {
		return err
	}
	for _, reason := range pl.skips {
		e.skipped(res, m.Rule.Name, reason)
	}
	return out.add(pl.msgs...)
}

func (e *Evaluator) skipped(res *shardResult, rule, reason string) {
	res.skip(rule, reason)
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
