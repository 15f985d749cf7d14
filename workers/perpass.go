package workers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/crmsync/crmsync/internal/readahead"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// PassLimits is limits.per_pass: what one pass sends at most. 0 means no
// cap.
type PassLimits struct {
	Emails          int // customer emails, all rules
	SlackPerRep     int // separate nudges to one rep
	SlackPerChannel int // separate posts to one channel
}

// active reports whether any cap is set: passes then stage their matches
// and pick what goes when the last shard completes.
func (l PassLimits) active() bool { return l.Emails > 0 || l.SlackPerRep > 0 || l.SlackPerChannel > 0 }

// picked is what the per_pass stage decided over a pass's candidates.
type picked struct {
	msgs     []notify.Message // to batch now
	digests  []DigestItem     // the rules' own digest items and the folded nudges
	deferred []*candidate     // left to a later pass, holding no cooldown
	// folded holds, per candidate, the recipients whose nudge went into
	// their digest.
	folded map[*candidate][]string
}

// ranked is a candidate with its class rank, which sorting compares
// about twenty times per candidate (a hundred thousand at a million
// accounts, on the pass's critical path).
type ranked struct {
	class int
	c     *candidate
}

// rankOrder sorts candidates by value, highest first: ABC class, then
// revenue_12m, then account and rule for a stable order.
func rankOrder(a, b ranked) int {
	if c := cmp.Compare(a.class, b.class); c != 0 {
		return c
	}
	if c := cmp.Compare(b.c.Revenue, a.c.Revenue); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.c.Account, b.c.Account), cmp.Compare(a.c.Rule, b.c.Rule))
}

// sortByValue sorts cands by rankOrder.
func sortByValue(cands []*candidate) {
	rs := make([]ranked, len(cands))
	for i, c := range cands {
		rs[i] = ranked{classRank(c.ABC), c}
	}
	slices.SortFunc(rs, rankOrder)
	for i, r := range rs {
		cands[i] = r.c
	}
}

func classRank(abc string) int {
	switch abc {
	case "A":
		return 0
	case "B":
		return 1
	case "C":
		return 2
	}
	return 3
}

// pick applies the limits to cands, highest value first. A match whose
// emails no longer fit is deferred whole (its nudges with it), and so is
// every match after it that has emails, so that value order holds from
// one pass to the next. A nudge over its recipient's cap is folded into
// that recipient's digest.
func (l PassLimits) pick(cands []*candidate) picked {
	going, deferred := l.split(cands)
	out := l.assigner().assign(going)
	out.deferred = deferred
	return out
}

// split sorts cands by value and parts them into the matches that go and
// those deferred: what pick decides by the emails of each, which a
// candidate's head (store.StagedHead) tells.
func (l PassLimits) split(cands []*candidate) (going, deferred []*candidate) {
	sortByValue(cands)
	emailsLeft, full := l.Emails, false
	for _, c := range cands {
		if n := countChannel(c.channels(), notify.Email); n > 0 && l.Emails > 0 {
			if full || n > emailsLeft {
				full = true
				deferred = append(deferred, c)
				continue
			}
			emailsLeft -= n
		}
		going = append(going, c)
	}
	return going, deferred
}

// assigner batches the messages of the matches that go, in value order,
// folding a nudge over its recipient's cap into that recipient's digest.
type assigner struct {
	l      PassLimits
	nudges map[string]int // recipient → nudges batched so far
}

func (l PassLimits) assigner() *assigner { return &assigner{l: l, nudges: map[string]int{}} }

// assign takes the next matches that go, in value order.
func (a *assigner) assign(going []*candidate) picked {
	l, nudges := a.l, a.nudges
	out := picked{folded: map[*candidate][]string{}}
	for _, c := range going {
		out.digests = append(out.digests, c.Digests...)
		for _, m := range c.Msgs {
			if m.Channel != notify.Slack {
				out.msgs = append(out.msgs, m)
				continue
			}
			to := strings.ToLower(m.To)
			if max := l.slackCap(to); max > 0 && nudges[to] >= max {
				if f, ok := foldFor(c, m.To); ok {
					out.digests = append(out.digests, f)
					out.folded[c] = append(out.folded[c], m.To)
					continue
				}
			}
			nudges[to]++
			out.msgs = append(out.msgs, m)
		}
	}
	return out
}

// slackCap is the cap of Slack recipient to: a channel's or a rep's.
func (l PassLimits) slackCap(to string) int {
	if isSlackChannel(to) {
		return l.SlackPerChannel
	}
	return l.SlackPerRep
}

