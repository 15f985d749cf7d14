package workers

import (
	"context"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
)

// The pipeline that decides whether a rule's flag on an account becomes a
// message. A pass and a preview (its dry run) go through the same stages,
// in this order:
//
//  1. pending    the condition holds, but not yet for the rule's `for`
//     (flag state, advanced for a whole batch in advanceFlags)
//  2. baseline   the account already matched when the rule was activated
//     with activation: baseline
//  3. inhibited  a more urgent firing rule replaces this rule's Slack
//     actions
//  4. snoozed    a rep snoozed the rule for the account
//  5. cooldown   the rule acted on the account less than its cooldown ago;
//     a pass acquires the cooldown (under limits.per_pass it
//     reads it, and takes it at stage 8 if the match goes, or
//     once the batch is through when a later stage holds the
//     match whole), a preview only reads it
//  6. plan       recipients and per-contact rails: opted_out, suppressed,
//     no_contact, no_owner, invalid_email, frequency_cap; quiet
//     hours delay emails; the messages are rendered (under
//     limits.per_pass, only those sent, when the pass completes)
//  7. holdout    the account is in the rule's holdout: its messages are
//     dropped, the ledger records holdout and its outcome opens
//     (outcome.go); per-pass caps never count it
//  8. per_pass   limits.per_pass, over the whole pass: emails over the cap
//     are deferred to a later pass, highest value first; a rep's
//     or a channel's nudges over its cap are folded into its digest
//  9. batch      the messages are grouped into delivery tasks
//
// Stages 2 to 7 are matchStages below; 8 and 9 run when the pass's last
// shard completes (pickPerPass, then the batcher), or at the end of a
// preview. Every stage that holds messages back says why with a Hold,
// counted per rule in the report and in crmsync_messages_skipped_total,
// and shown by preview with its detail.

// Hold is why messages were held back: the stage that stopped them.
type Hold string

// Holds, by stage.
const (
	SkipPending      Hold = "pending"       // the condition holds, but not yet for the rule's `for`
	SkipBaseline     Hold = "baseline"      // matched when the rule was activated with activation: baseline
	SkipInhibited    Hold = "inhibited"     // a more urgent rule's message replaces it
	SkipSnoozed      Hold = "snoozed"       // a rep snoozed the rule for this account
	SkipCooldown     Hold = "cooldown"      // the rule acted on the account within its cooldown
	SkipOptedOut     Hold = "opted_out"     // the contact opted out in the CRM
	SkipSuppressed   Hold = "suppressed"    // unsubscribed, bounced or marked as spam
	SkipNoContact    Hold = "no_contact"    // no contact with an address
	SkipNoOwner      Hold = "no_owner"      // no owner and no fallback channel
	SkipInvalidEmail Hold = "invalid_email" // the recipient's address is not one SendGrid accepts
	SkipCapped       Hold = "frequency_cap" // limits.emails_per_contact reached
	SkipDeferred     Hold = "deferred"      // over limits.per_pass.emails: left to a later pass
	SkipDigest       Hold = "digest"        // over a rep's or channel's limits.per_pass: folded into its digest
	SkipHoldout      Hold = "holdout"       // the account is in the rule's holdout: no message, on purpose
)

// hold is one message, or every message of a match, held back: its
// reason and, for a preview, its detail ("until ...", the address).
type hold struct {
	reason Hold
	detail string
}

// String is the hold as a preview shows it: "invalid_email name@mail".
func (h hold) String() string {
	if h.detail == "" {
		return string(h.reason)
	}
	return string(h.reason) + " " + h.detail
}

// matchRun is one firing match going through the match stages.
type matchRun struct {
	pp       *passPlan
	s        *scored
	m        rules.Match
	baseline bool // the flag is part of the rule's activation baseline

	holds []hold
	cand  *candidate // what the match would send; nil when nothing

	// What the stages' prefetches read for the run.
	snoozedUntil  time.Time // until when a rep snoozed it; zero: not snoozed
	cooldownUntil time.Time // a preview: until when its cooldown runs; zero: it does not
	acquired      bool      // a pass: it acquired its cooldown, or may take it (passPlan.takeLater)
}

func (r *matchRun) hold(reason Hold, detail string) { r.holds = append(r.holds, hold{reason, detail}) }

// matchStage is one stage of a match; done stops the match there.
// prefetch, when set, reads from Redis what the stage needs for every run
// about to go through it, in one round trip, before run is called for
// each: a batch of accounts costs a few round trips per stage, not a few
// per account.
type matchStage struct {
	name     string
	prefetch func(e *Evaluator, ctx context.Context, runs []*matchRun) error
	run      func(e *Evaluator, ctx context.Context, r *matchRun) (done bool, err error)
}

