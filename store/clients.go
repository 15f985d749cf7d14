package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
)

// CountAccounts returns the number of stored accounts.
func (s *Records) CountAccounts(ctx context.Context) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.key("accounts")).Result()
	if err != nil {
		return 0, fmt.Errorf("store: count accounts: %w", err)
	}
	return n, nil
}

// accountIDsAfter returns up to limit account ids greater than after
// ("" for the first), in id order.
func (s *Records) accountIDsAfter(ctx context.Context, after string, limit int64) ([]string, error) {
	lower := "-"
	if after != "" {
		lower = "(" + after
	}
	ids, err := s.rdb.ZRangeByLex(ctx, s.key("accounts"), &redis.ZRangeBy{
		Min: lower, Max: "+", Count: limit,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: account ids: %w", err)
	}
	return ids, nil
}

// Clients returns the accounts with these ids, in the order given, each
// with its contacts and deals (sorted by id) and its owner (nil when
// unknown). Ids without an account are skipped. It takes two round trips
// however many ids it gets.
func (s *Records) Clients(ctx context.Context, ids []string) ([]model.Client, error) {
	out, err := s.ClientRecords(ctx, ids)
	if err != nil {
		return nil, err
	}
	if err := s.AttachOwners(ctx, out); err != nil {
		return nil, fmt.Errorf("store: clients: %w", err)
	}
	return out, nil
}

// ClientRecords is Clients without the owners (Owner is nil), in one
// round trip: for a caller that keeps the owners it read already, as a
// pass does.
func (s *Records) ClientRecords(ctx context.Context, ids []string) ([]model.Client, error) {
	if len(ids) == 0 {
		return []model.Client{}, nil
	}
	marks := make([]string, len(ids))
	for i, id := range ids {
		marks[i] = s.key("contacted", id)
	}
	var vals, contacted *redis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		vals = pipe.HMGet(ctx, s.key("records"), ids...)
		contacted = pipe.MGet(ctx, marks...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: clients: %w", err)
	}
	out := make([]model.Client, 0, len(ids))
	for i, v := range vals.Val() {
		raw, ok := v.(string)
		if !ok {
			continue
		}
		mark, _ := contacted.Val()[i].(string)
		c, ok, err := decodeClient(ids[i], raw, mark)
		if err != nil {
			return nil, fmt.Errorf("store: clients: %s: %w", ids[i], err)
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// decodeClient decodes the bundle raw of the account id with its
// "contacted" mark; false when only contacts or deals are filed under id.
func decodeClient(id, raw, mark string) (model.Client, bool, error) {
	b, err := parseBundle(raw)
	if err != nil || b.account == "" {
		return model.Client{}, false, err
	}
	at, err := contactedAt(mark)
	if err != nil {
		return model.Client{}, false, err
	}
	c, err := b.client(id, at)
	return c, err == nil, err
}

// AttachOwners sets the Owner of each client of cs from the stored
// owners, nil when unknown, in one round trip.
func (s *Records) AttachOwners(ctx context.Context, cs []model.Client) error {
	var ids []string
	seen := map[string]bool{}
	for _, c := range cs {
		if id := c.Account.OwnerID; id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.key("owner", id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return fmt.Errorf("store: owners: %w", err)
	}
	owners := make(map[string]*model.Owner, len(ids))
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue
		}
		var o model.Owner
		if err := json.Unmarshal([]byte(raw), &o); err != nil {
			return fmt.Errorf("store: decode owner %s: %w", ids[i], err)
		}
		owners[ids[i]] = &o
	}
	for i := range cs {
		cs[i].Owner = owners[cs[i].Account.OwnerID]
	}
	return nil
}

// Client returns one account with its contacts, deals and owner; false
// when there is no such account.
func (s *Records) Client(ctx context.Context, id string) (model.Client, bool, error) {
	cs, err := s.Clients(ctx, []string{id})
	if err != nil || len(cs) == 0 {
		return model.Client{}, false, err
	}
	return cs[0], true, nil
}

// EachClient calls fn with every account in id order, reading batch
// accounts at a time. It pages by id rather than by offset, so accounts
// added or removed during the walk never make it skip or repeat one.
// It stops at the first error fn returns and returns it.
func (s *Records) EachClient(ctx context.Context, batch int, fn func(model.Client) error) error {
	if batch <= 0 {
		batch = 500
	}
	after := ""
	for {
		ids, err := s.accountIDsAfter(ctx, after, int64(batch))
		if err != nil || len(ids) == 0 {
			return err
		}
		cs, err := s.Clients(ctx, ids)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if err := fn(c); err != nil {
				return err
			}
		}
		after = ids[len(ids)-1]
	}
}

// AccountIDsAt returns the ids at ranks (from 0, in id order) of the
// account index, "" past its end, in one round trip.
func (s *Records) AccountIDsAt(ctx context.Context, ranks []int64) ([]string, error) {
	cmds := make([]*redis.StringSliceCmd, len(ranks))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range ranks {
			cmds[i] = p.ZRange(ctx, s.key("accounts"), r, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: account ids at ranks: %w", err)
	}
	out := make([]string, len(ranks))
	for i, c := range cmds {
		if v := c.Val(); len(v) > 0 {
			out[i] = v[0]
		}
	}
	return out, nil
}

// AccountIDRange returns the ids of the accounts from from (inclusive; ""
// for the first) to to (exclusive; "" for no end), in id order, at most
// limit of them. A shard of an evaluation pass is such a range, so an
// account added while a pass runs still falls in exactly one shard.
func (s *Records) AccountIDRange(ctx context.Context, from, to string, limit int64) ([]string, error) {
	lo, hi := lexRange(from, to)
	ids, err := s.rdb.ZRangeByLex(ctx, s.key("accounts"), &redis.ZRangeBy{Min: lo, Max: hi, Count: limit}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: account id range: %w", err)
	}
	return ids, nil
}
