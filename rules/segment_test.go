package rules

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// sample returns a Sample; days < 0 stands for never bought.
func sample(id string, rev float64, purchases, days int) Sample {
	s := Sample{AccountID: id, Revenue12m: rev, Purchases12m: purchases}
	if days >= 0 {
		s.DaysSincePurchase = intp(days)
	}
	return s
}

// applied returns the features of s once segmented by seg.
func applied(seg *Segmenter, s Sample) Features {
	f := Features{Revenue12m: s.Revenue12m, Purchases12m: s.Purchases12m, DaysSincePurchase: s.DaysSincePurchase}
	seg.Apply(s.AccountID, &f)
	return f
}

const never = -1

func TestRFMScores(t *testing.T) {
	tests := []struct {
		name    string
		samples []Sample
		want    [][3]int // r, f, m of each sample
	}{
		{
			name:    "with a single account",
			samples: []Sample{sample("a", 500, 3, 10)},
			want:    [][3]int{{1, 1, 1}}, // nobody is strictly worse
		},
		{
			name: "with all values equal",
			samples: []Sample{
				sample("a", 5, 2, 7), sample("b", 5, 2, 7), sample("c", 5, 2, 7),
			},
			want: [][3]int{{1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
		},
		{
			name: "with five distinct values",
			samples: []Sample{
				sample("a", 0, 0, never), sample("b", 10, 1, 40), sample("c", 20, 2, 30),
				sample("d", 30, 3, 20), sample("e", 40, 4, 10),
			},
			// worse = 0..4 of 5: 1 + floor(5w/5) = w+1
			want: [][3]int{{1, 1, 1}, {2, 2, 2}, {3, 3, 3}, {4, 4, 4}, {5, 5, 5}},
		},
		{
			name: "with ties",
			samples: []Sample{
				sample("a", 10, 1, 9), sample("b", 10, 1, 9), sample("c", 20, 1, 5), sample("d", 30, 2, 5),
			},
			// m: worse 0, 0, 2, 3 of 4: 1+0, 1+0, 1+floor(10/4)=3, 1+floor(15/4)=4
			// f: worse 0, 0, 0, 3: 1, 1, 1, 4
			// r: worse 0, 0, 2, 2: 1, 1, 3, 3
			want: [][3]int{{1, 1, 1}, {1, 1, 1}, {3, 1, 3}, {3, 4, 4}},
		},
		{
			name: "with zero revenue",
			samples: []Sample{
				sample("a", 0, 0, never), sample("b", 0, 0, 400), sample("c", 100, 1, 3),
			},
			// m: worse 0, 0, 2 of 3: 1, 1, 1+floor(10/3)=4; r: 0, 1, 2: 1, 1+1=2, 1+3=4
			want: [][3]int{{1, 1, 1}, {2, 1, 1}, {4, 4, 4}},
		},
		{
			name: "with accounts that never bought",
			samples: []Sample{
				sample("a", 0, 0, never), sample("b", 0, 0, never), sample("c", 1, 1, 3),
				sample("d", 1, 1, 3), sample("e", 2, 1, 0),
			},
			// r: worse 0, 0, 2, 2, 4 of 5; f: 0, 0, 2, 2, 2; m: 0, 0, 2, 2, 4
			want: [][3]int{{1, 1, 1}, {1, 1, 1}, {3, 3, 3}, {3, 3, 3}, {5, 3, 5}},
		},
		{
			name: "with negative revenue",
			samples: []Sample{
				sample("a", -10, 0, never), sample("b", 0, 0, never),
			},
			// m: worse 0, 1 of 2: 1, 1+floor(5/2)=3
			want: [][3]int{{1, 1, 1}, {1, 1, 3}},
		},
		{
			name: "with seven distinct values",
			samples: []Sample{
				sample("a", 1, 1, 70), sample("b", 2, 2, 60), sample("c", 3, 3, 50), sample("d", 4, 4, 40),
				sample("e", 5, 5, 30), sample("f", 6, 6, 20), sample("g", 7, 7, 10),
			},
			// worse 0..6 of 7: 1 + floor(0, 5/7, 10/7, 15/7, 20/7, 25/7, 30/7) = 1, 1, 2, 3, 3, 4, 5
			want: [][3]int{{1, 1, 1}, {1, 1, 1}, {2, 2, 2}, {3, 3, 3}, {3, 3, 3}, {4, 4, 4}, {5, 5, 5}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg := NewSegmenter(DefaultSegmentation(), tt.samples)
			for i, s := range tt.samples {
				f := applied(seg, s)
				if got := [3]int{f.RFM.R, f.RFM.F, f.RFM.M}; got != tt.want[i] {
					t.Errorf("%s: r, f, m = %v, want %v", s.AccountID, got, tt.want[i])
				}
				if want := RFMSegment(f.RFM.R, f.RFM.F); f.RFM.Segment != want {
					t.Errorf("%s: segment = %q, want %q", s.AccountID, f.RFM.Segment, want)
				}
			}
		})
	}
}

func TestRFMOutsideThePortfolio(t *testing.T) {
	seg := NewSegmenter(DefaultSegmentation(), []Sample{
		sample("a", 0, 0, never), sample("b", 10, 1, 40), sample("c", 20, 2, 30),
		sample("d", 30, 3, 20), sample("e", 40, 4, 10),
	})
	tests := []struct {
		name string
		s    Sample
		want [3]int
	}{
		{name: "better than every account", s: sample("x", 1000, 50, 0), want: [3]int{5, 5, 5}}, // capped: 1+5 → 5
		{name: "between two accounts", s: sample("x", 15, 1, 35), want: [3]int{3, 2, 3}},        // beats a, b; a; a, b
		{name: "bought long ago", s: sample("x", 0, 0, 5000), want: [3]int{2, 1, 1}},            // beats a, which never bought
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := applied(seg, tt.s)
			if got := [3]int{f.RFM.R, f.RFM.F, f.RFM.M}; got != tt.want {
				t.Errorf("r, f, m = %v, want %v", got, tt.want)
			}
		})
	}
	empty := applied(NewSegmenter(DefaultSegmentation(), nil), sample("x", 10, 1, 1))
	if want := (RFM{1, 1, 1, SegmentLost}); empty.RFM != want {
		t.Errorf("over no account: RFM = %+v, want %+v", empty.RFM, want)
	}
}

