package workers

import (
	"cmp"
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
	Rule      string            `json:"rule"`
	Severity  string            `json:"severity"`
	Labels    map[string]string `json:"labels,omitempty"`
	AccountID string            `json:"account_id"`
	Account   string            `json:"account"`
	// Sources are the accounts of several sources this one was merged
	// from (config merge), its own first; empty when it has one source.
	Sources    []string         `json:"sources,omitempty"`
	Owner      string           `json:"owner,omitempty"` // the owner's email, else name
	Expression string           `json:"expression"`
	Features   map[string]any   `json:"features"`
	HeldBack   []string         `json:"held_back,omitempty"` // Skip* reasons, some with a detail: "cooldown until ...", "invalid_email name@mail"
	Messages   []notify.Message `json:"messages,omitempty"`  // rendered exactly as they would be sent
	// Deferred are the messages limits.per_pass leaves to a later pass,
	// rendered as this pass would have sent them.
	Deferred []notify.Message `json:"deferred,omitempty"`
}

// Preview evaluates the rules over the whole portfolio at now like a pass
// and returns every flag shown: PreviewFlags.Flags of PreviewStream. It
// holds every flag in memory: callers that print a preview of a large
// portfolio should use PreviewStream.
func (e *Evaluator) Preview(ctx context.Context, now time.Time, flt PreviewFilter) ([]Flag, error) {
	pf, err := e.PreviewStream(ctx, now, flt)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	return pf.Flags()
}

// PreviewStream evaluates the rules over the whole portfolio at now like
// a pass, through the same pipeline (pipeline.go) in dry-run mode, and
// changes nothing: cooldowns are read, not started; messages are
// rendered, not enqueued; the ledger is not touched. Every time-based
// stage (pending, snoozes, cooldowns, frequency caps, quiet hours) is
// judged at now. The filter narrows what is shown, not what is
// evaluated: per-pass caps and inhibitions depend on the whole portfolio.
//
// The flags go to a temporary file as they are found, so that memory does
// not grow with them; only what the per_pass stage ranks stays in memory
// (a few fields per would-be-sent match, without the message bodies).
// The caller must Close the result.
func (e *Evaluator) PreviewStream(ctx context.Context, now time.Time, flt PreviewFilter) (*PreviewFlags, error) {
	if flt.Rule != "" && e.Rules.Rule(flt.Rule) == nil {
		return nil, fmt.Errorf("preview: no rule named %q", flt.Rule)
	}
	doc, err := e.plan(ctx, "preview", now)
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	pp := newPassPlan("preview", now)
	pp.dryRun = true
	if pp.baseline, err = e.previewBaseline(ctx); err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	sp, err := newFlagSpool()
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	pv := &preview{flt: flt, spool: sp, byCand: map[*candidate]int{}}
	err = e.portfolio(doc).EachClient(ctx, 500, func(c model.Client) error {
		f := rules.Compute(now, &c)
		doc.Segmenter.Apply(c.Account.ID, &f)
		return e.previewClient(ctx, pp, &scored{c: c, f: f}, pv)
	})
	if err == nil {
		err = sp.flush()
	}
	if err != nil {
		sp.close()
		return nil, fmt.Errorf("preview: %w", err)
	}
	digests := pv.perPass(e.Limits, pp.cands)
	if sp.digests, err = previewDigests(doc, digests, flt); err != nil {
		sp.close()
		return nil, fmt.Errorf("preview: %w", err)
	}
	return &PreviewFlags{spool: sp}, nil
}

// previewBaseline returns the rules with activation: baseline that no pass
// has evaluated yet: the next pass records their matches as the baseline.
func (e *Evaluator) previewBaseline(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	for _, r := range e.Rules.Rules {
		if r.Activation != rules.ActivationBaseline {
			continue
		}
		done, err := e.Passes.RuleActivated(ctx, r.Name)
		if err != nil {
			return nil, err
		}
		out[r.Name] = !done
	}
	return out, nil
}

// preview gathers the flags a preview shows.
type preview struct {
	flt    PreviewFilter
	spool  *flagSpool
	byCand map[*candidate]int // the position in the spool of each candidate's flag shown
}

// shows reports whether the filter keeps rule's flag on client c.
func (flt PreviewFilter) shows(c *model.Client, rule string) bool {
	if flt.Rule != "" && rule != flt.Rule || flt.AccountID != "" && !isAccount(c, flt.AccountID) {
		return false
	}
	if flt.Owner == "" {
		return true
	}
	o := c.Owner
	return o != nil && (flt.ownedBy(o.Email, o.Name) || strings.EqualFold(o.ID, flt.Owner) || strings.EqualFold(o.ExternalID, flt.Owner))
}

// isAccount reports whether id is c's, or one of the accounts c was
// merged from.
func isAccount(c *model.Client, id string) bool {
	return c.Account.ID == id || slices.ContainsFunc(c.Account.Sources, func(r model.Ref) bool { return r.ID == id })
}

// ownedBy reports whether the filter's owner is the one with email or
// name.
func (flt PreviewFilter) ownedBy(email, name string) bool {
	return email != "" && strings.EqualFold(email, flt.Owner) || name != "" && strings.EqualFold(name, flt.Owner)
}

