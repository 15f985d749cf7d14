package rules

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

// The scale benchmarks run whole evaluation passes over a generated
// portfolio of scaleAccounts accounts, as workers.Evaluator does minus
// Redis, once with the rules of testdata/scale_rules.yaml and once with
// the same rules written in Go:
//
//	go test -run '^$' -bench 'Pass1M' -benchtime 3x -benchmem ./rules/
//
// TestHandWrittenMatchesRules checks that both find the same matches.

// scaleAccounts is the number of accounts of a benchmarked pass.
const scaleAccounts = 1_000_000

// scaleRulesFile holds the ten rules of the scale benchmarks.
const scaleRulesFile = "testdata/scale_rules.yaml"

// scalePortfolio generates the benchmarks' portfolio once per process.
var scalePortfolio = sync.OnceValue(func() []model.Client {
	return scaleClients(scaleAccounts)
})

// scaleOwnerCount is the number of sales reps of a generated portfolio.
const scaleOwnerCount = 40

var (
	scaleFirstNames = []string{"Ada", "Bruno", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hugo", "Inès", "Jun"}
	scaleLastNames  = []string{"Martin", "Bernard", "Dubois", "Nguyen", "Smith", "Garcia", "Rossi", "Kowalski"}
	scaleTitles     = []string{"CEO", "CTO", "Buyer", "Office manager", "Head of IT", ""}
	scaleIndustries = []string{"saas", "retail", "manufacturing", "healthcare", "logistics"}
)

// scaleClients deterministically generates n clients as a CRM holds them:
// mostly customers, 1–3 contacts, 0–12 won deals (and a few lost ones)
// over 30 months with heavy-tailed amounts, activity dates, custom fields
// for most and an owner for most, some of whom have no email.
func scaleClients(n int) []model.Client {
	rng := rand.New(rand.NewPCG(20250615, 1))
	owners := make([]*model.Owner, scaleOwnerCount)
	for i := range owners {
		owners[i] = &model.Owner{Ref: model.NewRef("gen", fmt.Sprintf("o%02d", i)), Name: fmt.Sprintf("Rep %d", i)}
		if i >= 3 { // three reps have no email in the CRM
			owners[i].Email = fmt.Sprintf("rep%02d@crmsync.test", i)
		}
	}
	clients := make([]model.Client, n)
	for i := range clients {
		clients[i] = scaleClient(rng, i, owners)
	}
	return clients
}

// scaleClient generates client number i.
func scaleClient(rng *rand.Rand, i int, owners []*model.Owner) model.Client {
	id := fmt.Sprintf("%07d", i)
	a := model.Account{
		Ref: model.NewRef("gen", id), Name: "Account " + id, Domain: "a" + id + ".test",
		Lifecycle: scaleLifecycle(rng), TimeZone: "Europe/Paris",
		URL:       "https://crm.test/accounts/" + id,
		CreatedAt: scaleNow().Add(-time.Duration(30+rng.IntN(3000)) * day),
	}
	if rng.IntN(5) > 0 {
		a.LastActivityAt = scaleRecent(rng, 60)
	}
	if rng.IntN(10) < 6 {
		a.Extra = map[string]string{"industry": scaleIndustries[rng.IntN(len(scaleIndustries))], "tier": scaleTier(rng)}
	}
	c := model.Client{Account: a, Contacts: scaleContacts(rng, a), Deals: scaleDeals(rng, a.ID)}
	if rng.IntN(100) >= 8 {
		c.Owner = owners[rng.IntN(len(owners))]
		c.Account.OwnerID = c.Owner.ID
	}
	return c
}

// scaleNow is the instant of every generated pass.
func scaleNow() time.Time { return testNow }

// scaleLifecycle returns customer 80% of the time, else another lifecycle.
func scaleLifecycle(rng *rand.Rand) model.Lifecycle {
	switch p := rng.IntN(100); {
	case p < 80:
		return model.Customer
	case p < 88:
		return model.Former
	case p < 96:
		return model.Prospect
	}
	return model.Other
}

// scaleTier returns an account tier, enterprise one time in ten.
func scaleTier(rng *rand.Rand) string {
	switch p := rng.IntN(10); {
	case p == 0:
		return "enterprise"
	case p < 4:
		return "mid-market"
	}
	return "smb"
}

// scaleRecent returns an instant before now, exponentially distributed
// with a mean of meanDays days and at most 900 days back; one time in a
// hundred it is a day after now, as clocks out of step record.
func scaleRecent(rng *rand.Rand, meanDays float64) time.Time {
	if rng.IntN(100) == 0 {
		return scaleNow().Add(day)
	}
	d := min(rng.ExpFloat64()*meanDays, 900)
	return scaleNow().Add(-time.Duration(d * float64(day)))
}

// scaleContacts generates the 1–3 contacts of account a, the first one
// primary; some opted out of email or have none.
func scaleContacts(rng *rand.Rand, a model.Account) []model.Contact {
	cs := make([]model.Contact, 1+rng.IntN(3))
	for j := range cs {
		first, last := scaleFirstNames[rng.IntN(len(scaleFirstNames))], scaleLastNames[rng.IntN(len(scaleLastNames))]
		ct := model.Contact{
			Ref: model.NewRef("gen", fmt.Sprintf("%s-c%d", a.ExternalID, j)), AccountID: a.ID,
			FirstName: first, LastName: last, Title: scaleTitles[rng.IntN(len(scaleTitles))],
			Primary: j == 0, OptOut: rng.IntN(100) < 12,
		}
		if rng.IntN(100) >= 5 {
			ct.Email = fmt.Sprintf("%s.%s%d@%s", first, last, j, a.Domain)
		}
		if rng.IntN(10) >= 3 {
			ct.LastActivityAt = scaleRecent(rng, 90)
		}
		cs[j] = ct
	}
	return cs
}

// scaleDeals generates the deals of account id: 15% of accounts never
// bought, the others 1–12 won deals over the last 30 months (none in the
// last months for a third of them, who are slipping away), amounts
// Pareto-distributed across accounts; plus a few lost deals and, rarely,
// a won deal without a close date.
func scaleDeals(rng *rand.Rand, id string) []model.Deal {
	if rng.IntN(100) < 15 {
		return nil
	}
	won := 1 + rng.IntN(12)
	deals := make([]model.Deal, 0, won+2)
	scale := 800 / math.Pow(1-rng.Float64(), 1/1.2) // Pareto, alpha 1.2
	quiet := 0
	if rng.IntN(3) == 0 {
		quiet = 60 + rng.IntN(400)
	}
	for range won {
		amount := math.Round(scale*math.Exp(rng.NormFloat64()*0.5)*100) / 100
		closed := scaleNow().Add(-time.Duration(quiet+rng.IntN(913-quiet)) * day)
		deals = append(deals, model.Deal{AccountID: id, Amount: amount, Currency: "EUR", Won: true, ClosedAt: closed})
	}
	if rng.IntN(50) == 0 {
		deals[0].ClosedAt = time.Time{}
	}
	for range rng.IntN(3) {
		deals = append(deals, model.Deal{AccountID: id, Amount: 1000, Currency: "EUR", ClosedAt: scaleRecent(rng, 200)})
	}
	return deals
}

// scaleRuleSet loads the rules of the scale benchmarks.
func scaleRuleSet(tb testing.TB) *RuleSet {
	tb.Helper()
	data, err := os.ReadFile(scaleRulesFile)
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := Parse(scaleRulesFile, data)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// scaleCondition is a rule's condition written in Go.
type scaleCondition func(now time.Time, c *model.Client, f *Features) bool

// scaleConditions are the conditions of testdata/scale_rules.yaml written
// in Go, by rule name.
var scaleConditions = map[string]scaleCondition{
	"inactive-90-days": func(_ time.Time, c *model.Client, f *Features) bool {
		return c.Account.Lifecycle == model.Customer && f.DaysInactive >= 90
	},
	"high-value-churning": func(_ time.Time, _ *model.Client, f *Features) bool {
		d := f.DaysSincePurchase
		return f.ABC == ClassA && d != nil && *d >= 60 && (f.RevenueTrend < 0.5 || f.DaysInactive >= 60)
	},
	"lapsed-buyer": func(_ time.Time, c *model.Client, f *Features) bool {
		d := f.DaysSincePurchase
		return c.Account.Lifecycle == model.Customer && d != nil && *d > 180 && *d <= 365
	},
	"never-bought": func(now time.Time, c *model.Client, f *Features) bool {
		return c.Account.Lifecycle == model.Customer && f.DaysSincePurchase == nil &&
			daysBetween(c.Account.CreatedAt, now) >= 90
	},
	"cant-lose": func(_ time.Time, _ *model.Client, f *Features) bool {
		return (f.RFM.Segment == SegmentCantLose || f.RFM.Segment == SegmentAtRisk) && f.RFM.M >= 4
	},
	"rising-star": func(_ time.Time, _ *model.Client, f *Features) bool {
		return f.RFM.R >= 4 && f.RFM.F >= 3 && f.Purchases12m >= 4 && f.Revenue12m >= 3000 && f.ABC != ClassA
	},
	"pareto-opted-out": func(_ time.Time, c *model.Client, f *Features) bool {
		return f.ParetoTop && anyContact(c, func(ct *model.Contact) bool { return ct.OptOut })
	},
	"unreachable": func(_ time.Time, c *model.Client, _ *Features) bool {
		return c.Account.Lifecycle == model.Customer &&
			!anyContact(c, func(ct *model.Contact) bool { return !ct.OptOut && ct.Email != "" })
	},
	"unowned-revenue": func(_ time.Time, c *model.Client, f *Features) bool {
		return (c.Owner == nil || c.Owner.Email == "") && (f.PMG != SizeSmall || f.Revenue12m >= 5000)
	},
	"enterprise-underspend": func(_ time.Time, c *model.Client, f *Features) bool {
		return c.Account.Extra["tier"] == "enterprise" && c.Account.Lifecycle == model.Customer &&
			(f.PMG == SizeSmall || f.Purchases12m < 2)
	},
}

// anyContact reports whether some contact of c satisfies ok.
func anyContact(c *model.Client, ok func(*model.Contact) bool) bool {
	for i := range c.Contacts {
		if ok(&c.Contacts[i]) {
			return true
		}
	}
	return false
}

// handWritten evaluates the rules of a rule set through their Go twins in
// scaleConditions, with the same results as RuleSet.Evaluate.
type handWritten struct {
	rules []*Rule
	conds []scaleCondition
}

// newHandWritten returns the Go twin of rs, failing tb when a rule of rs
// has none.
func newHandWritten(tb testing.TB, rs *RuleSet) *handWritten {
	tb.Helper()
	h := &handWritten{rules: rs.Rules}
	for _, r := range rs.Rules {
		cond, ok := scaleConditions[r.Name]
		if !ok {
			tb.Fatalf("rule %s has no hand-written twin", r.Name)
		}
		h.conds = append(h.conds, cond)
	}
	return h
}

// Evaluate is RuleSet.Evaluate with the conditions written in Go.
func (h *handWritten) Evaluate(now time.Time, c *model.Client, f Features) ([]Match, error) {
	var matches []Match
	for i, cond := range h.conds {
		if cond(now, c, &f) {
			matches = append(matches, Match{Rule: h.rules[i], Actions: h.rules[i].Actions})
		}
	}
	inhibit(matches)
	return matches, nil
}

// evaluateFunc evaluates the rules for one account, as RuleSet.Evaluate.
type evaluateFunc func(now time.Time, c *model.Client, f Features) ([]Match, error)

// scaleResult is what one pass, or part of it, found and how long it took.
type scaleResult struct {
	matches, errors int
	// shards is the time spent evaluating the shards, after the plan.
	shards time.Duration
}

// add adds r's counts and durations to s.
func (s *scaleResult) add(r scaleResult) {
	s.matches += r.matches
	s.errors += r.errors
	s.shards += r.shards
}

// scalePlan is workers.Evaluator.plan without Redis: the features of
// every account, computed in one goroutine, reduced to a Segmenter.
func scalePlan(clients []model.Client, seg Segmentation) *Segmenter {
	var samples []Sample
	for i := range clients {
		f := Compute(scaleNow(), &clients[i])
		samples = append(samples, f.Sample(clients[i].Account.ID))
	}
	return NewSegmenter(seg, samples)
}

// scalePass runs one evaluation pass over clients as workers do, minus
// Redis: the plan, then GOMAXPROCS shards evaluated in parallel.
func scalePass(clients []model.Client, seg Segmentation, eval evaluateFunc) scaleResult {
	s := scalePlan(clients, seg)
	start := time.Now()
	shards := runtime.GOMAXPROCS(0)
	results := make([]scaleResult, shards)
	var wg sync.WaitGroup
	for i := range shards {
		shard := clients[i*len(clients)/shards : (i+1)*len(clients)/shards]
		wg.Go(func() { results[i] = scaleShard(shard, s, eval) })
	}
	wg.Wait()
	var total scaleResult
	for _, r := range results {
		total.add(r)
	}
	total.shards = time.Since(start)
	return total
}

// scaleShard evaluates the accounts of one shard as
// workers.Evaluator.eachInShard does.
func scaleShard(clients []model.Client, s *Segmenter, eval evaluateFunc) scaleResult {
	var r scaleResult
	for i := range clients {
		c := &clients[i]
		f := Compute(scaleNow(), c)
		s.Apply(c.Account.ID, &f)
		ms, err := eval(scaleNow(), c, f)
		if err != nil {
			r.errors++
		}
		r.matches += len(ms)
	}
	return r
}

func BenchmarkPass1M(b *testing.B) {
	rs := scaleRuleSet(b)
	benchmarkPass(b, rs.Segmentation, rs.Evaluate)
}

func BenchmarkPass1MHandWritten(b *testing.B) {
	rs := scaleRuleSet(b)
	benchmarkPass(b, rs.Segmentation, newHandWritten(b, rs).Evaluate)
}

// benchmarkPass times whole passes of eval over the generated portfolio
// and reports seconds per pass, and time, allocations and matches per
// account; eval-ns/account counts only the shards, without the plan.
// gc/pass is the number of collections per pass: each one marks the
// whole portfolio, so it weighs on s/pass.
func benchmarkPass(b *testing.B, seg Segmentation, eval evaluateFunc) {
	clients := scalePortfolio()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var total scaleResult
	b.ReportAllocs()
	for b.Loop() {
		r := scalePass(clients, seg, eval)
		if r.errors > 0 {
			b.Fatalf("%d accounts had rule errors", r.errors)
		}
		total.add(r)
	}
	runtime.ReadMemStats(&after)
	accounts := float64(b.N * len(clients))
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/pass")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/accounts, "ns/account")
	b.ReportMetric(float64(total.shards.Nanoseconds())/accounts, "eval-ns/account")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/accounts, "allocs/account")
	b.ReportMetric(float64(total.matches)/accounts, "matches/account")
	b.ReportMetric(float64(after.NumGC-before.NumGC)/float64(b.N), "gc/pass")
}

func TestHandWrittenMatchesRules(t *testing.T) {
	rs := scaleRuleSet(t)
	h := newHandWritten(t, rs)
	clients := scaleClients(20_000)
	s := scalePlan(clients, rs.Segmentation)
	perRule := map[string]int{}
	mismatches := 0
	for i := range clients {
		c := &clients[i]
		f := Compute(scaleNow(), c)
		s.Apply(c.Account.ID, &f)
		got, err := rs.Evaluate(scaleNow(), c, f)
		if err != nil {
			t.Fatalf("account %s: %v", c.Account.ID, err)
		}
		want, _ := h.Evaluate(scaleNow(), c, f)
		if g, w := summary(got), summary(want); g != w {
			t.Errorf("account %s: rules match %q, Go %q", c.Account.ID, g, w)
			if mismatches++; mismatches == 10 {
				t.FailNow()
			}
		}
		for _, m := range got {
			perRule[m.Rule.Name]++
		}
	}
	for _, r := range rs.Rules {
		if n := perRule[r.Name]; n == 0 || n == len(clients) {
			t.Errorf("rule %s matches %d of %d accounts: the comparison proves nothing for it", r.Name, n, len(clients))
		}
	}
	t.Logf("matches per rule: %v", perRule)
}
