package workers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
)

// PreviewFilter narrows a preview to one rule, one account and/or the
// accounts of one owner (matched on the owner's email, name or id,
// case-insensitively).
type PreviewFilter struct {
	Rule      string
	AccountID string
	Owner     string
}

// Flag is one rule firing on one account in a preview: why it fired, what
// would be sent, and what would hold messages back.
type Flag struct {
	Rule       string            `json:"rule"`
	Severity   string            `json:"severity"`
	Labels     map[string]string `json:"labels,omitempty"`
	AccountID  string            `json:"account_id"`
	Account    string            `json:"account"`
	Expression string            `json:"expression"`
	Features   map[string]any    `json:"features"`
	HeldBack   []string          `json:"held_back,omitempty"` // Skip* reasons, some with a detail: "cooldown until ...", "invalid_email name@mail"
	Messages   []notify.Message  `json:"messages,omitempty"`  // rendered exactly as they would be sent
}

// Preview evaluates the rules over the whole portfolio at now like a pass,
// but changes nothing: cooldowns are read, not started; messages are
// rendered and returned, not enqueued; the ledger is not touched.
func (e *Evaluator) Preview(ctx context.Context, now time.Time, flt PreviewFilter) ([]Flag, error) {
	if flt.Rule != "" && e.Rules.Rule(flt.Rule) == nil {
		return nil, fmt.Errorf("preview: no rule named %q", flt.Rule)
	}
	doc, err := e.plan(ctx, "preview", now)
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	pp := newPassPlan("preview", now)
	var out []Flag
	err = e.Records.EachClient(ctx, 500, func(c model.Client) error {
		if flt.AccountID != "" && c.Account.ID != flt.AccountID {
			return nil
		}
		f := rules.Compute(now, &c)
		doc.Segmenter.Apply(c.Account.ID, &f)
		flags, err := e.previewClient(ctx, pp, &c, f, flt.Rule)
		out = append(out, flags...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	digests, err := previewDigests(doc, pp.digests)
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	return append(out, digests...), nil
}

// previewDigests renders the digests a pass would send when it completes,
// one entry per rule and rep.
func previewDigests(doc *passDoc, items []DigestItem) ([]Flag, error) {
	byKey := map[string][]DigestItem{}
	for _, it := range items {
		byKey[it.key()] = append(byKey[it.key()], it)
	}
	var out []Flag
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		group := digestOrder(byKey[key])
		msgs, err := digestMessages(doc, group)
		if err != nil {
			return nil, err
		}
		out = append(out, Flag{
			Rule: group[0].Rule, Severity: group[0].Severity, AccountID: "digest:" + strings.ToLower(group[0].To),
			Account: fmt.Sprintf("digest of %d accounts to %s", len(group), group[0].To), Messages: msgs,
		})
	}
	return out, nil
}

func (e *Evaluator) previewClient(ctx context.Context, pp *passPlan, c *model.Client, f rules.Features, only string) ([]Flag, error) {
	matches, err := e.Rules.Evaluate(pp.now, c, f)
	if err != nil {
		e.Logger.Warn("rule error", "account", c.Account.ID, "err", err)
	}
	fires, waits, err := e.previewFires(ctx, pp, c.Account.ID, matches)
	if err != nil {
		return nil, err
	}
	var out []Flag
	for _, m := range matches {
		if only != "" && m.Rule.Name != only {
			continue
		}
		fl := Flag{
			Rule: m.Rule.Name, Severity: m.Rule.Severity, Labels: m.Rule.Labels, AccountID: c.Account.ID, Account: c.Account.Name,
			Expression: m.Rule.When, Features: f.Map(),
		}
		if !fires[m.Rule.Name] {
			fl.HeldBack = append(fl.HeldBack, waits[m.Rule.Name])
			out = append(out, fl)
			continue
		}
		fm := firingMatch(rules.Firing(matches, func(r *rules.Rule) bool { return fires[r.Name] }), m.Rule) // inhibition among firing rules only
		if err := e.previewActions(ctx, pp, c, f, fm, &fl); err != nil {
			return out, err
		}
		out = append(out, fl)
	}
	return out, nil
}

// previewFires tells, for each matching rule, whether it would fire now or
// is still waiting out its for (and until when), from its flag state.
func (e *Evaluator) previewFires(ctx context.Context, pp *passPlan, id string, matches []rules.Match) (map[string]bool, map[string]string, error) {
	fires, waits := map[string]bool{}, map[string]string{}
	for _, m := range matches {
		states, err := e.Passes.FlagStates(ctx, m.Rule.Name, []string{id})
		if err != nil {
			return nil, nil, err
		}
		next, fire := stepFlag(states[0], m.Rule, pp)
		fires[m.Rule.Name] = fire
		if !fire {
			waits[m.Rule.Name] = SkipPending + " until " + next.Since.Add(m.Rule.For).UTC().Format(time.DateTime)
		}
	}
	return fires, waits, nil
}

func firingMatch(firing []rules.Match, r *rules.Rule) rules.Match {
	for _, m := range firing {
		if m.Rule == r {
			return m
		}
	}
	return rules.Match{Rule: r}
}

// previewActions fills what a firing rule would do: inhibited actions,
// the cooldown, the safety rails and the rendered messages.
func (e *Evaluator) previewActions(ctx context.Context, pp *passPlan, c *model.Client, f rules.Features, m rules.Match, fl *Flag) error {
	for range len(m.Rule.Actions) - len(m.Actions) {
		fl.HeldBack = append(fl.HeldBack, SkipInhibited)
	}
	if until, snoozed, err := e.Passes.Snoozed(ctx, m.Rule.Name, c.Account.ID); err != nil || snoozed {
		if snoozed {
			fl.HeldBack = append(fl.HeldBack, SkipSnoozed+" until "+until.UTC().Format(time.DateTime))
		}
		return err
	}
	until, cooling, err := e.Passes.Cooldown(ctx, m.Rule.Name, c.Account.ID)
	if err != nil {
		return err
	}
	if cooling { // as in a pass: nothing is planned for this rule and account
		fl.HeldBack = append(fl.HeldBack, SkipCooldown+" until "+until.UTC().Format(time.DateTime))
		return nil
	}
	pl, err := e.Planner.Plan(ctx, pp, c, f, m)
	if err != nil {
		return err
	}
	fl.HeldBack = append(fl.HeldBack, pl.held...)
	fl.Messages = pl.msgs
	pp.digests = append(pp.digests, pl.digests...)
	return nil
}