// matchStages are stages 2 to 7 of the pipeline, in order.
var matchStages = []matchStage{
	{"baseline", nil, (*Evaluator).stageBaseline},
	{"inhibited", nil, (*Evaluator).stageInhibited},
	{"snoozed", (*Evaluator).prefetchSnoozed, (*Evaluator).stageSnoozed},
	{"cooldown", (*Evaluator).prefetchCooldown, (*Evaluator).stageCooldown},
	{"plan", (*Evaluator).prefetchPlan, (*Evaluator).stagePlan},
	{"holdout", nil, (*Evaluator).stageHoldout},
}

// runMatch takes a firing match through the match stages.
func (e *Evaluator) runMatch(ctx context.Context, r *matchRun) error {
	return e.runMatches(ctx, []*matchRun{r})
}

// runMatches takes firing matches through the match stages, stage by
// stage: each stage sees the runs the previous ones let through, in the
// order given, so that what a stage counts across runs (the frequency
// cap's emails planned so far) is what running them one by one counts.
func (e *Evaluator) runMatches(ctx context.Context, runs []*matchRun) error {
	live := runs
	for _, st := range matchStages {
		if st.prefetch != nil && len(live) > 0 {
			if err := st.prefetch(e, ctx, live); err != nil {
				return err
			}
		}
		next := make([]*matchRun, 0, len(live))
		for _, r := range live {
			done, err := st.run(e, ctx, r)
			if err != nil {
				return err
			}
			if !done {
				next = append(next, r)
			}
		}
		live = next
	}
	return nil
}

// pairs names the flags of runs.
func pairs(runs []*matchRun) []store.RuleAccount {
	out := make([]store.RuleAccount, len(runs))
	for i, r := range runs {
		out[i] = store.RuleAccount{Rule: r.m.Rule.Name, Account: r.s.c.Account.ID}
	}
	return out
}

func (e *Evaluator) prefetchSnoozed(ctx context.Context, runs []*matchRun) error {
	until, err := e.Passes.SnoozedMany(ctx, pairs(runs))
	if err != nil {
		return err
	}
	for i, r := range runs {
		r.snoozedUntil = until[i]
	}
	return nil
}

// prefetchCooldown acquires the cooldowns of the runs in a pass, and
// reads them in a preview; under limits.per_pass, a pass reads whether
// it may take them (passPlan.takeLater).
func (e *Evaluator) prefetchCooldown(ctx context.Context, runs []*matchRun) error {
	pp, ps := runs[0].pp, pairs(runs)
	if pp.dryRun {
		until, err := e.Passes.Cooldowns(ctx, ps)
		if err != nil {
			return err
		}
		for i, r := range runs {
			r.cooldownUntil = until[i]
		}
		return nil
	}
	take := e.takeCooldowns
	if pp.takeLater {
		take = e.Passes.CooldownsFree
	}
	ok, err := take(ctx, pp.pass, ps)
	if err != nil {
		return err
	}
	for i, r := range runs {
		r.acquired = ok[i]
	}
	return nil
}