// isSlackChannel tells a channel ("#key-accounts", "C0123") from a rep,
// whom nudges address by email.
func isSlackChannel(to string) bool { return !strings.Contains(to, "@") }

// foldFor returns the digest item that replaces c's nudge to to.
func foldFor(c *candidate, to string) (DigestItem, bool) {
	for _, f := range c.Folds {
		if strings.EqualFold(f.To, to) {
			return f, true
		}
	}
	return DigestItem{}, false
}

func countChannel(chans []notify.Channel, ch notify.Channel) int {
	n := 0
	for _, c := range chans {
		if c == ch {
			n++
		}
	}
	return n
}

// deferredHold is how a preview explains a deferral.
func (l PassLimits) deferredHold() hold {
	return hold{reason: SkipDeferred, detail: "over limits.per_pass.emails (" + strconv.Itoa(l.Emails) + "): to a later pass"}
}

// foldHold is how a preview explains a nudge folded into a digest.
func (l PassLimits) foldHold(to string) hold {
	key, max := "slack_per_rep", l.SlackPerRep
	if isSlackChannel(to) {
		key, max = "slack_per_channel", l.SlackPerChannel
	}
	return hold{reason: SkipDigest, detail: fmt.Sprintf("to %s: over limits.per_pass.%s (%d)", to, key, max)}
}

// headCandidate returns head h as a candidate without its messages, only
// their channels and ledger keys: enough for split and countDeferred, and
// for replan.
func headCandidate(h *store.StagedHead) *candidate {
	return &candidate{Rule: h.Rule, Account: h.Account, ABC: h.ABC, Revenue: h.Revenue, Cooldown: h.Cooldown, CooldownDue: h.CooldownDue,
		heads: h.Channels, keys: h.Keys, inhibited: h.Inhibited}
}

// staleHead reports whether h was staged by an earlier crmsync, which
// kept its messages apart and not their ledger keys in it: such a match
// cannot be planned again as it was, and waits for a later pass.
func staleHead(h *store.StagedHead) bool { return len(h.Channels) > 0 && len(h.Keys) == 0 }

// stageCandidates keeps the heads of a shard's candidates in the pass's
// staging hash.
func (e *Evaluator) stageCandidates(ctx context.Context, pass string, cands []*candidate) error {
	if len(cands) == 0 {
		return nil
	}
	heads := make(map[string][]byte, len(cands))
	for _, c := range cands {
		h := store.StagedHead{Rule: c.Rule, Account: c.Account, ABC: c.ABC, Revenue: c.Revenue, Cooldown: c.Cooldown, CooldownDue: c.CooldownDue,
			Channels: c.channels(), Keys: make([]string, len(c.Msgs)), Inhibited: c.inhibited}
		for i, m := range c.Msgs {
			h.Keys[i] = m.LedgerKey
		}
		b, err := h.MarshalBinary()
		if err != nil {
			return fmt.Errorf("stage %s: %w", c.field(), err)
		}
		heads[c.field()] = b
	}
	return e.Passes.StageCandidates(ctx, pass, heads)
}

