package workers

import (
	"context"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/store"
)

// Outcomes (DESIGN "Outcomes: did the nudges work?"): when a rule's flag
// sends its messages, or would have but the account is in the rule's
// holdout, an outcome opens for the account: it re-engages if it has an
// activity or a won deal after the flag and within the rule's
// outcome_window. Each pass closes the open outcomes of the accounts it
// reads, as re-engaged or, once the window is over, as not; the closed
// ones are counted per rule and group (store.OutcomeStats), which is what
// the uplift of a rule is computed from (package outcome).

// outcomeBook is where outcomes are kept (the store's Passes).
type outcomeBook interface {
	RecordHoldout(ctx context.Context, e store.Entry, at time.Time) error
}

// stageHoldout leaves an account of the rule's holdout without the
// messages the plan made for it, records that in the ledger and opens its
// outcome. Its cooldown runs as if the messages had gone, so that both
// groups are flagged alike.
func (e *Evaluator) stageHoldout(ctx context.Context, r *matchRun) (bool, error) {
	rule, id := r.m.Rule, r.s.c.Account.ID
	if r.cand == nil || !rule.InHoldout(id) {
		return false, nil
	}
	r.hold(SkipHoldout, "")
	r.cand = nil
	if r.pp.dryRun {
		return true, nil
	}
	entry := store.Entry{
		Key: LedgerKey(rule.Name, id, "holdout", "", r.pp.pass), Rule: rule.Name, AccountID: id,
		Pass: r.pp.pass, Expression: rule.When, Features: r.s.f.Map(),
	}
	if err := e.Passes.RecordHoldout(ctx, entry, r.pp.now); err != nil {
		return true, err
	}
	return true, e.openOutcomes(ctx, r.pp, store.GroupHoldout, []*candidate{{Rule: rule.Name, Account: id}})
}

// openOutcomes opens the outcomes of the candidates whose messages go (or
// of the holdout), at the pass's time.
func (e *Evaluator) openOutcomes(ctx context.Context, pp *passPlan, group string, cands []*candidate) error {
	byRule := map[string]map[string]store.Outcome{}
	for _, c := range cands {
		r := e.Rules.Rule(c.Rule)
		if r == nil {
			continue
		}
		if byRule[c.Rule] == nil {
			byRule[c.Rule] = map[string]store.Outcome{}
		}
		byRule[c.Rule][c.Account] = store.Outcome{At: pp.now, Until: pp.now.Add(r.OutcomeWindow), Group: group, Pass: pp.pass}
	}
	updates := make([]store.RuleUpdate, 0, len(byRule))
	for rule, open := range byRule {
		updates = append(updates, store.RuleUpdate{Rule: rule, Open: open})
	}
	return e.Passes.SaveRuleStates(ctx, updates)
}

// closeOutcomes returns the outcomes of open (a rule's, read by
// RuleStates, on the batch's accounts) to close: the accounts re-engaged,
// or the window is over.
func closeOutcomes(pp *passPlan, batch []scored, open []*store.Outcome) []store.Closed {
	var closed []store.Closed
	for j, o := range open {
		if o == nil {
			continue
		}
		back := reengaged(&batch[j].c, o.At, o.Until)
		if back || pp.now.After(o.Until) {
			closed = append(closed, store.Closed{AccountID: batch[j].c.Account.ID, Outcome: *o, Reengaged: back})
		}
	}
	return closed
}

// reengaged reports whether c shows an activity (on the account or one of
// its contacts, or a rep's "mark as contacted") or a won deal after from
// and no later than until.
func reengaged(c *model.Client, from, until time.Time) bool {
	in := func(t time.Time) bool { return t.After(from) && !t.After(until) }
	if in(c.Account.LastActivityAt) {
		return true
	}
	for _, ct := range c.Contacts {
		if in(ct.LastActivityAt) {
			return true
		}
	}
	for _, d := range c.Deals {
		if d.Won && in(d.ClosedAt) {
			return true
		}
	}
	return false
}