// takeCooldowns acquires for pass the cooldowns of the matches ps, each
// for its rule's cooldown, and reports which it holds: false where
// another pass holds it, or the rule is gone.
func (e *Evaluator) takeCooldowns(ctx context.Context, pass string, ps []store.RuleAccount) ([]bool, error) {
	out := make([]bool, len(ps))
	var ask []store.RuleAccount
	var ttls []time.Duration
	var at []int
	for i, p := range ps {
		if r := e.Rules.Rule(p.Rule); r != nil {
			ask, ttls, at = append(ask, p), append(ttls, r.Cooldown), append(at, i)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	ok, err := e.Passes.AcquireCooldowns(ctx, pass, ask, ttls)
	if err != nil {
		return nil, err
	}
	for k, i := range at {
		out[i] = ok[k]
	}
	return out, nil
}

// takeHeld takes, under passPlan.takeLater, the cooldowns of the runs
// that found theirs free and that a later stage held whole (the rails,
// the holdout): they keep it, as when a pass takes cooldowns up front.
// The runs that became candidates take theirs if they go (perPass).
func (e *Evaluator) takeHeld(ctx context.Context, pp *passPlan, runs []*matchRun) error {
	if !pp.takeLater || pp.dryRun {
		return nil
	}
	var held []*matchRun
	for _, r := range runs {
		if r.acquired && r.cand == nil {
			held = append(held, r)
		}
	}
	if len(held) == 0 {
		return nil
	}
	_, err := e.takeCooldowns(ctx, pp.pass, pairs(held))
	return err
}

func (e *Evaluator) prefetchPlan(ctx context.Context, runs []*matchRun) error {
	return e.Planner.prefetch(ctx, runs[0].pp, runs)
}

func (e *Evaluator) stageBaseline(_ context.Context, r *matchRun) (bool, error) {
	if !r.baseline {
		return false, nil
	}
	r.hold(SkipBaseline, "")
	return true, nil
}

func (e *Evaluator) stageInhibited(_ context.Context, r *matchRun) (bool, error) {
	for range len(r.m.Rule.Actions) - len(r.m.Actions) {
		r.hold(SkipInhibited, "")
	}
	return len(r.m.Actions) == 0, nil
}

func (e *Evaluator) stageSnoozed(_ context.Context, r *matchRun) (bool, error) {
	if !r.snoozedUntil.After(r.pp.now) {
		return false, nil
	}
	r.hold(SkipSnoozed, "until "+r.snoozedUntil.UTC().Format(time.DateTime))
	return true, nil
}

// stageCooldown holds the match when its rule's cooldown for the account
// runs: acquired by its prefetch in a pass (or found free, to take
// later), read in a preview.
func (e *Evaluator) stageCooldown(_ context.Context, r *matchRun) (bool, error) {
	if r.pp.dryRun {
		if !r.cooldownUntil.After(r.pp.now) {
			return false, nil
		}
		r.hold(SkipCooldown, "until "+r.cooldownUntil.UTC().Format(time.DateTime))
		return true, nil
	}
	if r.acquired {
		return false, nil
	}
	r.hold(SkipCooldown, "")
	return true, nil
}

func (e *Evaluator) stagePlan(ctx context.Context, r *matchRun) (bool, error) {
	pl, err := e.Planner.Plan(ctx, r.pp, &r.s.c, r.s.f, r.m)
	if err != nil {
		return true, err
	}
	r.holds = append(r.holds, pl.holds...)
	if len(pl.msgs) > 0 || len(pl.digests) > 0 {
		r.cand = &candidate{
			Rule: r.m.Rule.Name, Account: r.s.c.Account.ID, ABC: r.s.f.ABC, Revenue: r.s.f.Revenue12m,
			Msgs: pl.msgs, Digests: pl.digests, Folds: pl.folds,
			Cooldown: !r.pp.dryRun && !r.pp.takeLater, CooldownDue: r.pp.takeLater && !r.pp.dryRun,
			inhibited: len(r.m.Actions) < len(r.m.Rule.Actions),
		}
	}
	return r.cand == nil, nil
}

// candidate is what one match would send, waiting for the per_pass stage.
type candidate struct {
	Rule    string           `json:"rule"`
	Account string           `json:"account"`
	ABC     string           `json:"abc"`
	Revenue float64          `json:"revenue_12m"`
	Msgs    []notify.Message `json:"msgs,omitempty"`
	Digests []DigestItem     `json:"digests,omitempty"` // for rules whose Slack action is a digest
	// Folds are the Slack messages of Msgs as digest items, by recipient:
	// what replaces a nudge over its recipient's cap.
	Folds []DigestItem `json:"folds,omitempty"`
	// Cooldown is set when the pass acquired the rule's cooldown for the
	// account: a deferred match gives it back. CooldownDue is set when
	// the pass found it free and takes it if the match goes (perPass).
	Cooldown    bool `json:"cooldown,omitempty"`
	CooldownDue bool `json:"cooldown_due,omitempty"`

	heads []notify.Channel // a head's (store.StagedHead) channels of its messages, which it does not hold
	keys  []string         // a head's ledger keys of its messages
	// inhibited is set when a more urgent rule replaced the match's Slack
	// actions (rules.Firing): planned again, it keeps the others only.
	inhibited bool
	picked    *pickedMatch // what replan planned it from, to render its messages
}

// channels returns the channels of the candidate's messages, one per
// message.
func (c *candidate) channels() []notify.Channel {
	if c.Msgs == nil {
		return c.heads
	}
	out := make([]notify.Channel, len(c.Msgs))
	for i, m := range c.Msgs {
		out[i] = m.Channel
	}
	return out
}

// field names the candidate in the pass's staging hash.
func (c *candidate) field() string { return c.Rule + "|" + c.Account }