// perPass is the per_pass stage of a pass whose shards staged their
// candidates' heads: it ranks them, takes the cooldowns of the matches
// that go (takeGoing), then plans them again and batches their messages,
// rendering those it sends, a part at a time (eachPicked, sendPicked),
// while it opens their outcomes and gives back the cooldowns of what it
// defers that an earlier crmsync took. It returns the digest items of the
// nudges it folded, by digest key, for the pass's digests.
func (e *Evaluator) perPass(ctx context.Context, doc *passDoc, rep *Report) (map[string][]DigestItem, error) {
	var heads, stale []*candidate
	err := e.Passes.StagedHeads(ctx, doc.Pass, func(_ string, b []byte) error {
		var h store.StagedHead
		if err := h.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("decode staged match: %w", err)
		}
		if staleHead(&h) {
			stale = append(stale, headCandidate(&h))
		} else {
			heads = append(heads, headCandidate(&h))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	going, deferred := e.Limits.split(heads)
	// What the sends need not wait for runs meanwhile: giving back the
	// cooldowns of deferred matches that an earlier crmsync's shards took
	// (this one's take only those that go), and opening the outcomes of
	// the matches that go, as act does once it has enqueued their
	// messages.
	release := e.countDeferred(append(deferred, stale...), rep)
	var meanwhile sync.WaitGroup
	var releaseErr, openErr error
	meanwhile.Go(func() { releaseErr = e.Passes.ReleaseCooldowns(ctx, doc.Pass, release) })
	defer meanwhile.Wait()
	going, err = e.takeGoing(ctx, doc.Pass, going, rep)
	if err != nil {
		return nil, err
	}
	meanwhile.Go(func() {
		openErr = e.openOutcomes(ctx, &passPlan{pass: doc.Pass, now: doc.Now}, store.GroupMessaged, going)
	})
	out := newBatcher(ctx, e.Queue, e.NS, doc.Pass)
	asg := e.Limits.assigner()
	err = e.eachPicked(ctx, doc, going, func(full []*candidate) error {
		return e.sendPicked(ctx, doc, asg, full, out, rep)
	})
	if err != nil {
		out.wait()
		return nil, err
	}
	if err := out.flush(); err != nil {
		return nil, err
	}
	for ch, n := range out.counts {
		rep.Enqueued[ch] += n
	}
	meanwhile.Wait()
	return out.digests, errors.Join(releaseErr, openErr)
}

// takeGoing takes the cooldowns of the matches of going that are due
// one (candidate.CooldownDue), in batches, and returns going without
// those whose cooldown another pass took since their shard: they do not
// go, and rep counts them held by their cooldown.
func (e *Evaluator) takeGoing(ctx context.Context, pass string, going []*candidate, rep *Report) ([]*candidate, error) {
	var due []store.RuleAccount
	for _, c := range going {
		if c.CooldownDue {
			due = append(due, store.RuleAccount{Rule: c.Rule, Account: c.Account})
		}
	}
	got, err := e.takeCooldowns(ctx, pass, due)
	if err != nil {
		return nil, err
	}
	kept := going[:0]
	for _, c := range going {
		if c.CooldownDue {
			ok := got[0]
			got = got[1:]
			if !ok {
				e.countHold(rep.Skipped, c.Rule, SkipCooldown)
				continue
			}
		}
		kept = append(kept, c)
	}
	return kept, nil
}

// eachPicked calls fn with the matches of heads planned again by
// reference (replan), in order, pickedSize at a time, so that the
// per_pass stage holds no more whatever the portfolio; it plans the next
// part while fn works on the last.
func (e *Evaluator) eachPicked(ctx context.Context, doc *passDoc, heads []*candidate, fn func(full []*candidate) error) error {
	read := func(ctx context.Context) ([]*candidate, bool, error) {
		if len(heads) == 0 {
			return nil, false, nil
		}
		part := heads[:min(pickedSize, len(heads))]
		heads = heads[len(part):]
		full, err := e.replan(ctx, doc, part)
		return full, true, err
	}
	return readahead.Each(ctx, read, fn)
}

// pickedSize is how many matches the per_pass stage plans at a time:
// small enough that rendering the first part starts soon and planning the
// next overlaps it, on the pass's critical path (a thousand left the
// cores idle for a fifth of the stage).
const pickedSize = 250

// sendPicked renders the messages of full, the next whole candidates
// that go in value order, that are sent and not folded, and batches them.
func (e *Evaluator) sendPicked(ctx context.Context, doc *passDoc, asg *assigner, full []*candidate, out *batcher, rep *Report) error {
	p := asg.assign(full)
	for c, tos := range p.folded {
		for range tos {
			e.countHold(rep.Skipped, c.Rule, SkipDigest)
		}
	}
	msgs, err := e.renderPicked(ctx, doc, full, p.msgs)
	if err != nil {
		return err
	}
	out.addDigest(p.digests...)
	if err := out.add(msgs...); err != nil {
		return err
	}
	countMessages(rep.Messages, msgs)
	return nil
}

// countDeferred counts the messages of the deferred matches in rep and
// returns the matches whose cooldown to give back.
func (e *Evaluator) countDeferred(deferred []*candidate, rep *Report) (release [][2]string) {
	for _, c := range deferred {
		if c.Cooldown {
			release = append(release, [2]string{c.Rule, c.Account})
		}
		for _, ch := range c.channels() {
			rep.Deferred[ch]++
			e.countHold(rep.Skipped, c.Rule, SkipDeferred)
		}
	}
	return release
}

// countMessages adds msgs to counts, by rule and channel.
func countMessages(counts map[string]map[notify.Channel]int, msgs []notify.Message) {
	for _, m := range msgs {
		if counts[m.Rule] == nil {
			counts[m.Rule] = map[notify.Channel]int{}
		}
		counts[m.Rule][m.Channel]++
	}
}