// showsDigest reports whether the filter keeps a digest: one of its
// accounts passes it.
func (flt PreviewFilter) showsDigest(items []DigestItem) bool {
	return slices.ContainsFunc(items, func(it DigestItem) bool {
		return (flt.Rule == "" || it.Rule == flt.Rule) &&
			(flt.AccountID == "" || it.Entry.AccountID == flt.AccountID) &&
			(flt.Owner == "" || flt.ownedBy(it.Entry.OwnerEmail, it.Entry.OwnerName) || flt.ownedBy(it.To, ""))
	})
}

// ownerOf is how a preview names the owner of c: email, else name.
func ownerOf(c *model.Client) string {
	if c.Owner == nil {
		return ""
	}
	return cmp.Or(c.Owner.Email, c.Owner.Name)
}

// perPass runs the per_pass stage over the preview's candidates and
// records how it changes the flags shown: deferred matches lose their
// messages to Deferred, folded nudges move to their digest. It returns the
// digest items.
func (pv *preview) perPass(l PassLimits, cands []*candidate) []DigestItem {
	p := l.pick(cands)
	send := make(map[string]bool, len(p.msgs))
	for _, m := range p.msgs {
		send[m.LedgerKey] = true
	}
	deferred := make(map[*candidate]bool, len(p.deferred))
	for _, c := range p.deferred {
		deferred[c] = true
	}
	for c, i := range pv.byCand {
		var adj flagAdjust
		for _, m := range c.Msgs {
			if !send[m.LedgerKey] {
				adj.drop = append(adj.drop, m.LedgerKey)
			}
		}
		for _, to := range p.folded[c] {
			adj.holds = append(adj.holds, l.foldHold(to).String())
		}
		if deferred[c] {
			adj.holds = append(adj.holds, l.deferredHold().String())
			adj.deferred = true
		}
		if len(adj.drop)+len(adj.holds) > 0 {
			pv.spool.adjust[i] = &adj
		}
	}
	return p.digests
}

// previewDigests renders the digests a pass would send when it completes,
// one entry per recipient.
func previewDigests(doc *passDoc, items []DigestItem, flt PreviewFilter) ([]Flag, error) {
	byKey := map[string][]DigestItem{}
	for _, it := range items {
		byKey[it.key()] = append(byKey[it.key()], it)
	}
	var out []Flag
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		group := digestOrder(byKey[key])
		if !flt.showsDigest(group) {
			continue
		}
		msgs, err := digestMessages(doc, group)
		if err != nil {
			return nil, err
		}
		out = append(out, Flag{
			Rule: DigestRule, Severity: group[0].Severity, AccountID: "digest:" + strings.ToLower(group[0].To),
			Account: fmt.Sprintf("digest of %d accounts to %s", len(group), group[0].To), Messages: msgs,
		})
	}
	return out, nil
}

// previewClient takes the client's matches through the pipeline.
func (e *Evaluator) previewClient(ctx context.Context, pp *passPlan, s *scored, pv *preview) error {
	c := &s.c
	matches, err := e.Rules.Evaluate(pp.now, c, s.f)
	if err != nil {
		e.Logger.Warn("rule error", "account", c.Account.ID, "err", err)
	}
	fires, waits, err := e.previewFires(ctx, pp, c.Account.ID, matches)
	if err != nil {
		return err
	}
	firing := rules.Firing(matches, func(r *rules.Rule) bool { return fires[r.Name] != notFiring }) // inhibition among firing rules only
	for _, m := range matches {
		shown := pv.flt.shows(c, m.Rule.Name)
		fl := Flag{
			Rule: m.Rule.Name, Severity: m.Rule.Severity, Labels: m.Rule.Labels, AccountID: c.Account.ID, Account: c.Account.Name,
			Sources: accountSources(c.Account.Sources), Owner: ownerOf(c), Expression: m.Rule.When, Features: s.f.Map(),
		}
		if fires[m.Rule.Name] == notFiring {
			fl.HeldBack = append(fl.HeldBack, waits[m.Rule.Name])
		} else {
			r := &matchRun{pp: pp, s: s, m: firingMatch(firing, m.Rule), baseline: fires[m.Rule.Name] == firesBaseline}
			if err := e.runMatch(ctx, r); err != nil {
				return err
			}
			for _, h := range r.holds {
				fl.HeldBack = append(fl.HeldBack, h.String())
			}
			if r.cand != nil {
				fl.Messages = r.cand.Msgs
				slim := slimCandidate(r.cand)
				pp.cands = append(pp.cands, slim)
				if shown {
					pv.byCand[slim] = pv.spool.n
				}
			}
		}
		if shown {
			if err := pv.spool.add(&fl); err != nil {
				return err
			}
		}
	}
	return nil
}

// previewFires tells, for each matching rule, whether it would fire now or
// is still waiting out its for (and until when), from its flag state.
func (e *Evaluator) previewFires(ctx context.Context, pp *passPlan, id string, matches []rules.Match) (map[string]fire, map[string]string, error) {
	fires, waits := map[string]fire{}, map[string]string{}
	for _, m := range matches {
		states, err := e.Passes.FlagStates(ctx, m.Rule.Name, []string{id})
		if err != nil {
			return nil, nil, err
		}
		next, f := stepFlag(states[0], m.Rule, pp)
		fires[m.Rule.Name] = f
		if f == notFiring {
			waits[m.Rule.Name] = hold{SkipPending, "until " + next.Since.Add(m.Rule.For).UTC().Format(time.DateTime)}.String()
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
