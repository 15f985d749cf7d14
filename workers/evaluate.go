package workers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/merge"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
)

// portfolio is the synced portfolio a pass reads.
type portfolio interface {
	SummaryRange(ctx context.Context, from, to string, batch int, fn func(ids []string, sums []store.Summary) error) error
	FeatureRange(ctx context.Context, from, to string, batch int, fn func(ids []string, sums []store.Summary) error) error
	WonRange(ctx context.Context, from, to string, batch int, fn func(ids []string, won [][]store.WonDeal) error) error
	CountAccounts(ctx context.Context) (int64, error)
	AccountIDsAt(ctx context.Context, ranks []int64) ([]string, error)
	AttachOwners(ctx context.Context, cs []model.Client) error
	EachClient(ctx context.Context, batch int, fn func(model.Client) error) error
	AccountIDRange(ctx context.Context, from, to string, limit int64) ([]string, error)
	Clients(ctx context.Context, ids []string) ([]model.Client, error)
	ClientRecords(ctx context.Context, ids []string) ([]model.Client, error)
	SaveMergeGroups(ctx context.Context, g map[string][]string) error
}

// Accounts is what a pass reads of the portfolio: the store's records,
// or a merge.View of them.
type Accounts interface {
	EachClient(ctx context.Context, batch int, fn func(model.Client) error) error
	AccountIDRange(ctx context.Context, from, to string, limit int64) ([]string, error)
	Clients(ctx context.Context, ids []string) ([]model.Client, error)
}

// syncStates tells a pass which sources are ready, in a full sync, or
// stale.
type syncStates interface {
	SyncStates(ctx context.Context, sources []string) ([]store.SyncState, error)
}

// passBook is the state passes keep: the pass lock, plans, shard results,
// reports and digests, deferred passes, and the rules' flags, cooldowns
// and snoozes carried from one pass to the next.
type passBook interface {
	Cooldown(ctx context.Context, rule, accountID string) (until time.Time, ok bool, err error)
	LockPass(ctx context.Context, pass string, ttl time.Duration) (ok bool, holder string, err error)
	TakeOverPass(ctx context.Context, dead, pass string, ttl time.Duration) (bool, error)
	GatePass(ctx context.Context, g store.Gate, now time.Time, pass []byte) (held []string, replaced []byte, err error)
	UnlockPass(ctx context.Context, pass string) error
	SavePassPlan(ctx context.Context, pass string, data []byte) error
	PassPlan(ctx context.Context, pass string) ([]byte, error)
	SaveShardResult(ctx context.Context, pass string, shard int, data []byte) (int64, error)
	ShardResults(ctx context.Context, pass string) ([][]byte, error)
	SaveReport(ctx context.Context, pass string, data []byte) error
	AddDigestItems(ctx context.Context, pass string, items map[string][][]byte) error
	DigestItems(ctx context.Context, pass string) (map[string][][]byte, error)
	FlagStates(ctx context.Context, rule string, ids []string) ([]*store.FlagState, error)
	RuleStates(ctx context.Context, names, ids []string) ([][]*store.FlagState, [][]*store.Outcome, error)
	SaveRuleStates(ctx context.Context, updates []store.RuleUpdate) error
	RecordResolved(ctx context.Context, e store.Entry, at time.Time) error
	outcomeBook
	snapshotBook
	SnoozedMany(ctx context.Context, pairs []store.RuleAccount) ([]time.Time, error)
	AcquireCooldowns(ctx context.Context, pass string, pairs []store.RuleAccount, ttls []time.Duration) ([]bool, error)
	CooldownsFree(ctx context.Context, pass string, pairs []store.RuleAccount) ([]bool, error)
	Cooldowns(ctx context.Context, pairs []store.RuleAccount) ([]time.Time, error)
	StageCandidates(ctx context.Context, pass string, heads map[string][]byte) error
	StagedHeads(ctx context.Context, pass string, fn func(field string, data []byte) error) error
	ReleaseCooldowns(ctx context.Context, pass string, matches [][2]string) error
	ActivateRule(ctx context.Context, rule, pass string) (string, error)
	RuleActivated(ctx context.Context, rule string) (bool, error)
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
	Pass      string                 `json:"pass"`
	Now       time.Time              `json:"now"`
	StartedAt time.Time              `json:"started_at"`
	Duration  time.Duration          `json:"duration"`
	Accounts  int                    `json:"accounts"`
	Revenue   float64                `json:"revenue_12m"`
	ABC       map[string]*ClassStats `json:"abc"`
	Flags     map[string]int         `json:"flags"`    // rule → accounts flagged (fired)
	Resolved  map[string]int         `json:"resolved"` // rule → flags that stopped holding
	Enqueued  map[notify.Channel]int `json:"enqueued"` // channel → messages enqueued
	// Messages counts the messages enqueued per rule and channel (digests
	// under the rule "digest").
	Messages map[string]map[notify.Channel]int `json:"messages,omitempty"`
	// Deferred counts, per channel, the messages over limits.per_pass left
	// to later passes ("deferred 230 emails to later passes").
	Deferred   map[notify.Channel]int    `json:"deferred,omitempty"`
	Skipped    map[string]map[string]int `json:"skipped"` // rule → reason (Skip*) → count
	RuleErrors int                       `json:"rule_errors,omitempty"`
	// Stale are the sources whose data the pass used although their syncs
	// have not completed for longer than their stale_after.
	Stale []StaleSource `json:"stale,omitempty"`
	// Merge says what merging sources joined; nil without a merge section.
	Merge *merge.Stats `json:"merge,omitempty"`
}

