package merge

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/model"
)

// portfolio is what Build reads: every stored account of every source.
type portfolio interface {
	EachClient(ctx context.Context, batch int, fn func(model.Client) error) error
}

// Build reads every account once and groups the accounts of different
// sources that r says are one company: first the explicit Mapping, then
// each method of r.By in order. A join that would put two accounts of one
// source together is refused and counted in Stats.Conflicts, and a domain
// or email held by several accounts of one source joins nothing (it does
// not say which of them is the company).
func Build(ctx context.Context, p portfolio, r Rules) (Groups, Stats, error) {
	b := newBuilder(r)
	err := p.EachClient(ctx, 500, func(c model.Client) error {
		b.add(&c)
		return nil
	})
	if err != nil {
		return nil, Stats{}, fmt.Errorf("merge: %w", err)
	}
	b.joinMapping(r.Mapping)
	for _, by := range r.By {
		switch by {
		case ByDomain:
			b.joinKeys("domain", b.domains, b.domainOrder)
		case ByContactEmail:
			b.joinKeys("contact email", b.emails, b.emailOrder)
		}
	}
	g := b.groups()
	b.stats.Groups = len(g)
	for _, m := range g {
		b.stats.Merged += len(m) - 1
	}
	return g, b.stats, nil
}

// builder is a union-find over the accounts read, indexed in read order.
type builder struct {
	rank    ranker
	ids     []string
	sources []string
	index   map[string]int
	parent  []int
	members map[int][]int // a root's accounts, for roots of more than one

	domains     map[string][]int
	domainOrder []string
	emails      map[string][]int
	emailOrder  []string
	stats       Stats
}

func newBuilder(r Rules) *builder {
	return &builder{
		rank: newRanker(r.Precedence), index: map[string]int{}, members: map[int][]int{},
		domains: map[string][]int{}, emails: map[string][]int{},
	}
}

// add records an account and the keys it can be joined on.
func (b *builder) add(c *model.Client) {
	i := len(b.ids)
	b.ids = append(b.ids, c.Account.ID)
	b.sources = append(b.sources, c.Account.Source)
	b.index[c.Account.ID] = i
	b.parent = append(b.parent, i)
	b.stats.Accounts++
	if d := strings.ToLower(strings.TrimSpace(c.Account.Domain)); d != "" && !publicDomains[d] {
		b.domainOrder = appendKey(b.domains, b.domainOrder, d, i)
	}
	for _, ct := range c.Contacts {
		if e := normEmail(ct.Email); e != "" {
			b.emailOrder = appendKey(b.emails, b.emailOrder, e, i)
		}
	}
}

// appendKey adds account i under key once, keeping the keys' first-seen
// order so that a build is deterministic.
func appendKey(m map[string][]int, order []string, key string, i int) []string {
	l, ok := m[key]
	if !ok {
		order = append(order, key)
	}
	if len(l) == 0 || l[len(l)-1] != i {
		m[key] = append(l, i)
	}
	return order
}

func normEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.Contains(s, "@") {
		return ""
	}
	return s
}

func (b *builder) find(i int) int {
	for b.parent[i] != i {
		b.parent[i] = b.parent[b.parent[i]]
		i = b.parent[i]
	}
	return i
}

// accounts returns the accounts of root r.
func (b *builder) accounts(r int) []int {
	if m, ok := b.members[r]; ok {
		return m
	}
	return []int{r}
}

// union joins the companies of accounts i and j unless that would put two
// accounts of one source together; it says whether they are joined.
func (b *builder) union(i, j int, why string) bool {
	ri, rj := b.find(i), b.find(j)
	if ri == rj {
		return true
	}
	ai, aj := b.accounts(ri), b.accounts(rj)
	for _, x := range ai {
		for _, y := range aj {
			if b.sources[x] == b.sources[y] {
				b.conflict("%s would join %s and %s, both from %s", why, b.ids[x], b.ids[y], b.sources[x])
				return false
			}
		}
	}
	if len(ai) < len(aj) {
		ri, rj, ai, aj = rj, ri, aj, ai
	}
	b.parent[rj] = ri
	b.members[ri] = append(slices.Clip(ai), aj...)
	delete(b.members, rj)
	return true
}

func (b *builder) conflict(format string, args ...any) {
	b.stats.Conflicts++
	if len(b.stats.Examples) < maxExamples {
		b.stats.Examples = append(b.stats.Examples, fmt.Sprintf(format, args...))
	}
}

// joinMapping joins the accounts of each mapping entry that are stored.
func (b *builder) joinMapping(mapping [][]string) {
	for n, ids := range mapping {
		first := -1
		for _, id := range ids {
			i, ok := b.index[id]
			switch {
			case !ok:
				b.stats.UnknownIDs++
			case first < 0:
				first = i
			default:
				b.union(first, i, fmt.Sprintf("mapping entry %d", n+1))
			}
		}
	}
}

// joinKeys joins the accounts that share a key, unless the key is held by
// several accounts of one source.
func (b *builder) joinKeys(what string, keys map[string][]int, order []string) {
	for _, k := range order {
		accts := keys[k]
		if len(accts) < 2 {
			continue
		}
		if x, y, dup := b.sameSource(accts); dup {
			b.conflict("%s %s is on %s and %s, both from %s: not used", what, k, b.ids[x], b.ids[y], b.sources[x])
			continue
		}
		for _, j := range accts[1:] {
			b.union(accts[0], j, what+" "+k)
		}
	}
}

// sameSource finds two accounts of one source among accts.
func (b *builder) sameSource(accts []int) (int, int, bool) {
	seen := make(map[string]int, len(accts))
	for _, i := range accts {
		if j, ok := seen[b.sources[i]]; ok {
			return j, i, true
		}
		seen[b.sources[i]] = i
	}
	return 0, 0, false
}

// groups returns the companies of more than one account, each keyed by
// its primary with its accounts in precedence order.
func (b *builder) groups() Groups {
	g := make(Groups, len(b.members))
	for _, accts := range b.members {
		ids := make([]string, len(accts))
		for n, i := range accts {
			ids[n] = b.ids[i]
		}
		b.rank.sortMembers(ids, func(id string) string { return b.sources[b.index[id]] })
		g[ids[0]] = ids
	}
	return g
}
