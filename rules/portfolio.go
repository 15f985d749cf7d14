package rules

import (
	"time"

	"github.com/crmsync/crmsync/model"
)

// ScorePortfolio computes the features of every client at now, including
// the portfolio-wide ones (abc, pareto_top, pmg, rfm), taking clients as
// the whole portfolio. The result is in the order of clients. It suits a
// portfolio that fits in memory: rule tests, previews of a few accounts.
func ScorePortfolio(now time.Time, clients []model.Client, seg Segmentation) []Features {
	out := make([]Features, len(clients))
	samples := make([]Sample, len(clients))
	for i := range clients {
		out[i] = Compute(now, &clients[i])
		samples[i] = out[i].Sample(clients[i].Account.ID)
	}
	s := NewSegmenter(seg, samples)
	for i := range out {
		s.Apply(clients[i].Account.ID, &out[i])
	}
	return out
}