// StaleSource is a source a pass used while stale.
type StaleSource struct {
	Source      string    `json:"source"`
	LastSuccess time.Time `json:"last_success,omitzero"` // end of its last completed sync; zero: never
	LastError   string    `json:"last_error,omitempty"`
}

func newReport(pass string, now time.Time) *Report {
	return &Report{
		Pass: pass, Now: now, StartedAt: time.Now(),
		ABC:      map[string]*ClassStats{"A": {}, "B": {}, "C": {}},
		Flags:    map[string]int{},
		Resolved: map[string]int{},
		Enqueued: map[notify.Channel]int{},
		Messages: map[string]map[notify.Channel]int{},
		Deferred: map[notify.Channel]int{},
		Skipped:  map[string]map[string]int{},
	}
}

// Evaluator runs evaluation passes over the whole portfolio. A pass is
// planned once (the portfolio-wide thresholds: ABC bounds, RFM quintiles;
// and the shards: ranges of account ids), then its shards are evaluated by
// any number of workers in parallel, and the shard that completes the pass
// writes its report. One pass runs at a time.
type Evaluator struct {
	Records portfolio
	Passes  passBook
	Syncs   syncStates
	Rules   *rules.RuleSet
	Planner *Planner
	Queue   enqueuer
	// NS names the deployment's queues and task ids.
	NS Namespace
	// Gate lists every configured source and its stale_after: a pass waits
	// for their first and full syncs.
	Gate store.Gate
	// Tasks tells a pass holding the lock that died from a live one; nil:
	// the lock is honoured until it expires.
	Tasks   taskControl
	Metrics *Metrics
	Logger  *slog.Logger
	// ShardSize is the number of accounts a shard holds (default
	// DefaultShardSize).
	ShardSize int
	// Limits caps what one pass sends (limits.per_pass); zero: no cap.
	Limits PassLimits
	// Merge joins one company's accounts of several sources into one
	// portfolio account (config merge); nil: every account is its own.
	Merge *merge.Rules
	// Location is the time zone months are cut in, for the monthly
	// snapshots (config timezone); nil: UTC.
	Location *time.Location

	owners passOwners // the owners this process has read, for one pass
}

// DefaultShardSize is the number of accounts of a shard.
const DefaultShardSize = 2000

// PassLockTTL bounds how long a pass that died keeps others from running,
// when no task inspector can tell that it died.
const PassLockTTL = time.Hour

