package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
)

// An account's summary is what an evaluation pass reads of it: the
// account's bundle (bundle.go), decoded for the features only: the
// account's record, its contacts' last activity and its won deals' close
// dates and amounts, read from the start of each filedEntry without decoding
// the rest; and the reps' latest "mark as contacted".

// Summary is an account's summary decoded: its record, and what the
// features need of its contacts and deals. The record's JSON is decoded
// only when asked for (SummaryClients).
type Summary struct {
	id      string
	account string // the account's encoded record
	// Contacted is the latest "mark as contacted"; zero when none.
	Contacted time.Time
	// ContactActivity holds each contact's last activity, by contact id.
	ContactActivity []time.Time
	// Won holds each won deal that has a close date, by deal id.
	Won []WonDeal
}

// WonDeal is what the features read of a won deal.
type WonDeal struct {
	ClosedAt time.Time
	Amount   float64
}

// SummaryClients returns sums as clients whose contacts and deals carry
// only what the features read (dates and amounts, no ids, names or
// addresses), taking them from one allocation each for the whole batch:
// rules.Compute finds the same features in them as in the stored
// records. An account's latest activity includes the reps' "contacted"
// marks, as Clients does.
func SummaryClients(sums []Summary) ([]model.Client, error) {
	var nc, nd int
	for i := range sums {
		nc, nd = nc+len(sums[i].ContactActivity), nd+len(sums[i].Won)
	}
	contacts, deals := make([]model.Contact, nc), make([]model.Deal, nd)
	out := make([]model.Client, len(sums))
	for i := range sums {
		s := &sums[i]
		nc, nd = len(s.ContactActivity), len(s.Won)
		if err := s.fill(&out[i], contacts[:nc:nc], deals[:nd:nd]); err != nil {
			return nil, err
		}
		contacts, deals = contacts[nc:], deals[nd:]
	}
	return out, nil
}

// fill sets c from the summary, its contacts and deals into the zeroed
// contacts and deals, as long as its contact activities and won deals.
func (s *Summary) fill(c *model.Client, contacts []model.Contact, deals []model.Deal) error {
	if err := s.decodeAccount(&c.Account); err != nil {
		return err
	}
	if s.Contacted.After(c.Account.LastActivityAt) {
		c.Account.LastActivityAt = s.Contacted
	}
	if len(contacts) > 0 {
		for i, t := range s.ContactActivity {
			contacts[i].LastActivityAt = t
		}
		c.Contacts = contacts
	}
	if len(deals) > 0 {
		c.Deals = AppendDeals(deals[:0], s.Won)
	}
	return nil
}

// decodeAccount decodes the account's record into a.
func (s *Summary) decodeAccount(a *model.Account) error {
	if s.account == "" {
		return nil
	}
	if err := decodeAccount(s.id, s.account, a); err != nil {
		return fmt.Errorf("decode account: %w", err)
	}
	return nil
}

// contactedAt decodes a "contacted" mark (unix ms); zero for "".
func contactedAt(mark string) (time.Time, error) {
	if mark == "" {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(mark, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("contacted %q: %w", mark, err)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// decodeSummary decodes the bundle v of the account id, and its latest
// "contacted" mark (unix ms, "" for none). hasAccount is false when only
// contacts or deals are filed under the id.
func decodeSummary(id, v, contacted string, out *Summary) (hasAccount bool, err error) {
	if len(v) < tokenLen+1 || v[tokenLen] != bundleVersion {
		return false, errCorrupt
	}
	r := rbuf{s: v[tokenLen+1:]}
	*out = Summary{id: id, account: r.str(), ContactActivity: out.ContactActivity[:0], Won: out.Won[:0]}
	if out.Contacted, err = contactedAt(contacted); err != nil {
		return false, err
	}
	for range r.uvarint() {
		r.str() // the id
		body := rbuf{s: r.str()}
		out.ContactActivity = append(out.ContactActivity, body.time())
		r.err = cmp.Or(r.err, body.err)
	}
	for range r.uvarint() {
		r.str()
		d, ok, err := readWonDeal(r.str())
		r.err = cmp.Or(r.err, err)
		if ok {
			out.Won = append(out.Won, d)
		}
	}
	return out.account != "", r.done()
}

// summaryRangeScript returns the ids of the accounts in a range of the
// account index, their bundles
// and their "contacted" marks, in one step. ARGV[4] is the key prefix.
var summaryRangeScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
if #ids == 0 then return {{}, {}, {}} end
local marks = {}
for i, id in ipairs(ids) do marks[i] = ARGV[4] .. 'contacted:' .. id end
return {ids, redis.call('HMGET', KEYS[2], unpack(ids)), redis.call('MGET', unpack(marks))}
`)

// SummaryRange calls fn with the summaries of the accounts from from
// (inclusive; "" for the first) to to (exclusive; "" for no end), in id
// order, reading batch of them per round trip. The Summary fn gets is
// reused: fn must copy what it keeps. An account whose summary is
// missing (a store written before summaries, see Migrate) is an error.
func (s *Records) SummaryRange(ctx context.Context, from, to string, batch int, fn func(ids []string, sums []Summary) error) error {
	lo, hi := lexRange(from, to)
	batch = cmp.Or(batch, 1000)
	keys := []string{s.key("accounts"), s.key("records")}
	var sums []Summary
	for {
		res, err := summaryRangeScript.Run(ctx, s.rdb, keys, lo, hi, batch, s.key()).Slice()
		if err != nil {
			return fmt.Errorf("store: summaries: %w", err)
		}
		ids, vals, marks := res[0].([]any), res[1].([]any), res[2].([]any)
		if len(ids) == 0 {
			return nil
		}
		sums = slices.Grow(sums[:0], len(ids))[:len(ids)]
		out := make([]string, len(ids))
		for i, v := range ids {
			out[i], _ = v.(string)
			raw, ok := vals[i].(string)
			if !ok {
				return fmt.Errorf("store: summaries: %s has no records: run the store's migration", out[i])
			}
			mark, _ := marks[i].(string)
			if _, err := decodeSummary(out[i], raw, mark, &sums[i]); err != nil {
				return fmt.Errorf("store: summaries: %s: %w", out[i], err)
			}
		}
		if err := fn(out, sums); err != nil {
			return err
		}
		if len(ids) < batch {
			return nil
		}
		lo = "(" + out[len(out)-1]
	}
}