// refScore is the documented quintile score of an account with worse
// accounts strictly worse out of n.
func refScore(worse, n int) int {
	return min(1+5*worse/n, 5)
}

// refRFM computes the RFM scores of every sample by brute force.
func refRFM(samples []Sample) [][3]int {
	out := make([][3]int, len(samples))
	for i, s := range samples {
		var wr, wf, wm int
		for _, o := range samples {
			if s.DaysSincePurchase != nil && (o.DaysSincePurchase == nil || *o.DaysSincePurchase > *s.DaysSincePurchase) {
				wr++
			}
			if o.Purchases12m < s.Purchases12m {
				wf++
			}
			if o.Revenue12m < s.Revenue12m {
				wm++
			}
		}
		out[i] = [3]int{refScore(wr, len(samples)), refScore(wf, len(samples)), refScore(wm, len(samples))}
	}
	return out
}

// randomPortfolio returns n samples with unique ids in random order and
// values drawn from small sets, so that ties are frequent.
func randomPortfolio(rng *rand.Rand, n int) []Sample {
	revs := []float64{0, 0, -3, 1, 2, 5, 5, 10, 50, 100}
	samples := make([]Sample, n)
	for i, p := range rng.Perm(n) {
		rev := revs[rng.IntN(len(revs))]
		if rng.IntN(4) == 0 {
			rev = math.Round(rng.Float64()*10000) / 100
		}
		days := never
		if rng.IntN(3) > 0 {
			days = rng.IntN(6) * 30
		}
		samples[i] = sample(fmt.Sprintf("acc-%03d", p), rev, rng.IntN(4), days)
	}
	return samples
}

// randomCutoffs returns ABC cut-offs, often ones that S_prev can hit exactly.
func randomCutoffs(rng *rand.Rand) ABCCutoffs {
	cuts := []ABCCutoffs{{0.80, 0.95}, {0.5, 0.9}, {0.5, 0.75}, {0.25, 1}, {0.1, 0.2}}
	if rng.IntN(3) == 0 {
		a := rng.Float64()
		return ABCCutoffs{A: a, B: a + (1-a)*rng.Float64()}
	}
	return cuts[rng.IntN(len(cuts))]
}

