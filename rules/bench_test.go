package rules

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

// benchClients generates n clients with contacts, deals and ABC classes.
func benchClients(n int) ([]*model.Client, []Features) {
	rng := rand.New(rand.NewPCG(1, 2))
	clients := make([]*model.Client, n)
	revs := make([]Revenue, n)
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
		revs[i] = Revenue{AccountID: c.Account.ID, Revenue12m: features[i].Revenue12m}
	}
	classes := ClassifyABC(revs, DefaultSegmentation().ABC)
	for i, c := range clients {
		features[i].ABC = classes[c.Account.ID]
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
