package store

import (
	"cmp"
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/internal/readahead"
	"github.com/crmsync/crmsync/model"
)

// An account's won deals are also kept apart, packed, in <ns>:won: account
// id → the close date and amount of each won deal that has a close date.
// The portfolio-wide thresholds of a pass (ABC, RFM: revenue_12m,
// purchases_12m, days_since_purchase) need nothing else, so planning a
// pass reads a few bytes per account instead of its bundle. Every write
// of a bundle writes its won deals in the same step (write.go); an
// account without any has no field.

// wonVersion starts a packed value, so that its layout can change.
const wonVersion = 1

// won packs the won deals of b with a close date: "" when there are none.
func (b *bundle) won() (string, error) {
	var out wbuf
	for _, e := range b.deals {
		d, ok, err := readWonDeal(e.body)
		if err != nil {
			return "", fmt.Errorf("deal %s: %w", e.id, err)
		}
		if !ok {
			continue
		}
		if len(out) == 0 {
			out.byte(wonVersion)
		}
		out.time(d.ClosedAt)
		out.float(d.Amount)
	}
	return string(out), nil
}

// readWonDeal reads the start of a deal's encoded body (encodeDeal): its
// won flag, close date and amount. ok is false for a deal that is not won
// or has no close date.
func readWonDeal(body string) (d WonDeal, ok bool, err error) {
	r := rbuf{s: body}
	won := r.byte() == 1
	d.ClosedAt = r.time()
	d.Amount = r.float()
	return d, won && !d.ClosedAt.IsZero(), r.err
}

// parseWon appends the won deals packed in v to dst.
func parseWon(v string, dst []WonDeal) ([]WonDeal, error) {
	if v == "" {
		return dst, nil
	}
	if v[0] != wonVersion {
		return dst, errCorrupt
	}
	r := rbuf{s: v[1:]}
	for r.s != "" && r.err == nil {
		d := WonDeal{ClosedAt: r.time()}
		d.Amount = r.float()
		dst = append(dst, d)
	}
	return dst, r.err
}

// AppendDeals appends won to dst as the won deals they are, with only
// their close date and amount.
func AppendDeals(dst []model.Deal, won []WonDeal) []model.Deal {
	for _, d := range won {
		dst = append(dst, model.Deal{Won: true, ClosedAt: d.ClosedAt, Amount: d.Amount})
	}
	return dst
}

// WonRange calls fn with the ids of the accounts from from (inclusive; ""
// for the first) to to (exclusive; "" for no end), in id order, and the
// won deals of each, batch accounts per two round trips (their ids, then
// their won deals). The next batch is read while fn works on the last one.
func (s *Records) WonRange(ctx context.Context, from, to string, batch int, fn func(ids []string, won [][]WonDeal) error) error {
	batch = cmp.Or(batch, 1000)
	lo, hi := lexRange(from, to)
	done := false
	read := func(ctx context.Context) (wonRead, bool, error) {
		if done {
			return wonRead{}, false, nil
		}
		ids, won, err := s.wonPage(ctx, lo, hi, batch)
		if err != nil || len(ids) == 0 {
			return wonRead{}, false, err
		}
		done, lo = len(ids) < batch, "("+ids[len(ids)-1]
		return wonRead{ids, won}, true, nil
	}
	return readahead.Each(ctx, read, func(b wonRead) error { return fn(b.ids, b.won) })
}

// wonRead is a batch of accounts' ids and won deals.
type wonRead struct {
	ids []string
	won [][]WonDeal
}

// wonPage reads the ids of at most batch accounts of the index range lo
// to hi, then their won deals.
func (s *Records) wonPage(ctx context.Context, lo, hi string, batch int) ([]string, [][]WonDeal, error) {
	ids, err := s.idRange(ctx, lo, hi, batch)
	if err != nil || len(ids) == 0 {
		return nil, nil, err
	}
	vals, err := s.rdb.HMGet(ctx, s.key("won"), ids...).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("store: won deals: %w", err)
	}
	starts := make([]int, 0, len(ids)+1)
	size := 0
	for _, v := range vals {
		packed, _ := v.(string)
		size += len(packed)
	}
	// A packed deal takes at least 9 bytes (a time's varint, an amount):
	// enough room for all, without growing the arena as it fills.
	arena := make([]WonDeal, 0, size/9)
	for i, v := range vals {
		starts = append(starts, len(arena))
		packed, _ := v.(string)
		if arena, err = parseWon(packed, arena); err != nil {
			return nil, nil, fmt.Errorf("store: won deals of %s: %w", ids[i], err)
		}
	}
	starts = append(starts, len(arena))
	won := make([][]WonDeal, len(ids))
	for i := range ids {
		won[i] = arena[starts[i]:starts[i+1]:starts[i+1]]
	}
	return ids, won, nil
}

// lexRange turns an id range (from inclusive, "" for the first; to
// exclusive, "" for no end) into ZRANGEBYLEX bounds.
func lexRange(from, to string) (lo, hi string) {
	lo, hi = "-", "+"
	if from != "" {
		lo = "[" + from
	}
	if to != "" {
		hi = "(" + to
	}
	return lo, hi
}

// wonFromScript writes the packed won deals of bundles read earlier,
// unless a bundle changed since: ARGV holds id, the bundle's token and its
// won deals ("" for none), for each.
var wonFromScript = redis.NewScript(`
for i = 1, #ARGV, 3 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v and string.sub(v, 1, 8) == ARGV[i + 1] then
    if ARGV[i + 2] == '' then
      redis.call('HDEL', KEYS[2], ARGV[i])
    else
      redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
    end
  end
end
return 0
`)

// buildWon writes the won deals of every bundle of the store (Migrate:
// stores written before <ns>:won), a batch at a time; a bundle a sync
// rewrote meanwhile keeps the won deals that sync wrote.
func (s *Records) buildWon(ctx context.Context) error {
	keys := []string{s.key("records"), s.key("won")}
	iter := s.rdb.HScan(ctx, keys[0], 0, "", 1000).Iterator()
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		err := wonFromScript.Run(ctx, s.rdb, keys, args...).Err()
		args = args[:0]
		return err
	}
	for iter.Next(ctx) {
		id := iter.Val()
		if !iter.Next(ctx) {
			break
		}
		b, err := parseBundle(iter.Val())
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		w, err := b.won()
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if args = append(args, id, b.token, w); len(args) >= 1500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	return flush()
}
