package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
)

// shardResult is what one shard did, summed into the pass's report.
type shardResult struct {
	Accounts   int                               `json:"accounts"`
	Flags      map[string]int                    `json:"flags"`
	Resolved   map[string]int                    `json:"resolved"`
	Enqueued   map[notify.Channel]int            `json:"enqueued"`
	Messages   map[string]map[notify.Channel]int `json:"messages,omitempty"`
	Skipped    map[string]map[string]int         `json:"skipped"`
	RuleErrors int                               `json:"rule_errors"`
}

func newShardResult() *shardResult {
	return &shardResult{Flags: map[string]int{}, Resolved: map[string]int{}, Messages: map[string]map[notify.Channel]int{}, Skipped: map[string]map[string]int{}}
}

// runShard evaluates the accounts of shard i and enqueues their messages.
func (e *Evaluator) runShard(ctx context.Context, doc *passDoc, i int) (*shardResult, error) {
	res := newShardResult()
	out := newBatcher(ctx, e.Queue, e.NS, doc.Pass)
	pp := newPassPlan(doc.Pass, doc.Now)
	pp.baseline = doc.Baseline
	pp.refsOnly = e.Limits.active() // perPass renders what it picks
	pp.takeLater = e.Limits.active()
	pp.compareSnapshots = doc.SnapshotCompare
	err := e.eachInShard(ctx, doc, i, func(batch []scored) error {
		res.Accounts += len(batch)
		if err := e.evaluateBatch(ctx, pp, batch, res, out); err != nil {
			return err
		}
		err := e.stageCandidates(ctx, doc.Pass, pp.cands)
		pp.cands = pp.cands[:0]
		return err
	})
	if err == nil {
		err = out.flush()
	} else {
		out.wait()
	}
	if err == nil {
		err = e.Passes.AddDigestItems(ctx, doc.Pass, encodeDigests(out.digests))
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
	// light is set while c holds only the account's summary (compact
	// passes): its contacts and deals carry dates and amounts only, and,
	// read from its features record, its account only its id, lifecycle,
	// owner, creation and last activity: what the features and the rules
	// read; full records are loaded before anything is sent about the
	// account (loadFull).
	light bool
}

// summaryBatch is how many summaries a compact pass reads per round trip,
// and wonBatch how many accounts' won deals its planning reads.
const (
	summaryBatch = 1000
	wonBatch     = 5000
)

// compact reports whether doc's pass reads summaries (store.Summary)
// rather than whole records: when it merges no sources, and no rule reads
// contacts.
func (e *Evaluator) compact(doc *passDoc) bool {
	return doc.Merge == nil && doc.MergeStats == nil && !e.Rules.ReadsContacts()
}

// eachInShard calls fn with the accounts of shard i and their features, a
// batch at a time; fn must not keep a batch once it returns (eachSummary
// reuses its arrays).
func (e *Evaluator) eachInShard(ctx context.Context, doc *passDoc, i int, fn func([]scored) error) error {
	from, to := doc.Bounds[i], ""
	if i+1 < len(doc.Bounds) {
		to = doc.Bounds[i+1]
	}
	if e.compact(doc) {
		return e.eachSummary(ctx, doc, from, to, fn)
	}
	recs := e.portfolio(doc)
	for {
		ids, err := recs.AccountIDRange(ctx, from, to, 500)
		if err != nil || len(ids) == 0 {
			return err
		}
		clients, err := recs.Clients(ctx, ids)
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

// eachSummary is eachInShard for a compact pass: it reads the summaries
// of the accounts from from to to and their owners: from the accounts'
// features records when the rules read no more of an account, else from
// their bundles. The batches share one set of arrays (store.ClientArena):
// fn must not keep a batch's accounts once it returns.
func (e *Evaluator) eachSummary(ctx context.Context, doc *passDoc, from, to string, fn func([]scored) error) error {
	bufs, _ := summaryBufs.Get().(*batchBufs)
	if bufs == nil {
		bufs = new(batchBufs)
	}
	defer summaryBufs.Put(bufs)
	read := e.Records.FeatureRange
	if e.Rules.ReadsAccountRecord() {
		read = e.Records.SummaryRange
	}
	return read(ctx, from, to, summaryBatch, func(_ []string, sums []store.Summary) error {
		batch := slices.Grow(bufs.batch[:0], len(sums))[:len(sums)]
		bufs.batch = batch
		bufs.arena.SkipExtra = !e.Rules.ReadsAccountExtra()
		clients, err := bufs.arena.Clients(sums)
		if err != nil {
			return err
		}
		if err := e.owners.attach(ctx, e.Records, doc.Pass, clients); err != nil {
			return err
		}
		for j := range clients {
			batch[j] = scored{c: clients[j], f: rules.Compute(doc.Now, &clients[j]), light: true}
			doc.Segmenter.Apply(clients[j].Account.ID, &batch[j].f)
		}
		return fn(batch)
	})
}

// batchBufs are the arrays of a compact pass's batches, which the shards
// of a process take turns with (summaryBufs): a batch's accounts are
// about two kilobytes each, allocated anew for each batch otherwise.
type batchBufs struct {
	arena store.ClientArena
	batch []scored
}

var summaryBufs sync.Pool // of *batchBufs

// passOwners keeps the owners that the shards of one pass have read in
// this process: a rep owns many accounts, in many shards. A new pass
// starts afresh, so that it sees the owners as synced since.
type passOwners struct {
	mu   sync.Mutex
	pass string
	m    map[string]*model.Owner
}

// attach sets the owner of each client of cs, reading those not read yet
// for pass in one round trip. It looks each client's owner up once: the
// owner ids are in the batch's records, which no longer fit in the CPU's
// cache, so a lookup costs mostly the read of its key.
func (po *passOwners) attach(ctx context.Context, recs portfolio, pass string, cs []model.Client) error {
	unseen, missing := po.known(pass, cs)
	if len(unseen) == 0 {
		return nil
	}
	if err := recs.AttachOwners(ctx, unseen); err != nil {
		return err
	}
	read := make(map[string]*model.Owner, len(unseen))
	po.mu.Lock()
	for _, c := range unseen {
		po.m[c.Account.OwnerID] = c.Owner
		read[c.Account.OwnerID] = c.Owner
	}
	po.mu.Unlock()
	for _, i := range missing {
		cs[i].Owner = read[cs[i].Account.OwnerID]
	}
	return nil
}

// known sets the owner of each client of cs that pass has read already,
// and returns, as clients to read their owner into, the owners it has
// not, and the indexes in cs of the clients they are missing from.
func (po *passOwners) known(pass string, cs []model.Client) (unseen []model.Client, missing []int) {
	po.mu.Lock()
	defer po.mu.Unlock()
	if po.pass != pass || po.m == nil {
		po.pass, po.m = pass, map[string]*model.Owner{}
	}
	var asked map[string]bool
	for i := range cs {
		id := cs[i].Account.OwnerID
		if o, ok := po.m[id]; ok || id == "" {
			cs[i].Owner = o
			continue
		}
		missing = append(missing, i)
		if !asked[id] {
			if asked == nil {
				asked = map[string]bool{}
			}
			asked[id] = true
			unseen = append(unseen, model.Client{Account: model.Account{OwnerID: id}})
		}
	}
	return unseen, missing
}

// loadFull replaces the summaries of the accounts of batch that want
// (want[j]) with their whole records, in one round trip: what is sent
// about an account (rendered messages, digests) reads its contacts and
// deals. The features stay those computed from the summary: the same.
// The owners are those the summaries have, unless an account changed
// owner meanwhile.
func (e *Evaluator) loadFull(ctx context.Context, batch []scored, want func(j int) bool) error {
	var ids []string
	var idx []int
	for j := range batch {
		if batch[j].light && want(j) {
			ids = append(ids, batch[j].c.Account.ID)
			idx = append(idx, j)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	full, err := e.Records.ClientRecords(ctx, ids)
	if err != nil {
		return err
	}
	byID := make(map[string]*model.Client, len(full))
	for k := range full {
		byID[full[k].Account.ID] = &full[k]
	}
	var moved []int // indexes in batch of the accounts whose owner changed
	for _, j := range idx {
		c := byID[batch[j].c.Account.ID]
		if c == nil {
			continue
		}
		if c.Account.OwnerID == batch[j].c.Account.OwnerID {
			c.Owner = batch[j].c.Owner
		} else {
			moved = append(moved, j)
		}
		batch[j].c, batch[j].light = *c, false
	}
	return e.attachMoved(ctx, batch, moved)
}

// attachMoved reads the owners of the accounts of batch at moved, whose
// owner changed since their summary was read.
func (e *Evaluator) attachMoved(ctx context.Context, batch []scored, moved []int) error {
	if len(moved) == 0 {
		return nil
	}
	cs := make([]model.Client, len(moved))
	for k, j := range moved {
		cs[k] = batch[j].c
	}
	if err := e.Records.AttachOwners(ctx, cs); err != nil {
		return err
	}
	for k, j := range moved {
		batch[j].c.Owner = cs[k].Owner
	}
	return nil
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
	fires := make([]map[string]fire, len(batch))
	for j := range fires {
		fires[j] = map[string]fire{}
	}
	if err := e.advanceRules(ctx, pp, batch, fires, res, out); err != nil {
		return err
	}
	err := e.loadFull(ctx, batch, func(j int) bool {
		for _, f := range fires[j] {
			if f != notFiring {
				return true
			}
		}
		return false
	})
	if err != nil {
		return err
	}
	var runs []*matchRun
	for j := range batch {
		firing := rules.Firing(batch[j].matches, func(r *rules.Rule) bool { return fires[j][r.Name] != notFiring })
		for _, m := range firing {
			res.Flags[m.Rule.Name]++
			e.Metrics.Flags.WithLabelValues(m.Rule.Name).Inc()
			runs = append(runs, &matchRun{pp: pp, s: &batch[j], m: m, baseline: fires[j][m.Rule.Name] == firesBaseline})
		}
	}
	if err := e.runMatches(ctx, runs); err != nil {
		return err
	}
	if err := e.takeHeld(ctx, pp, runs); err != nil {
		return err
	}
	if err := e.act(ctx, pp, runs, res, out); err != nil {
		return err
	}
	return e.saveSnapshots(ctx, pp, batch, fires)
}

// advanceRules reads every rule's flag states and open outcomes on the
// batch's accounts, moves the flags forward (advanceFlags), closes the
// outcomes that are decided, and saves it all, in two round trips.
func (e *Evaluator) advanceRules(ctx context.Context, pp *passPlan, batch []scored, fires []map[string]fire, res *shardResult, out *batcher) error {
	ids := make([]string, len(batch))
	for j := range batch {
		ids[j] = batch[j].c.Account.ID
	}
	names := make([]string, len(e.Rules.Rules))
	for i, r := range e.Rules.Rules {
		names[i] = r.Name
	}
	flags, open, err := e.Passes.RuleStates(ctx, names, ids)
	if err != nil {
		return err
	}
	updates := make([]store.RuleUpdate, len(names))
	for i, r := range e.Rules.Rules {
		updates[i].Rule = r.Name
		if err := e.advanceFlags(ctx, pp, r, batch, flags[i], fires, res, out, &updates[i]); err != nil {
			return err
		}
		updates[i].Closed = closeOutcomes(pp, batch, open[i])
	}
	return e.Passes.SaveRuleStates(ctx, updates)
}

// act passes what the firing matches of runs, through the pipeline's
// match stages (pipeline.go), would send to the per_pass stage, or
// straight to the batcher when no per-pass cap is set.
func (e *Evaluator) act(ctx context.Context, pp *passPlan, runs []*matchRun, res *shardResult, out *batcher) error {
	var sent []*candidate
	for _, r := range runs {
		for _, h := range r.holds {
			e.countHold(res.Skipped, r.m.Rule.Name, h.reason)
		}
		switch {
		case r.cand == nil:
			continue
		case e.Limits.active():
			pp.cands = append(pp.cands, r.cand)
			continue
		}
		sent = append(sent, r.cand)
		out.addDigest(r.cand.Digests...)
		countMessages(res.Messages, r.cand.Msgs)
		if err := out.add(r.cand.Msgs...); err != nil {
			return err
		}
	}
	if len(sent) == 0 {
		return nil
	}
	return e.openOutcomes(ctx, pp, store.GroupMessaged, sent)
}
