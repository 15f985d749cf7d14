package store

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/internal/readahead"
	"github.com/crmsync/crmsync/model"
)

// An account's features record is kept apart from its bundle, packed, in
// <ns>:features: account id → what the features of rules.Compute read of
// the account, its contacts and its won deals. A pass reads it instead of
// the bundle, a few dozen bytes instead of a kilobyte, unless its rules
// read more of the account (rules.RuleSet.ReadsAccountRecord) or its
// contacts: planning reads the won deals of every account (the
// portfolio-wide thresholds: ABC, RFM), and each shard the whole record
// of its accounts (FeatureRange). Every write of a bundle writes its
// record in the same step (write.go); an id without an account has none.
//
//	version   1 byte, featuresVersion
//	won deals count, then each won deal's close date and amount (time,
//	          codec.go; float), for the won deals that have a close date
//	account   its lifecycle and owner id (strings), creation and last
//	          activity (times)
//	contacts  count, then each contact's last activity
//
// The won deals come first: planning reads them and stops.
//
// Layouts before 9 kept only the won deals, in <ns>:won.

// featuresVersion starts a record, so that its layout can change.
const featuresVersion = 2

// features packs the features record of b: "" when b holds no account.
func (b *bundle) features(id string) (string, error) {
	if b.account == "" {
		return "", nil
	}
	var a model.Account
	if err := decodeAccountExtra(id, b.account, &a, false); err != nil {
		return "", fmt.Errorf("account: %w", err)
	}
	won := make([]WonDeal, 0, len(b.deals))
	for _, e := range b.deals {
		d, ok, err := readWonDeal(e.body)
		if err != nil {
			return "", fmt.Errorf("deal %s: %w", e.id, err)
		}
		if ok {
			won = append(won, d)
		}
	}
	out := make(wbuf, 0, 32+8*len(b.contacts)+16*len(won))
	out.byte(featuresVersion)
	out.uvarint(uint64(len(won)))
	for _, d := range won {
		out.time(d.ClosedAt)
		out.float(d.Amount)
	}
	out.str(string(a.Lifecycle))
	out.str(a.OwnerID)
	out.time(a.CreatedAt)
	out.time(a.LastActivityAt)
	out.uvarint(uint64(len(b.contacts)))
	for _, e := range b.contacts {
		body := rbuf{s: e.body}
		out.time(body.time())
		if body.err != nil {
			return "", fmt.Errorf("contact %s: %w", e.id, body.err)
		}
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

// featureHead is the account's part of a features record.
type featureHead struct {
	lifecycle, owner  string
	created, activity time.Time
}

// readWon appends the won deals of the features record v to dst, and
// returns the rest of the record: the account's part.
func readWon(v string, dst []WonDeal) ([]WonDeal, rbuf, error) {
	if v == "" || v[0] != featuresVersion {
		return dst, rbuf{}, errCorrupt
	}
	r := rbuf{s: v[1:]}
	for range r.count() {
		d := WonDeal{ClosedAt: r.time()}
		d.Amount = r.float()
		dst = append(dst, d)
	}
	return dst, r, r.err
}

// readHead reads the account's part of a features record from r, what
// readWon left, and appends each contact's last activity to contacts.
func readHead(r rbuf, contacts []time.Time) (featureHead, []time.Time, error) {
	h := featureHead{lifecycle: r.str(), owner: r.str(), created: r.time(), activity: r.time()}
	for range r.count() {
		contacts = append(contacts, r.time())
	}
	return h, contacts, r.done()
}

// parseWon appends the won deals of the features record v to dst.
func parseWon(v string, dst []WonDeal) ([]WonDeal, error) {
	if v == "" {
		return dst, nil
	}
	dst, _, err := readWon(v, dst)
	return dst, err
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
// won deals of each (from their features records), batch accounts per two
// round trips (their ids, then their records). The next batch is read
// while fn works on the last one.
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
	vals, err := s.rdb.HMGet(ctx, s.key("features"), ids...).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("store: won deals: %w", err)
	}
	starts := make([]int, 0, len(ids)+1)
	// Room for three won deals an account (the sample portfolio has 2.5):
	// sizing the arena by the records' bytes, as when they held won deals
	// only, allocated four times what it holds.
	arena := make([]WonDeal, 0, 3*len(ids))
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

// featuresFromScript writes the features records of bundles read
// earlier, unless a bundle changed since: ARGV holds id, the bundle's
// token and its record ("" for none), for each.
var featuresFromScript = redis.NewScript(`
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

// buildFeatures writes the features record of every bundle of the store
// (Migrate: stores written before <ns>:features), a batch at a time, and
// drops the won deals layouts 4 to 8 kept in <ns>:won; a bundle a sync
// rewrote meanwhile keeps the record that sync wrote.
func (s *Records) buildFeatures(ctx context.Context) error {
	keys := []string{s.key("records"), s.key("features")}
	iter := s.rdb.HScan(ctx, keys[0], 0, "", 1000).Iterator()
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		err := featuresFromScript.Run(ctx, s.rdb, keys, args...).Err()
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
		f, err := b.features(id)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if args = append(args, id, b.token, f); len(args) >= 1500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	return s.rdb.Unlink(ctx, s.key("won")).Err()
}
