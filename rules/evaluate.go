package rules

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/crmsync/crmsync/model"
)

// Match is a rule that fired for an account, with the actions left to
// take once inhibitions are applied (possibly none). Actions may share
// memory with the rule's and must not be modified.
type Match struct {
	Rule    *Rule
	Actions []Action
}

// evaluator is the per-goroutine state of Evaluate, reused across calls.
type evaluator struct {
	vm  vm.VM
	env env
}

// newEvaluator returns an evaluator whose days_since helper reads its
// env's now.
func newEvaluator() *evaluator {
	ev := &evaluator{}
	ev.env.DaysSince = func(t time.Time) int { return daysBetween(t, ev.env.Now) }
	return ev
}

// Evaluate returns the rules whose expression is true for client c, with
// features f, at now, in file order. When a matching rule inhibits
// another matching rule, the Slack actions of the latter are dropped
// (its emails stay). A rule whose expression fails at run time does not
// match; its error, naming the rule, is joined into the returned error
// while the other rules are still evaluated.
func (rs *RuleSet) Evaluate(now time.Time, c *model.Client, f Features) ([]Match, error) {
	ev, _ := rs.pool.Get().(*evaluator)
	if ev == nil {
		ev = newEvaluator()
	}
	defer rs.pool.Put(ev)
	ev.env.fill(rs.needs, now, c, &f)
	// One copy of the env per account, boxed once for every rule: expr
	// then reads its fields in place, where through a *env reflect would
	// copy each field it reads to the heap.
	boxed := any(ev.env)
	var matches []Match
	var errs []error
	for _, r := range rs.Rules {
		out, err := ev.vm.Run(r.program, boxed)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Name, err))
			continue
		}
		if out == true {
			matches = append(matches, Match{Rule: r, Actions: r.Actions})
		}
	}
	inhibit(matches)
	return matches, errors.Join(errs...)
}

// inhibit drops the Slack actions of every match inhibited by another.
func inhibit(matches []Match) {
	for _, m := range matches {
		for _, target := range m.Rule.Inhibits {
			i := slices.IndexFunc(matches, func(o Match) bool { return o.Rule.Name == target })
			if i >= 0 {
				matches[i].Actions = WithoutSlack(matches[i].Actions)
			}
		}
	}
}

// WithoutSlack returns a copy of actions without Slack actions: what a
// match keeps of its rule's actions when a more urgent rule inhibits it.
func WithoutSlack(actions []Action) []Action {
	out := make([]Action, 0, len(actions))
	for _, a := range actions {
		if a.Slack == nil {
			out = append(out, a)
		}
	}
	return out
}
