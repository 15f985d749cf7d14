package workers

import (
	"context"

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
	rendered := map[string]*notify.Message{}
	pp := newPassPlan(doc.Pass, doc.Now)
	pp.renderOnly = true
	for _, m := range msgs {
		if _, ok := rendered[m.LedgerKey]; ok {
			continue
		}
		c, r := clients[m.AccountID], e.Rules.Rule(m.Rule)
		if c == nil || r == nil {
			continue
		}
		f := rules.Compute(doc.Now, c)
		doc.Segmenter.Apply(c.Account.ID, &f)
		pl, err := e.Planner.Plan(ctx, pp, c, f, rules.Match{Rule: r, Actions: r.Actions})
		if err != nil {
			return nil, nil, err
		}
		for i := range pl.msgs {
			rendered[pl.msgs[i].LedgerKey] = &pl.msgs[i]
		}
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
