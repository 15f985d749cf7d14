package rules

import (
	"time"

	"github.com/crmsync/crmsync/model"
)

// ScorePortfolio computes the features of every client at now, including
// the portfolio-wide ones (abc), taking clients as the whole portfolio. The
// result is in the order of clients. It suits a portfolio that fits in
// memory: rule tests, previews of a few accounts.
func ScorePortfolio(now time.Time, clients []model.Client, seg Segmentation) []Features {
	out := make([]Features, len(clients))
	revs := make([]Revenue, len(clients))
	for i := range clients {
		out[i] = Compute(now, &clients[i])
		revs[i] = Revenue{AccountID: clients[i].Account.ID, Revenue12m: out[i].Revenue12m}
	}
	classes := ClassifyABC(revs, seg.ABC)
	for i := range out {
		out[i].ABC = classes[clients[i].Account.ID]
	}
	return out
}