// deferRetry is when a pass waiting for a sync tries again by itself; the
// sync's commit runs it before that (Syncer.runDeferred).
const deferRetry = 10 * time.Minute

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
	if err := e.wait(ctx, pass, now); err != nil {
		return err
	}
	doc, ok, err := e.begin(ctx, pass, now)
	if err != nil || !ok {
		return err
	}
	if len(doc.Bounds) == 0 {
		_, err := e.finish(ctx, doc, nil)
		return err
	}
	for i := range doc.Bounds {
		t, err := NewShardTask(e.NS, ShardPayload{Pass: pass, Shard: i})
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
	if err := e.wait(ctx, pass, now); err != nil {
		return nil, err
	}
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
	ok, err := e.lock(ctx, pass)
	if err != nil || !ok {
		return nil, false, err
	}
	if doc, err := e.loadPlan(ctx, pass); err == nil {
		return doc, true, nil
	}
	doc, err := e.plan(ctx, pass, now)
	if err != nil {
		return nil, false, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	if err := e.Records.SaveMergeGroups(ctx, doc.Merge); err != nil {
		return nil, false, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	if doc.Baseline, err = e.activate(ctx, pass); err != nil {
		return nil, false, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	if err := e.snapshotDay(ctx, doc); err != nil {
		return nil, false, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, false, fmt.Errorf("evaluate %s: encode plan: %w", pass, err)
	}
	if err := e.Passes.SavePassPlan(ctx, pass, b); err != nil {
		return nil, false, fmt.Errorf("evaluate %s: %w", pass, err)
	}
	return doc, true, nil
}

func (e *Evaluator) loadPlan(ctx context.Context, pass string) (*passDoc, error) {
	b, err := e.Passes.PassPlan(ctx, pass)
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
	Stale    []StaleSource          `json:"stale,omitempty"`
	// Baseline names the rules with activation: baseline that this pass
	// activates: their matches now are their baseline.
	Baseline map[string]bool `json:"baseline,omitempty"`
	// Merge are the groups of accounts the pass reads as one (Evaluator.
	// Merge), fixed at planning so that every shard merges alike.
	Merge      merge.Groups `json:"merge,omitempty"`
	MergeStats *merge.Stats `json:"merge_stats,omitempty"`
	// SnapshotCompare: an earlier pass saved this month's snapshots the
	// same day, so the shards write only those that changed
	// (store.SnapshotMonth.Compare).
	SnapshotCompare bool `json:"snapshot_compare,omitempty"`

	view *merge.View // the portfolio through Merge, built once per process
}

// plan reads the whole portfolio once: the samples segmentation needs, the
// shard bounds every ShardSize accounts, and the ABC distribution.
func (e *Evaluator) plan(ctx context.Context, pass string, now time.Time) (*passDoc, error) {
	doc := &passDoc{Pass: pass, Now: now, StartedAt: time.Now(), ABC: map[string]*ClassStats{"A": {}, "B": {}, "C": {}}}
	size := cmp.Or(e.ShardSize, DefaultShardSize)
	if err := e.planMerge(ctx, doc); err != nil {
		return nil, err
	}
	samples, err := e.planSamples(ctx, doc, now, size)
	if err != nil {
		return nil, err
	}
	if doc.Stale, err = e.staleSources(ctx, time.Now()); err != nil {
		return nil, err
	}
	doc.Segmenter = rules.NewSegmenterOf(e.Rules.Segmentation, samples)
	for i := range samples.Len() {
		rev := samples.Revenue(i)
		cs := doc.ABC[doc.Segmenter.Class(samples.ID(i), rev)]
		cs.Accounts++
		cs.Revenue += rev
		doc.Revenue += rev
	}
	for _, cs := range doc.ABC {
		if doc.Revenue > 0 {
			cs.RevenueShare = cs.Revenue / doc.Revenue
		}
	}
	doc.Accounts = samples.Len()
	return doc, nil
}

// planSamples reads the whole portfolio once for what segmentation needs
// of each account, and sets doc's shard bounds every size accounts.
func (e *Evaluator) planSamples(ctx context.Context, doc *passDoc, now time.Time, size int) (*rules.Samples, error) {
	if !e.compact(doc) {
		var p samplesPart
		err := e.portfolio(doc).EachClient(ctx, 500, func(c model.Client) error {
			p.add(now, &c, size)
			return nil
		})
		doc.Bounds = p.bounds
		return &p.samples, err
	}
	// The thresholds need the won deals only (store.WonRange), read in
	// planParts id ranges at once.
	n, err := e.Records.CountAccounts(ctx)
	if err != nil {
		return nil, err
	}
	var ranks []int64
	if n >= planParts*wonBatch {
		for k := int64(1); k < planParts; k++ {
			ranks = append(ranks, n*k/planParts)
		}
	}
	cuts, err := e.Records.AccountIDsAt(ctx, ranks)
	if err != nil {
		return nil, err
	}
	for k, c := range cuts {
		if c == "" || k > 0 && c <= cuts[k-1] { // accounts went meanwhile
			cuts = nil
			break
		}
	}
	parts := make([]samplesPart, len(cuts)+1)
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for k := range parts {
		from, to := "", ""
		if k > 0 {
			from = cuts[k-1]
		}
		if k < len(cuts) {
			to = cuts[k]
		}
		wg.Go(func() { errs[k] = parts[k].readWon(ctx, e.Records, from, to, now, size, n/int64(len(parts))) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	samples := &parts[0].samples
	doc.Bounds = parts[0].bounds
	for k := 1; k < len(parts); k++ {
		samples.Append(&parts[k].samples)
		doc.Bounds = append(doc.Bounds, parts[k].bounds...)
	}
	return samples, nil
}

// planParts is how many ranges of account ids planning reads at once, so
// that scoring one range overlaps with Redis reading another.
const planParts = 2

// samplesPart is what planning read of one range of account ids: its
// samples and the first id of each of its shards.
type samplesPart struct {
	samples rules.Samples
	bounds  []string
}

// add adds the sample of c, starting a shard every size accounts.
func (p *samplesPart) add(now time.Time, c *model.Client, size int) {
	if p.samples.Len()%size == 0 {
		p.bounds = append(p.bounds, c.Account.ID)
	}
	f := rules.Compute(now, c)
	p.samples.Add(c.Account.ID, &f)
}

// readWon reads the won deals of the accounts from from to to (WonRange),
// about n of them.
func (p *samplesPart) readWon(ctx context.Context, recs portfolio, from, to string, now time.Time, size int, n int64) error {
	p.samples.Grow(int(n + n/64)) // a few more may come meanwhile
	var c model.Client
	return recs.WonRange(ctx, from, to, wonBatch, func(ids []string, won [][]store.WonDeal) error {
		for i := range ids {
			c.Deals = store.AppendDeals(c.Deals[:0], won[i])
			c.Account.ID = ids[i]
			p.add(now, &c, size)
		}
		return nil
	})
}

// finish sums the shards' results into the pass's report, saves it and
// lets the next pass run.
func (e *Evaluator) finish(ctx context.Context, doc *passDoc, results []*shardResult) (*Report, error) {
	rep := newReport(doc.Pass, doc.Now)
	rep.StartedAt, rep.Accounts, rep.Revenue, rep.ABC, rep.Stale = doc.StartedAt, doc.Accounts, doc.Revenue, doc.ABC, doc.Stale
	rep.Merge = doc.MergeStats
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
		addCounts(rep.Skipped, r.Skipped)
		addCounts(rep.Messages, r.Messages)
	}
	items, err := e.pickAndGather(ctx, doc, rep)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", doc.Pass, err)
	}
	digests, err := e.sendDigests(ctx, doc, items)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", doc.Pass, err)
	}
	rep.Enqueued[notify.Slack] += digests
	if digests > 0 {
		addCounts(rep.Messages, map[string]map[notify.Channel]int{DigestRule: {notify.Slack: digests}})
	}
	rep.Duration = time.Since(rep.StartedAt)
	e.Metrics.PassDuration.Observe(rep.Duration.Seconds())
	e.Metrics.LastPass.SetToCurrentTime()
	if err := e.saveReport(ctx, rep); err != nil {
		return nil, err
	}
	if err := e.Passes.UnlockPass(ctx, doc.Pass); err != nil {
		return nil, err
	}
	e.Logger.Info("evaluation done", "pass", doc.Pass, "accounts", rep.Accounts, "flags", rep.Flags, "enqueued", rep.Enqueued, "deferred", rep.Deferred, "duration", rep.Duration)
	return rep, nil
}

// pickAndGather runs the per_pass stage when limits are set (perPass)
// and returns the items of the pass's digests, by digest key: the shards'
// items, read and decoded meanwhile, then the nudges the stage folded.
func (e *Evaluator) pickAndGather(ctx context.Context, doc *passDoc, rep *Report) (map[string][]DigestItem, error) {
	var items map[string][]DigestItem
	var itemsErr error
	read := make(chan struct{})
	go func() {
		defer close(read)
		raw, err := e.Passes.DigestItems(ctx, doc.Pass)
		if err == nil {
			items, err = decodeDigests(raw)
		}
		itemsErr = err
	}()
	var folded map[string][]DigestItem
	var err error
	if e.Limits.active() {
		folded, err = e.perPass(ctx, doc, rep)
	}
	<-read
	if err = cmp.Or(err, itemsErr); err != nil {
		return nil, err
	}
	for k, v := range folded {
		if items == nil {
			items = map[string][]DigestItem{}
		}
		items[k] = append(items[k], v...)
	}
	return items, nil
}

// DigestRule is the rule under which reports count digests: one digest
// may list several rules' accounts.
const DigestRule = "digest"

// countHold counts a message of rule held back for reason, in skipped and
// in crmsync_messages_skipped_total.
func (e *Evaluator) countHold(skipped map[string]map[string]int, rule string, reason Hold) {
	if skipped[rule] == nil {
		skipped[rule] = map[string]int{}
	}
	skipped[rule][string(reason)]++
	e.Metrics.Skipped.WithLabelValues(rule, string(reason)).Inc()
}

// addCounts adds the counts of src to dst.
func addCounts[K comparable](dst, src map[string]map[K]int) {
	for k, m := range src {
		if dst[k] == nil {
			dst[k] = map[K]int{}
		}
		for kk, n := range m {
			dst[k][kk] += n
		}
	}
}

// activate records the rules this pass is the first to evaluate, and
// returns those with activation: baseline among them.
func (e *Evaluator) activate(ctx context.Context, pass string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, r := range e.Rules.Rules {
		by, err := e.Passes.ActivateRule(ctx, r.Name, pass)
		if err != nil {
			return nil, err
		}
		if by == pass && r.Activation == rules.ActivationBaseline {
			out[r.Name] = true
		}
	}
	return out, nil
}

func (e *Evaluator) saveReport(ctx context.Context, rep *Report) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("evaluate %s: encode report: %w", rep.Pass, err)
	}
	if err := e.Passes.SaveReport(ctx, rep.Pass, b); err != nil {
		return fmt.Errorf("evaluate %s: %w", rep.Pass, err)
	}
	return nil
}
