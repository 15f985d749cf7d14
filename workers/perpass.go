package workers

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

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
	deferred []*candidate     // left to a later pass, cooldown given back
	// folded holds, per candidate, the recipients whose nudge went into
	// their digest.
	folded map[*candidate][]string
}

// rankOrder sorts candidates by value, highest first: ABC class, then
// revenue_12m, then account and rule for a stable order.
func rankOrder(a, b *candidate) int {
	return cmp.Or(
		cmp.Compare(classRank(a.ABC), classRank(b.ABC)),
		cmp.Compare(b.Revenue, a.Revenue),
		cmp.Compare(a.Account, b.Account),
		cmp.Compare(a.Rule, b.Rule),
	)
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
	slices.SortFunc(cands, rankOrder)
	out := picked{folded: map[*candidate][]string{}}
	emailsLeft, full := l.Emails, false
	nudges := map[string]int{}
	for _, c := range cands {
		if n := countChannel(c.Msgs, notify.Email); n > 0 && l.Emails > 0 {
			if full || n > emailsLeft {
				full = true
				out.deferred = append(out.deferred, c)
				continue
			}
			emailsLeft -= n
		}
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

func countChannel(msgs []notify.Message, ch notify.Channel) int {
	n := 0
	for _, m := range msgs {
		if m.Channel == ch {
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

// stageCandidates keeps a shard's candidates in the pass's staging hash.
func (e *Evaluator) stageCandidates(ctx context.Context, pass string, cands []*candidate) error {
	if len(cands) == 0 {
		return nil
	}
	items := make(map[string][]byte, len(cands))
	for _, c := range cands {
		ref := *c
		ref.Msgs = stripped(c.Msgs)
		b, err := json.Marshal(&ref)
		if err != nil {
			return fmt.Errorf("stage %s: %w", c.field(), err)
		}
		items[c.field()] = b
	}
	return e.Passes.StageCandidates(ctx, pass, items)
}

// perPass is the per_pass stage of a pass whose shards staged their
// candidates: it picks what goes now, gives back the cooldowns of what it
// defers, and batches the rest; folded nudges join the pass's digests.
func (e *Evaluator) perPass(ctx context.Context, doc *passDoc, rep *Report) error {
	var cands []*candidate
	err := e.Passes.StagedCandidates(ctx, doc.Pass, func(_ string, b []byte) error {
		var c candidate
		if err := json.Unmarshal(b, &c); err != nil {
			return fmt.Errorf("decode staged match: %w", err)
		}
		cands = append(cands, &c)
		return nil
	})
	if err != nil {
		return err
	}
	p := e.Limits.pick(cands)
	if err := e.releaseDeferred(ctx, doc.Pass, p.deferred, rep); err != nil {
		return err
	}
	deferred := make(map[*candidate]bool, len(p.deferred))
	for _, c := range p.deferred {
		deferred[c] = true
	}
	going := slices.DeleteFunc(slices.Clone(cands), func(c *candidate) bool { return deferred[c] })
	if err := e.openOutcomes(ctx, &passPlan{pass: doc.Pass, now: doc.Now}, store.GroupMessaged, going); err != nil {
		return err
	}
	for c, tos := range p.folded {
		for range tos {
			e.countHold(rep.Skipped, c.Rule, SkipDigest)
		}
	}
	msgs, gone, err := e.renderPicked(ctx, doc, p.msgs)
	if err != nil {
		return err
	}
	for _, m := range gone {
		e.Logger.Warn("message dropped: its account or recipient left the portfolio during the pass", "pass", doc.Pass, "rule", m.Rule, "account", m.AccountID, "channel", m.Channel)
	}
	p.msgs = msgs
	out := newBatcher(ctx, e.Queue, e.NS, doc.Pass)
	out.addDigest(p.digests...)
	if err := out.add(p.msgs...); err != nil {
		return err
	}
	if err := out.flush(); err != nil {
		return err
	}
	countMessages(rep.Messages, p.msgs)
	for ch, n := range out.counts {
		rep.Enqueued[ch] += n
	}
	return e.Passes.AddDigestItems(ctx, doc.Pass, out.digests)
}

// releaseDeferred gives back the cooldowns of the deferred matches and
// counts their messages.
func (e *Evaluator) releaseDeferred(ctx context.Context, pass string, deferred []*candidate, rep *Report) error {
	var release [][2]string
	for _, c := range deferred {
		if c.Cooldown {
			release = append(release, [2]string{c.Rule, c.Account})
		}
		for _, m := range c.Msgs {
			rep.Deferred[m.Channel]++
			e.countHold(rep.Skipped, c.Rule, SkipDeferred)
		}
	}
	return e.Passes.ReleaseCooldowns(ctx, pass, release)
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
