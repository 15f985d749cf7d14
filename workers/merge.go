package workers

import (
	"context"

	"github.com/crmsync/crmsync/merge"
	"github.com/crmsync/crmsync/model"
)

// planMerge groups the accounts that are one company across sources, once
// per pass, so that every shard reads the same portfolio.
func (e *Evaluator) planMerge(ctx context.Context, doc *passDoc) error {
	if e.Merge == nil {
		return nil
	}
	g, st, err := merge.Build(ctx, e.Records, *e.Merge)
	if err != nil {
		return err
	}
	doc.Merge, doc.MergeStats = g, &st
	if st.Conflicts > 0 || st.UnknownIDs > 0 {
		e.Logger.Warn("merge: some accounts were left apart", "pass", doc.Pass, "conflicts", st.Conflicts,
			"examples", st.Examples, "unknown_mapping_ids", st.UnknownIDs)
	}
	return nil
}

// portfolio returns what doc's pass reads: the merged portfolio when the
// pass merges sources, else the store's records.
func (e *Evaluator) portfolio(doc *passDoc) Accounts {
	if doc.Merge == nil && doc.MergeStats == nil {
		return e.Records
	}
	if doc.view == nil {
		doc.view = merge.NewView(e.Records, doc.Merge)
	}
	return doc.view
}

// accountSources lists the accounts a portfolio account was merged from,
// for previews: none when it comes from one source.
func accountSources(refs []model.Ref) []string {
	if len(refs) == 0 {
		return nil
	}
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.ID
	}
	return out
}

// Portfolio returns the portfolio as a pass reads it, merged across
// sources when the Evaluator merges them, for reports and dashboards:
// every account once, in id order.
func (e *Evaluator) Portfolio(ctx context.Context) (Accounts, error) {
	doc := &passDoc{}
	if err := e.planMerge(ctx, doc); err != nil {
		return nil, err
	}
	return e.portfolio(doc), nil
}
