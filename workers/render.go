package workers

import (
	"context"

	"github.com/crmsync/crmsync/internal/parallel"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/rules"
)

// Under limits.per_pass a pass stages every match it would send about
// until its last shard picks what goes now; most of them (emails over the
// cap) are left to later passes. Matches are therefore staged with their
// messages' references (channel, recipient, ledger key, when), not their
// rendered copies, and only the messages picked are rendered again, from
// the accounts' records, when the pass completes: a pass that flags tens
// of thousands of accounts does not carry tens of thousands of rendered
// emails through Redis and memory.

// stripped returns msgs without what rendering fills in: the bodies and
// the feature values, which renderPicked restores.
func stripped(msgs []notify.Message) []notify.Message {
	out := make([]notify.Message, len(msgs))
	for i, m := range msgs {
		m.Subject, m.Text, m.HTML, m.Blocks = "", "", "", nil
		m.TemplateID, m.TemplateData, m.Features = "", nil, nil
		out[i] = m
	}
	return out
}

// renderPicked renders again the messages of msgs, which stageCandidates
// stripped, from their accounts' records scored with doc's thresholds:
// the same match planned again gives the same messages under the same
// ledger keys. A message whose account or recipient is gone since is
// dropped and returned in gone.
func (e *Evaluator) renderPicked(ctx context.Context, doc *passDoc, msgs []notify.Message) (out, gone []notify.Message, err error) {
	var ids []string
	seen := map[string]bool{}
	for _, m := range msgs {
		if !seen[m.AccountID] {
			seen[m.AccountID] = true
			ids = append(ids, m.AccountID)
		}
	}
	clients := map[string]*model.Client{}
	for start := 0; start < len(ids); start += summaryBatch {
		cs, err := e.portfolio(doc).Clients(ctx, ids[start:min(start+summaryBatch, len(ids))])
		if err != nil {
			return nil, nil, err
		}
		for i := range cs {
			clients[cs[i].Account.ID] = &cs[i]
		}
	}
	rendered, err := e.renderMatches(ctx, doc, clients, msgs)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range msgs {
		r, ok := rendered[m.LedgerKey]
		if !ok {
			gone = append(gone, m)
			continue
		}
		m.Subject, m.Text, m.HTML, m.Blocks = r.Subject, r.Text, r.HTML, r.Blocks
		m.TemplateID, m.TemplateData, m.Features = r.TemplateID, r.TemplateData, r.Features
		out = append(out, m)
	}
	return out, gone, nil
}

// pickedMatch is a match of renderPicked: a rule on a client.
type pickedMatch struct {
	c *model.Client
	r *rules.Rule
}

// renderMatches plans again, by ledger key, the messages of the matches
// behind msgs whose client is in clients, spread over the cores:
// rendering templates is most of what the per_pass stage spends.
func (e *Evaluator) renderMatches(ctx context.Context, doc *passDoc, clients map[string]*model.Client, msgs []notify.Message) (map[string]*notify.Message, error) {
	var matches []pickedMatch
	seen := map[[2]string]bool{}
	for _, m := range msgs {
		k := [2]string{m.AccountID, m.Rule}
		c, r := clients[m.AccountID], e.Rules.Rule(m.Rule)
		if seen[k] || c == nil || r == nil {
			continue
		}
		seen[k] = true
		matches = append(matches, pickedMatch{c, r})
	}
	plans := make([]planned, len(matches))
	err := parallel.Ranges(len(matches), 32, func(lo, hi int) error {
		pp := newPassPlan(doc.Pass, doc.Now)
		pp.renderOnly = true
		for i := lo; i < hi; i++ {
			c, r := matches[i].c, matches[i].r
			f := rules.Compute(doc.Now, c)
			doc.Segmenter.Apply(c.Account.ID, &f)
			var err error
			if plans[i], err = e.Planner.Plan(ctx, pp, c, f, rules.Match{Rule: r, Actions: r.Actions}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rendered := map[string]*notify.Message{}
	for i := range plans {
		for j := range plans[i].msgs {
			rendered[plans[i].msgs[j].LedgerKey] = &plans[i].msgs[j]
		}
	}
	return rendered, nil
}
