package gensample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Shape of the sample.
const (
	// SampleAccounts is the number of accounts of the bundled sample.
	SampleAccounts = 3000
	// SampleSeed is the seed the bundled sample is drawn with.
	SampleSeed = 20261120

	sampleOwners     = 25
	accountsPerOwner = SampleAccounts / sampleOwners
	sizeSigma        = 1.7 // lognormal spread: ~20% of accounts make ~80% of the revenue
	maxSize          = 2500.0
	revenueUnit      = 3000.0 // EUR per year for an account of size 1, the median
	day              = 24 * time.Hour
)

// asOf is the date the sample is generated relative to. It must equal
// examples.SampleAsOf (a test checks it).
var asOf = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// account is what the generator decides about one account before writing
// its rows.
type account struct {
	num       int
	id        string
	name      string
	domain    string
	lifecycle string
	tz        string
	created   time.Time
	size      float64   // annual revenue in revenueUnit
	active    time.Time // latest activity of the account or its contacts
}

// generator holds the random source and where each file's rows go.
type generator struct {
	rng       *rand.Rand
	numOwners int
	owners    sink
	accounts  sink
	contacts  sink
	deals     sink
	nContact  int
	nDeal     int
}

// sink receives the rows of one file, header first.
type sink interface {
	write(row []string) error
}

// headers are the header rows of the files.
var headers = map[string][]string{
	"owners.csv":   {"id", "name", "email"},
	"accounts.csv": {"id", "name", "owner_id", "lifecycle", "domain", "timezone", "created_at", "last_activity_at", "primary_contact_id", "url", "industry"},
	"contacts.csv": {"id", "account_id", "first_name", "last_name", "email", "phone", "title", "timezone", "opt_out", "primary", "last_activity_at"},
	"deals.csv":    {"id", "account_id", "name", "amount", "currency", "won", "closed_at"},
}

// newGenerator returns a generator of a portfolio of accounts accounts
// drawn with seed, one owner per accountsPerOwner accounts (at least the
// sample's 25), writing to sinks (by file name).
func newGenerator(accounts int, seed uint64, sinks map[string]sink) *generator {
	return &generator{
		rng:       rand.New(rand.NewPCG(seed, 90000)),
		numOwners: max(sampleOwners, accounts/accountsPerOwner),
		owners:    sinks["owners.csv"],
		accounts:  sinks["accounts.csv"],
		contacts:  sinks["contacts.csv"],
		deals:     sinks["deals.csv"],
	}
}

// pick returns a random element of list.
func pick[T any](g *generator, list []T) T {
	return list[g.rng.IntN(len(list))]
}

// chance returns true with probability p.
func (g *generator) chance(p float64) bool {
	return g.rng.Float64() < p
}

// between returns a random float in [lo, hi).
func (g *generator) between(lo, hi float64) float64 {
	return lo + g.rng.Float64()*(hi-lo)
}

func (g *generator) genOwners() error {
	for i := 1; i <= g.numOwners; i++ {
		first, last := pick(g, firstNames), pick(g, lastNames)
		name, email := first+" "+last, slug(first)+"."+slug(last)+"@example.com"
		switch i {
		case 5:
			name, email = "Eve <!channel>", "eve@example.com"
		case 9:
			name, email = "Bob *bold* & co", "bob@example.com"
		}
		if err := g.owners.write([]string{fmt.Sprintf("U%03d", i), name, email}); err != nil {
			return err
		}
	}
	return nil
}

// newAccount draws the facts of account number n.
func (g *generator) newAccount(n int) *account {
	a := &account{num: n, id: fmt.Sprintf("A%05d", n), tz: pick(g, timeZones)}
	a.name = fmt.Sprintf("%s %s %s", pick(g, companyHeads), pick(g, companyCores), pick(g, companySuffixes))
	a.domain = slug(a.name) + fmt.Sprintf("%d.example", n)
	if h, ok := hostileAccounts[n]; ok {
		a.name = h
	}
	a.lifecycle = g.lifecycle()
	a.created = asOf.Add(-time.Duration(g.rng.IntN(4*365*24)) * time.Hour)
	a.size = min(maxSize, math.Exp(sizeSigma*g.rng.NormFloat64()))
	if _, ok := hostileAccounts[n]; ok {
		a.size = max(a.size, 60) // hostile names sit among the key accounts
	}
	a.active = g.lastActivity(a)
	return a
}

func (g *generator) lifecycle() string {
	switch r := g.rng.Float64(); {
	case r < 0.04:
		return "" // empty means customer
	case r < 0.85:
		return "customer"
	case r < 0.92:
		return "prospect"
	case r < 0.97:
		return "former"
	default:
		return "other"
	}
}

// customer reports whether a is a current client.
func (a *account) customer() bool {
	return a.lifecycle == "" || a.lifecycle == "customer"
}

