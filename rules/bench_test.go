package rules

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

// benchClients generates n clients with contacts, deals and segmented
// features.
func benchClients(n int) ([]*model.Client, []Features) {
	rng := rand.New(rand.NewPCG(1, 2))
	clients := make([]*model.Client, n)
	samples := make([]Sample, n)
	for i := range clients {
		c := &model.Client{
			Account: model.Account{
				Ref: model.NewRef("b", fmt.Sprint(i)), Name: fmt.Sprintf("Account %d", i),
				Lifecycle: model.Lifecycles[rng.IntN(len(model.Lifecycles))],
				CreatedAt: ago(time.Duration(rng.IntN(2000)) * day),
			},
			Owner: &model.Owner{Name: "Rep", Email: "rep@example.com"},
		}
		for j := range 3 {
			c.Contacts = append(c.Contacts, model.Contact{
				Email: fmt.Sprintf("c%d@a%d.test", j, i), LastActivityAt: ago(time.Duration(rng.IntN(200)) * day),
			})
		}
		for range 5 {
			c.Deals = append(c.Deals, won(float64(rng.IntN(10000)), ago(time.Duration(rng.IntN(800))*day)))
		}
		clients[i] = c
	}
	features := make([]Features, n)
	for i, c := range clients {
		features[i] = Compute(testNow, c)
		samples[i] = features[i].Sample(c.Account.ID)
	}
	seg := NewSegmenter(DefaultSegmentation(), samples)
	for i, c := range clients {
		seg.Apply(c.Account.ID, &features[i])
	}
	return clients, features
}

func BenchmarkEvaluate(b *testing.B) {
	rs, err := LoadFiles("../examples/rules.yaml")
	if err != nil {
		b.Fatal(err)
	}
	clients, features := benchClients(10000)
	b.ReportAllocs()
	matched := 0
	for b.Loop() {
		for i, c := range clients {
			ms, err := rs.Evaluate(testNow, c, features[i])
			if err != nil {
				b.Fatal(err)
			}
			matched += len(ms)
		}
	}
	accounts := float64(b.N * len(clients))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/accounts, "ns/account")
	b.ReportMetric(float64(matched)/accounts, "matches/account")
}

// benchSamples returns n samples shaped like a real portfolio: a third
// never bought, revenue and purchases skewed, many ties.
func benchSamples(n int) []Sample {
	rng := rand.New(rand.NewPCG(3, 4))
	samples := make([]Sample, n)
	for i, id := range rng.Perm(n) {
		s := Sample{AccountID: fmt.Sprintf("bench:%07d", id)}
		if rng.IntN(3) > 0 {
			s.Purchases12m = rng.IntN(1 + rng.IntN(20))
			s.Revenue12m = float64(s.Purchases12m) * float64(rng.IntN(5000))
			d := rng.IntN(1000)
			s.DaysSincePurchase = &d
		}
		samples[i] = s
	}
	return samples
}

func BenchmarkSegmenter(b *testing.B) {
	const n = 1_000_000
	samples := benchSamples(n)
	seg := DefaultSegmentation()
	b.Run("New", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewSegmenter(seg, samples)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/account")
	})
	b.Run("Apply", func(b *testing.B) {
		s := NewSegmenter(seg, samples)
		features := make([]Features, n)
		for i := range features {
			features[i] = Features{
				Revenue12m: samples[i].Revenue12m, Purchases12m: samples[i].Purchases12m,
				DaysSincePurchase: samples[i].DaysSincePurchase,
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			for i := range features {
				s.Apply(samples[i].AccountID, &features[i])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/account")
	})
}

func BenchmarkCompute(b *testing.B) {
	clients, _ := benchClients(10000)
	b.ReportAllocs()
	days := 0
	for b.Loop() {
		for _, c := range clients {
			days += Compute(testNow, c).DaysInactive
		}
	}
	accounts := float64(b.N * len(clients))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/accounts, "ns/account")
	b.ReportMetric(float64(days)/accounts, "days_inactive/account")
}