func TestSegmenterAgreesWithReferences(t *testing.T) {
	for seed := range uint64(500) {
		rng := rand.New(rand.NewPCG(seed, 7))
		samples := randomPortfolio(rng, rng.IntN(60))
		segm := DefaultSegmentation()
		segm.ABC = randomCutoffs(rng)
		revs := make([]Revenue, len(samples))
		for i, s := range samples {
			revs[i] = Revenue{AccountID: s.AccountID, Revenue12m: s.Revenue12m}
		}
		classes := ClassifyABC(revs, segm.ABC)
		rfm := refRFM(samples)
		seg := NewSegmenter(segm, samples)
		for i, s := range samples {
			f := applied(seg, s)
			if f.ABC != classes[s.AccountID] || f.ParetoTop != (f.ABC == ClassA) {
				t.Fatalf("seed %d, %s (revenue %g): abc %s, pareto_top %v; ClassifyABC says %s",
					seed, s.AccountID, s.Revenue12m, f.ABC, f.ParetoTop, classes[s.AccountID])
			}
			if got := [3]int{f.RFM.R, f.RFM.F, f.RFM.M}; got != rfm[i] {
				t.Fatalf("seed %d, %s: r, f, m = %v, want %v", seed, s.AccountID, got, rfm[i])
			}
		}
	}
}

func TestClassifyABCIgnoresInputOrder(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 11))
		samples := randomPortfolio(rng, 1+rng.IntN(40))
		cut := randomCutoffs(rng)
		revs := make([]Revenue, len(samples))
		for i, s := range samples {
			revs[i] = Revenue{AccountID: s.AccountID, Revenue12m: s.Revenue12m}
		}
		want := ClassifyABC(revs, cut)
		rng.Shuffle(len(revs), func(i, j int) { revs[i], revs[j] = revs[j], revs[i] })
		if got := ClassifyABC(revs, cut); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: shuffled input gives %v, want %v", seed, got, want)
		}
	}
}

func TestSegmenterABCBounds(t *testing.T) {
	cut := ABCCutoffs{A: 0.5, B: 0.9}
	tests := []struct {
		name         string
		samples      []Sample
		lastA, lastB *RankBound
	}{
		{name: "with no account"},
		{name: "without revenue", samples: []Sample{sample("a", 0, 0, never), sample("b", -1, 0, never)}},
		{
			name:    "with a tie on the A bound broken by id",
			samples: []Sample{sample("b", 50, 1, 1), sample("a", 50, 1, 1)},
			// a: S_prev 0 → A; b: S_prev 0.5 → B
			lastA: &RankBound{50, "a"}, lastB: &RankBound{50, "b"},
		},
		{
			name:    "with an empty class B",
			samples: []Sample{sample("a", 45, 1, 1), sample("b", 5, 1, 1), sample("c", 50, 1, 1)},
			// c: 0 → A; a: 0.5 → B; b: 0.95 → C
			lastA: &RankBound{50, "c"}, lastB: &RankBound{45, "a"},
		},
		{
			name:    "with classes A and B only",
			samples: []Sample{sample("a", 1, 1, 1)},
			lastA:   &RankBound{1, "a"}, lastB: &RankBound{1, "a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg := NewSegmenter(Segmentation{ABC: cut, PMG: PMG{Medium: 10, Large: 100}}, tt.samples)
			if !reflect.DeepEqual(seg.LastA, tt.lastA) || !reflect.DeepEqual(seg.LastB, tt.lastB) {
				t.Errorf("bounds = %+v, %+v; want %+v, %+v", seg.LastA, seg.LastB, tt.lastA, tt.lastB)
			}
		})
	}
}

func TestPMG(t *testing.T) {
	seg := NewSegmenter(Segmentation{ABC: ABCCutoffs{0.8, 0.95}, PMG: PMG{Medium: 10000, Large: 100000}}, nil)
	tests := []struct {
		revenue float64
		want    string
	}{
		{-5, SizeSmall}, {0, SizeSmall}, {9999.99, SizeSmall}, {10000, SizeMedium},
		{99999.99, SizeMedium}, {100000, SizeLarge}, {1e9, SizeLarge},
	}
	for _, tt := range tests {
		if got := applied(seg, sample("x", tt.revenue, 0, never)).PMG; got != tt.want {
			t.Errorf("revenue %g: pmg = %q, want %q", tt.revenue, got, tt.want)
		}
	}
}