// lastActivity draws how long a has been quiet: ~18% of customers for 90
// days or more, some large ones for 60 to 89 days.
func (g *generator) lastActivity(a *account) time.Time {
	var days int
	switch r := g.rng.Float64(); {
	case !a.customer():
		days = g.rng.IntN(400)
	case r < 0.18:
		days = 90 + g.rng.IntN(300)
	case r < 0.26 && a.size > 4:
		days = 60 + g.rng.IntN(30)
	default:
		days = g.rng.IntN(55)
	}
	if a.num == 42 {
		days = 71 // <!channel> Corp: a key account going quiet
	}
	t := asOf.Add(-time.Duration(days)*day - time.Duration(g.rng.IntN(20*60))*time.Minute)
	if t.Before(a.created) {
		return a.created
	}
	return t
}

// genAccount writes account a's row, its contacts and its deals.
func (g *generator) genAccount(a *account) error {
	owner := ""
	if !g.chance(0.03) {
		owner = fmt.Sprintf("U%03d", 1+g.rng.IntN(g.numOwners))
	}
	switch a.num {
	case 1500:
		owner = "U990" // no such owner
	case 2500:
		owner = "U991"
	}
	accountActive := ""
	if !g.chance(0.15) {
		accountActive = stamp(a.active)
	}
	primary, err := g.genContacts(a, accountActive == "")
	if err != nil {
		return err
	}
	err = g.accounts.write([]string{a.id, a.name, owner, a.lifecycle, a.domain, a.tz,
		a.created.Format(time.DateOnly), accountActive, primary,
		"https://crm.example.com/accounts/" + a.id, pick(g, industries)})
	if err != nil {
		return err
	}
	return g.genDeals(a)
}

// genContacts writes 1 to 4 contacts of a and returns the id of the one
// the account row names as primary, if any. When carry is true, the first
// contact carries the account's latest activity.
func (g *generator) genContacts(a *account, carry bool) (string, error) {
	n, primaryAt, named := g.contactCount(), -1, ""
	if g.chance(0.6) {
		primaryAt = g.rng.IntN(n)
	}
	for i := range n {
		g.nContact++
		id := fmt.Sprintf("C%06d", g.nContact)
		active := g.contactActivity(a, carry && i == 0)
		primary := ""
		if i == primaryAt {
			primary = "true"
			if g.chance(0.5) {
				named = id
			}
		}
		if err := g.contacts.write(g.contactRow(a, id, primary, active)); err != nil {
			return "", err
		}
	}
	return named, nil
}

// contactCount draws how many contacts an account has: 1 to 4, 2.35 on
// average.
func (g *generator) contactCount() int {
	switch r := g.rng.Float64(); {
	case r < 0.30:
		return 1
	case r < 0.60:
		return 2
	case r < 0.85:
		return 3
	default:
		return 4
	}
}

// contactActivity returns a contact's last activity: the account's when it
// carries it, else earlier or none.
func (g *generator) contactActivity(a *account, carry bool) string {
	if carry {
		return stamp(a.active)
	}
	if g.chance(0.12) {
		return ""
	}
	t := a.active.Add(-time.Duration(g.rng.IntN(200*24)) * time.Hour)
	if t.Before(a.created) {
		t = a.created
	}
	return stamp(t)
}

func (g *generator) contactRow(a *account, id, primary, active string) []string {
	first, last := pick(g, firstNames), pick(g, lastNames)
	email := slug(first) + "." + slug(last) + "@" + a.domain
	if h, ok := hostileContacts[g.nContact]; ok {
		first, last, email = h[0], h[1], fmt.Sprintf("contact%d@%s", g.nContact, a.domain)
	}
	if g.chance(0.06) {
		email = ""
	}
	optOut := "false"
	if g.chance(0.03) {
		optOut = "true"
	}
	title := pick(g, titles)
	if g.nContact == 1000 {
		title = "Head of Sales\nEMEA" // a quoted field over two lines
	}
	phone := fmt.Sprintf("+33 1 %02d %02d %02d %02d", g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100))
	tz := ""
	if g.chance(0.5) {
		tz = a.tz
	}
	return []string{id, a.id, first, last, email, phone, title, tz, optOut, primary, active}
}

// stamp formats t as RFC 3339.
func stamp(t time.Time) string {
	return t.Format(time.RFC3339)
}

// slug keeps the ASCII letters and digits of s, lower-cased, with accents
// dropped.
// unaccent folds the accented letters of the generator's names.
var unaccent = strings.NewReplacer("é", "e", "è", "e", "ë", "e", "ï", "i", "ü", "u", "ö", "o", "ç", "c")

func slug(s string) string {
	s = unaccent.Replace(strings.ToLower(s))
	var b strings.Builder
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}
