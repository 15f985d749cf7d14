package workers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
)

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
	out := newBatcher(ctx, e.Queue, e.NS, doc.Pass)
	pp := newPassPlan(doc.Pass, doc.Now)
	err := e.eachInShard(ctx, doc, i, func(batch []scored) error {
		res.Accounts += len(batch)
		return e.evaluateBatch(ctx, pp, batch, res, out)
	})
	if err == nil {
		err = out.flush()
	}
	if err == nil {
		err = e.Passes.AddDigestItems(ctx, doc.Pass, out.digests)
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
		ids, err := e.Records.AccountIDRange(ctx, from, to, 500)
		if err != nil || len(ids) == 0 {
			return err
		}
		clients, err := e.Records.Clients(ctx, ids)
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
	n, err := e.Passes.SaveShardResult(ctx, doc.Pass, i, b)
	if err != nil || int(n) < len(doc.Bounds) {
		return err
	}
	raw, err := e.Passes.ShardResults(ctx, doc.Pass)
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
	if _, snoozed, err := e.Passes.Snoozed(ctx, m.Rule.Name, c.Account.ID); err != nil || snoozed {
		if snoozed {
			e.skipped(res, m.Rule.Name, SkipSnoozed)
		}
		return err
	}
	ok, err := e.Passes.AcquireCooldown(ctx, m.Rule.Name, c.Account.ID, pp.pass, m.Rule.Cooldown)
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
	out.addDigest(pl.digests...)
	return out.add(pl.msgs...)
}
