package rules

// RFM segments, named after the usual R×F grid (see the package
// documentation).
const (
	SegmentChampions         = "champions"
	SegmentLoyal             = "loyal"
	SegmentPotentialLoyalist = "potential_loyalist"
	SegmentNew               = "new"
	SegmentPromising         = "promising"
	SegmentNeedAttention     = "need_attention"
	SegmentAboutToSleep      = "about_to_sleep"
	SegmentAtRisk            = "at_risk"
	SegmentCantLose          = "cant_lose"
	SegmentHibernating       = "hibernating"
	SegmentLost              = "lost"
)

// RFM holds an account's recency, frequency and monetary scores, from 1
// to 5 (5 best), and the segment its r and f scores fall in. All are zero
// until a Segmenter has been applied.
type RFM struct {
	R, F, M int
	Segment string
}

// rfmGrid is the segment of every (r, f) pair, indexed [r-1][f-1].
var rfmGrid = [5][5]string{
	{SegmentLost, SegmentHibernating, SegmentAtRisk, SegmentAtRisk, SegmentCantLose},                     // r=1
	{SegmentHibernating, SegmentHibernating, SegmentAtRisk, SegmentAtRisk, SegmentCantLose},              // r=2
	{SegmentAboutToSleep, SegmentAboutToSleep, SegmentNeedAttention, SegmentLoyal, SegmentLoyal},         // r=3
	{SegmentPromising, SegmentPotentialLoyalist, SegmentPotentialLoyalist, SegmentLoyal, SegmentLoyal},   // r=4
	{SegmentNew, SegmentPotentialLoyalist, SegmentPotentialLoyalist, SegmentChampions, SegmentChampions}, // r=5
}

// RFMSegment returns the segment of recency score r and frequency score
// f, from the R×F grid of the package documentation. The monetary score
// does not take part. Scores outside 1–5 are clamped to that range.
func RFMSegment(r, f int) string {
	return rfmGrid[min(max(r, 1), 5)-1][min(max(f, 1), 5)-1]
}
