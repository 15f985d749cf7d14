package workers

import (
	"context"
	"fmt"
	"slices"

	"github.com/crmsync/crmsync/internal/parallel"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
)

// Under limits.per_pass a pass stages every match it would send about
// until its last shard picks what goes now; most of them (emails over the
// cap) are left to later passes. Shards therefore plan matches by
// reference: who gets what (the rails applied, the ledger keys), nothing
// rendered, and they stage only a head per match (store.StagedHead). When the
// pass completes, the matches that go are planned again from the
// accounts' records scored with the pass's thresholds: by reference with
// their digest items and folds (replan), which the pick folds nudges over
// their cap into, then rendered, only those whose messages are sent
// (renderPicked). A pass that flags tens of thousands of accounts neither
// renders nor carries through Redis the emails, nudges and digest items
// of those it defers or folds.

// replan plans again the matches of heads (picked, in value order) and
// returns them in that order as whole candidates: the messages of each
// whose ledger key its head holds (what the rails let through at shard
// time), by reference, and its digest items and folds, rendered. A match
// whose account, or a message whose recipient, left the portfolio during
// the pass is dropped, with a warning.
func (e *Evaluator) replan(ctx context.Context, doc *passDoc, heads []*candidate) ([]*candidate, error) {
	clients, err := e.pickedClients(ctx, doc, heads)
	if err != nil {
		return nil, err
	}
	picked := make([]*pickedMatch, len(heads))
	for i, h := range heads {
		picked[i] = e.pickedMatch(doc, clients[h.Account], h)
	}
	plans, err := e.planPicked(ctx, doc, picked, func(pp *passPlan) { pp.refsOnly, pp.items = true, true })
	if err != nil {
		return nil, err
	}
	out := make([]*candidate, 0, len(heads))
	for i, h := range heads {
		if c := e.pickedCandidate(doc, h, plans[i]); c != nil {
			c.picked = picked[i]
			out = append(out, c)
		}
	}
	return out, nil
}

// planPicked plans the matches ms again on every core, with the rails
// they passed at shard time (renderOnly) and how set tells; nil for a
// nil match (its account or rule gone).
func (e *Evaluator) planPicked(ctx context.Context, doc *passDoc, ms []*pickedMatch, set func(*passPlan)) ([]*planned, error) {
	plans := make([]*planned, len(ms))
	err := parallel.Ranges(len(ms), 32, func(lo, hi int) error {
		pp := newPassPlan(doc.Pass, doc.Now)
		pp.renderOnly = true
		set(pp)
		for i := lo; i < hi; i++ {
			if ms[i] == nil {
				continue
			}
			pl, err := e.Planner.Plan(ctx, pp, ms[i].c, ms[i].f, ms[i].m)
			if err != nil {
				return err
			}
			plans[i] = &pl
		}
		return nil
	})
	return plans, err
}

// renderPicked renders msgs, messages of the candidates full planned by
// reference (replan): it plans their matches again, rendered, on every
// core, and returns each message as rendered under its ledger key.
func (e *Evaluator) renderPicked(ctx context.Context, doc *passDoc, full []*candidate, msgs []notify.Message) ([]notify.Message, error) {
	byMatch := make(map[[2]string]*pickedMatch, len(full))
	for _, c := range full {
		byMatch[[2]string{c.Account, c.Rule}] = c.picked
	}
	var todo []*pickedMatch
	seen := map[*pickedMatch]bool{}
	for _, m := range msgs {
		if pm := byMatch[[2]string{m.AccountID, m.Rule}]; pm != nil && !seen[pm] {
			seen[pm] = true
			todo = append(todo, pm)
		}
	}
	plans, err := e.planPicked(ctx, doc, todo, func(*passPlan) {})
	if err != nil {
		return nil, err
	}
	rendered := map[string]*notify.Message{}
	for _, pl := range plans {
		for j := range pl.msgs {
			rendered[pl.msgs[j].LedgerKey] = &pl.msgs[j]
		}
	}
	out := make([]notify.Message, len(msgs))
	for i, m := range msgs {
		r := rendered[m.LedgerKey]
		if r == nil {
			return nil, fmt.Errorf("render %s: not planned again from the same records", m.LedgerKey)
		}
		out[i] = *r
	}
	return out, nil
}

// pickedClients reads the whole records of the accounts of heads.
func (e *Evaluator) pickedClients(ctx context.Context, doc *passDoc, heads []*candidate) (map[string]*model.Client, error) {
	var ids []string
	seen := map[string]bool{}
	for _, h := range heads {
		if !seen[h.Account] {
			seen[h.Account] = true
			ids = append(ids, h.Account)
		}
	}
	clients := make(map[string]*model.Client, len(ids))
	for part := range slices.Chunk(ids, summaryBatch) {
		cs, err := e.readPicked(ctx, doc, part)
		if err != nil {
			return nil, err
		}
		for i := range cs {
			clients[cs[i].Account.ID] = &cs[i]
		}
	}
	return clients, nil
}

// readPicked reads the clients of ids. A compact pass takes their owners
// from those its shards read in this process (passOwners).
func (e *Evaluator) readPicked(ctx context.Context, doc *passDoc, ids []string) ([]model.Client, error) {
	if !e.compact(doc) {
		return e.portfolio(doc).Clients(ctx, ids)
	}
	cs, err := e.Records.ClientRecords(ctx, ids)
	if err != nil {
		return nil, err
	}
	return cs, e.owners.attach(ctx, e.Records, doc.Pass, cs)
}

// pickedMatch is a match picked, as its head kept it, on its account
// scored with the pass's thresholds.
type pickedMatch struct {
	c *model.Client
	f rules.Features
	m rules.Match
}

// pickedMatch is the match of head h on client c, with the actions the
// match kept; nil when c or the rule is gone.
func (e *Evaluator) pickedMatch(doc *passDoc, c *model.Client, h *candidate) *pickedMatch {
	r := e.Rules.Rule(h.Rule)
	if c == nil || r == nil {
		return nil
	}
	pm := &pickedMatch{c: c, f: rules.Compute(doc.Now, c), m: rules.Match{Rule: r, Actions: r.Actions}}
	doc.Segmenter.Apply(c.Account.ID, &pm.f)
	if h.inhibited {
		pm.m.Actions = rules.WithoutSlack(r.Actions)
	}
	return pm
}

// pickedCandidate is the whole candidate of head h from its plan pl: nil,
// with a warning, when pl is (its account is gone).
func (e *Evaluator) pickedCandidate(doc *passDoc, h *candidate, pl *planned) *candidate {
	gone := func(key string) {
		e.Logger.Warn("message dropped: its account or recipient left the portfolio during the pass", "pass", doc.Pass, "rule", h.Rule, "account", h.Account, "key", key)
	}
	if pl == nil {
		for _, k := range h.keys {
			gone(k)
		}
		return nil
	}
	byKey := make(map[string]*notify.Message, len(pl.msgs))
	for i := range pl.msgs {
		byKey[pl.msgs[i].LedgerKey] = &pl.msgs[i]
	}
	c := &candidate{Rule: h.Rule, Account: h.Account, ABC: h.ABC, Revenue: h.Revenue, Cooldown: h.Cooldown, CooldownDue: h.CooldownDue,
		Digests: pl.digests, Folds: pl.folds}
	c.Msgs = make([]notify.Message, 0, len(h.keys))
	for _, k := range h.keys {
		if m := byKey[k]; m != nil {
			c.Msgs = append(c.Msgs, *m)
		} else {
			gone(k)
		}
	}
	return c
}
