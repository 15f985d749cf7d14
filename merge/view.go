package merge

import (
	"context"

	"github.com/crmsync/crmsync/model"
)

// records is the part of the store a View reads.
type records interface {
	AccountIDRange(ctx context.Context, from, to string, limit int64) ([]string, error)
	Clients(ctx context.Context, ids []string) ([]model.Client, error)
}

// View reads the store's portfolio through merge groups: each group is
// one account, under its primary's id, and its other accounts are not
// listed on their own. It has the methods of the store a pass reads.
type View struct {
	recs    records
	groups  Groups
	primary map[string]string
}

// NewView reads recs through g.
func NewView(recs records, g Groups) *View {
	return &View{recs: recs, groups: g, primary: g.Primaries()}
}

// Primary returns the id of the portfolio account that account id is part
// of: its group's primary, or id itself.
func (v *View) Primary(id string) string {
	if p, ok := v.primary[id]; ok {
		return p
	}
	return id
}

// AccountIDRange returns, like the store's, up to limit portfolio account
// ids from from (inclusive) to to (exclusive), leaving out the accounts
// merged into another. It returns none only at the end of the range.
func (v *View) AccountIDRange(ctx context.Context, from, to string, limit int64) ([]string, error) {
	for {
		ids, err := v.recs.AccountIDRange(ctx, from, to, limit)
		if err != nil || len(ids) == 0 {
			return ids, err
		}
		out := ids[:0:0]
		for _, id := range ids {
			if v.Primary(id) == id {
				out = append(out, id)
			}
		}
		if len(out) > 0 || int64(len(ids)) < limit {
			return out, nil
		}
		from = ids[len(ids)-1] + "\x00"
	}
}

// Clients returns the portfolio accounts with these ids (an id of an
// account merged into another stands for the merged account), merged, in
// the order given and each once. Ids of no stored account are skipped.
func (v *View) Clients(ctx context.Context, ids []string) ([]model.Client, error) {
	var primaries, all []string
	seen := map[string]bool{}
	for _, id := range ids {
		p := v.Primary(id)
		if seen[p] {
			continue
		}
		seen[p] = true
		primaries = append(primaries, p)
		if m, ok := v.groups[p]; ok {
			all = append(all, m...)
		} else {
			all = append(all, p)
		}
	}
	cs, err := v.recs.Clients(ctx, all)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]model.Client, len(cs))
	for _, c := range cs {
		byID[c.Account.ID] = c
	}
	out := make([]model.Client, 0, len(primaries))
	for _, p := range primaries {
		members := v.groups[p]
		if members == nil {
			members = []string{p}
		}
		var found []model.Client
		for _, m := range members {
			if c, ok := byID[m]; ok {
				found = append(found, c)
			}
		}
		if len(found) > 0 {
			out = append(out, Combine(found))
		}
	}
	return out, nil
}

// EachClient calls fn with every portfolio account in id order, merged,
// reading batch accounts at a time; it stops at fn's first error.
func (v *View) EachClient(ctx context.Context, batch int, fn func(model.Client) error) error {
	if batch <= 0 {
		batch = 500
	}
	from := ""
	for {
		ids, err := v.AccountIDRange(ctx, from, "", int64(batch))
		if err != nil || len(ids) == 0 {
			return err
		}
		cs, err := v.Clients(ctx, ids)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if err := fn(c); err != nil {
				return err
			}
		}
		from = ids[len(ids)-1] + "\x00"
	}
}
