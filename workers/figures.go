package workers

import (
	"context"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/store"
)

// ClientStream reads every portfolio account once, in id order (the
// insights.Source of a scan of the portfolio's figures).
type ClientStream interface {
	EachClient(ctx context.Context, batch int, fn func(model.Client) error) error
}

// FigureReads are the reads of the portfolio that its figures take
// (insights.Scan), all in id order.
type FigureReads struct {
	// Clients is the portfolio as Portfolio reads it: whole accounts.
	Clients Accounts
	// Features gives every account with what rules.Compute reads: the
	// summaries compact passes read (a third of an account's bytes) when
	// no sources are merged, else Clients.
	Features ClientStream
	// Won gives every account with its won deals only, what the ABC and
	// RFM thresholds read (about 90 bytes an account); nil when sources
	// are merged.
	Won ClientStream
}

// FigureReads returns the reads of the portfolio for its figures, merged
// across sources when the Evaluator merges them.
func (e *Evaluator) FigureReads(ctx context.Context) (FigureReads, error) {
	doc := &passDoc{}
	if err := e.planMerge(ctx, doc); err != nil {
		return FigureReads{}, err
	}
	fr := FigureReads{Clients: e.portfolio(doc)}
	if doc.Merge != nil || doc.MergeStats != nil {
		fr.Features = fr.Clients
		return fr, nil
	}
	fr.Features, fr.Won = summaryStream{recs: e.Records, owners: &passOwners{}}, wonStream{e.Records}
	return fr, nil
}

// summaryStream reads the accounts' summaries (store.SummaryClients)
// with their owners.
type summaryStream struct {
	recs   portfolio
	owners *passOwners // its own: a pass's stay the pass's
}

func (s summaryStream) EachClient(ctx context.Context, batch int, fn func(model.Client) error) error {
	return s.recs.SummaryRange(ctx, "", "", max(batch, summaryBatch), func(_ []string, sums []store.Summary) error {
		cs, err := store.SummaryClients(sums)
		if err != nil {
			return err
		}
		if err := s.owners.attach(ctx, s.recs, "figures", cs); err != nil {
			return err
		}
		for _, c := range cs {
			if err := fn(c); err != nil {
				return err
			}
		}
		return nil
	})
}

// wonStream reads the accounts' won deals (store.WonRange): clients with
// an id and won deals, nothing else.
type wonStream struct{ recs portfolio }

func (s wonStream) EachClient(ctx context.Context, _ int, fn func(model.Client) error) error {
	return s.recs.WonRange(ctx, "", "", wonBatch, func(ids []string, won [][]store.WonDeal) error {
		for i, id := range ids {
			c := model.Client{Account: model.Account{Ref: model.Ref{ID: id}}, Deals: store.AppendDeals(nil, won[i])}
			if err := fn(c); err != nil {
				return err
			}
		}
		return nil
	})
}