func TestRFMSegmentGrid(t *testing.T) {
	// The grid of the package documentation, as ranges of r and f.
	grid := []struct {
		segment            string
		rLo, rHi, fLo, fHi int
	}{
		{SegmentChampions, 5, 5, 4, 5},
		{SegmentLoyal, 3, 4, 4, 5},
		{SegmentPotentialLoyalist, 4, 5, 2, 3},
		{SegmentNew, 5, 5, 1, 1},
		{SegmentPromising, 4, 4, 1, 1},
		{SegmentNeedAttention, 3, 3, 3, 3},
		{SegmentAboutToSleep, 3, 3, 1, 2},
		{SegmentAtRisk, 1, 2, 3, 4},
		{SegmentCantLose, 1, 2, 5, 5},
		{SegmentHibernating, 1, 2, 1, 2},
		{SegmentLost, 1, 1, 1, 1},
	}
	used := map[string]bool{}
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			var in []string
			for _, g := range grid {
				if r >= g.rLo && r <= g.rHi && f >= g.fLo && f <= g.fHi {
					in = append(in, g.segment)
				}
			}
			// lost is carved out of hibernating's corner.
			if len(in) == 2 && in[0] == SegmentHibernating && in[1] == SegmentLost {
				in = in[1:]
			}
			got := RFMSegment(r, f)
			if len(in) != 1 || got != in[0] {
				t.Errorf("RFMSegment(%d, %d) = %q; the grid says %v", r, f, got, in)
			}
			used[got] = true
		}
	}
	if len(used) != len(grid) {
		t.Errorf("%d segments are used, want all %d: %v", len(used), len(grid), used)
	}
	for _, tt := range []struct{ r, f, wantR, wantF int }{{0, 0, 1, 1}, {6, 9, 5, 5}, {-1, 5, 1, 5}} {
		if got, want := RFMSegment(tt.r, tt.f), RFMSegment(tt.wantR, tt.wantF); got != want {
			t.Errorf("RFMSegment(%d, %d) = %q, want %q (clamped)", tt.r, tt.f, got, want)
		}
	}
}

func TestSegmenterJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	portfolios := map[string][]Sample{
		"empty":           nil,
		"without revenue": {sample("a", 0, 0, never)},
		"random":          randomPortfolio(rng, 200),
	}
	for name, samples := range portfolios {
		t.Run(name, func(t *testing.T) {
			seg := NewSegmenter(DefaultSegmentation(), samples)
			data, err := json.Marshal(seg)
			if err != nil {
				t.Fatal(err)
			}
			var back Segmenter
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&back, seg) {
				t.Fatalf("round trip: %s gives %+v, want %+v", data, back, *seg)
			}
			for _, s := range samples {
				if got, want := applied(&back, s), applied(seg, s); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: decoded Apply = %+v, want %+v", s.AccountID, got, want)
				}
			}
		})
	}
}

func TestApplyDoesNotAllocate(t *testing.T) {
	samples := randomPortfolio(rand.New(rand.NewPCG(5, 6)), 100)
	seg := NewSegmenter(DefaultSegmentation(), samples)
	f := Features{}
	allocs := testing.AllocsPerRun(100, func() {
		for _, s := range samples {
			f.Revenue12m, f.Purchases12m, f.DaysSincePurchase = s.Revenue12m, s.Purchases12m, s.DaysSincePurchase
			seg.Apply(s.AccountID, &f)
		}
	})
	if allocs != 0 {
		t.Errorf("Apply allocates %v times per portfolio", allocs)
	}
}

func TestSegmenterOddRevenues(t *testing.T) {
	samples := []Sample{
		sample("inf", math.Inf(1), 1, 1), sample("inf2", math.Inf(1), 1, 1),
		sample("nan", math.NaN(), 1, 1), sample("neg", math.Inf(-1), 0, never),
	}
	seg := NewSegmenter(DefaultSegmentation(), samples)
	want := map[string]string{"inf": "A", "inf2": "C", "nan": "C", "neg": "C"} // inf2: S_prev = Inf/Inf
	revs := make([]Revenue, len(samples))
	for i, s := range samples {
		revs[i] = Revenue{AccountID: s.AccountID, Revenue12m: s.Revenue12m}
	}
	if got := ClassifyABC(revs, DefaultSegmentation().ABC); !reflect.DeepEqual(got, want) {
		t.Errorf("ClassifyABC() = %v, want %v", got, want)
	}
	for _, s := range samples {
		if got := applied(seg, s).ABC; got != want[s.AccountID] {
			t.Errorf("%s: abc = %s, want %s", s.AccountID, got, want[s.AccountID])
		}
	}
}
