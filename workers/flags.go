package workers

import (
	"context"

	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
)

// fire is where a rule stands for an account at this pass.
type fire int

const (
	notFiring     fire = iota // the condition does not hold, or not yet for the rule's for
	firing                    // the rule fires: its actions go through the pipeline
	firesBaseline             // it fires, but the account is in the rule's activation baseline
)

// advanceFlags moves rule r's flag state forward for every account of the
// batch, from states (read by RuleStates), into u; marks in fires where it
// fires; and resolves the flags that stopped holding.
func (e *Evaluator) advanceFlags(ctx context.Context, pp *passPlan, r *rules.Rule, batch []scored, states []*store.FlagState, fires []map[string]fire, res *shardResult, out *batcher, u *store.RuleUpdate) error {
	u.Set = map[string]store.FlagState{}
	for j := range batch {
		id := batch[j].c.Account.ID
		st, held := states[j], matched(batch[j].matches, r)
		switch {
		case held:
			next, f := stepFlag(st, r, pp)
			if st == nil || *st != next {
				u.Set[id] = next
			}
			fires[j][r.Name] = f
			if f == notFiring {
				e.countHold(res.Skipped, r.Name, SkipPending)
			}
		case st != nil:
			u.Clear = append(u.Clear, id)
			if !st.FiredAt.IsZero() {
				if err := e.resolve(ctx, pp, &batch[j], r, !st.Baseline, res, out); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// stepFlag returns the state of a rule whose condition holds at this pass,
// and whether it fires: at once without for, else once the condition has
// held for that long; a rule that fired keeps firing (its cooldown decides
// whether it sends again). A flag that starts in the pass that activates a
// rule with activation: baseline belongs to its baseline for as long as it
// holds.
func stepFlag(st *store.FlagState, r *rules.Rule, pp *passPlan) (store.FlagState, fire) {
	next := store.FlagState{Since: pp.now, Baseline: pp.baseline[r.Name]}
	if st != nil {
		next = *st
	}
	if next.FiredAt.IsZero() && pp.now.Sub(next.Since) >= r.For {
		next.FiredAt, next.Pass = pp.now, pp.pass
	}
	switch {
	case next.FiredAt.IsZero():
		return next, notFiring
	case next.Baseline:
		return next, firesBaseline
	}
	return next, firing
}

func matched(matches []rules.Match, r *rules.Rule) bool {
	for _, m := range matches {
		if m.Rule == r {
			return true
		}
	}
	return false
}

// resolve records that r's flag on the account stopped holding and, with
// note, sends the rule's on_resolve note, if any. A flag of the rule's
// activation baseline gets no note, and neither does one whose rule has no
// cooldown running for the account (its match was deferred by the per-pass
// caps, or snoozed): nobody was told about it.
func (e *Evaluator) resolve(ctx context.Context, pp *passPlan, s *scored, r *rules.Rule, note bool, res *shardResult, out *batcher) error {
	res.Resolved[r.Name]++
	entry := store.Entry{
		Key: LedgerKey(r.Name, s.c.Account.ID, "resolved", "", pp.pass), Rule: r.Name, AccountID: s.c.Account.ID,
		Pass: pp.pass, Expression: r.When, Features: s.f.Map(),
	}
	if err := e.Passes.RecordResolved(ctx, entry, pp.now); err != nil || !note || r.OnResolve == nil {
		return err
	}
	if _, told, err := e.Passes.Cooldown(ctx, r.Name, s.c.Account.ID); err != nil || !told {
		return err
	}
	one := []scored{*s}
	if err := e.loadFull(ctx, one, func(int) bool { return true }); err != nil {
		return err
	}
	pl, err := e.Planner.PlanResolved(pp, &one[0].c, s.f, r)
	if err != nil {
		return err
	}
	for _, h := range pl.holds {
		e.countHold(res.Skipped, r.Name, h.reason)
	}
	countMessages(res.Messages, pl.msgs)
	return out.add(pl.msgs...)
}
