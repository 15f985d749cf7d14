package merge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/model"
)

// BenchmarkBuild groups 100,000 accounts of two sources, a third of them
// in both (by domain and contact email), in memory: the cost merging adds
// to planning a pass, beyond reading the portfolio.
func BenchmarkBuild(b *testing.B) {
	var p fixed
	for i := range 50_000 {
		d := fmt.Sprintf("c%d.example", i)
		p = append(p, acct("crm", fmt.Sprint(i), d, "a@"+d))
		other := fmt.Sprintf("o%d.example", i)
		if i%3 == 0 {
			other = d
		}
		p = append(p, acct("books", fmt.Sprint(i), other, "b@"+other))
	}
	slices.SortFunc(p, func(a, b model.Client) int { return strings.Compare(a.Account.ID, b.Account.ID) })
	r := Rules{By: []string{ByDomain, ByContactEmail}, Precedence: []string{"crm", "books"}}
	b.ReportAllocs()
	for b.Loop() {
		g, _, err := Build(context.Background(), p, r)
		if err != nil || len(g) != 16_667 {
			b.Fatal(len(g), err)
		}
	}
	b.ReportMetric(float64(len(p))*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
}

// BenchmarkCombine merges a company of three sources with 10 contacts and
// 20 deals each.
func BenchmarkCombine(b *testing.B) {
	var cs []model.Client
	for _, src := range []string{"a", "b", "c"} {
		c := acct(src, "1", "x.example")
		for i := range 10 {
			c.Contacts = append(c.Contacts, model.Contact{Ref: model.NewRef(src, fmt.Sprint("c", i)), Email: fmt.Sprintf("p%d@x.example", i)})
		}
		for i := range 20 {
			c.Deals = append(c.Deals, model.Deal{Ref: model.NewRef(src, fmt.Sprint("d", i)), Amount: 1, Won: true})
		}
		cs = append(cs, c)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := Combine(cs); len(got.Contacts) != 10 || len(got.Deals) != 60 {
			b.Fatal(len(got.Contacts), len(got.Deals))
		}
	}
}
