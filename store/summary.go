package store

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/internal/readahead"
	"github.com/crmsync/crmsync/model"
)

// An account's summary is what an evaluation pass reads of it: its
// features record (features.go, FeatureRange), or the account's bundle
// (bundle.go, SummaryRange) decoded for the features only: the account's
// record, its contacts' last activity and its won deals' close dates and
// amounts, read from the start of each filedEntry without decoding the
// rest; and the reps' latest "mark as contacted".

// Summary is an account's summary decoded: its record, or only what the
// features need of it, and what they need of its contacts and deals. The
// record is decoded only when asked for (SummaryClients).
type Summary struct {
	id      string
	account string // the account's encoded record; "" when read from its features record
	// head is the account's part of its features record, when read from
	// it (feat).
	head featureHead
	feat bool
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
	return new(ClientArena).Clients(sums)
}

// ClientArena is where Clients puts the clients of a batch of summaries,
// their contacts and deals: kept from one batch to the next, it spares a
// pass allocating a kilobyte per account. What one call returns is valid
// until the next.
type ClientArena struct {
	// SkipExtra leaves the accounts' Extra fields out: for a pass whose
	// rules do not read them (rules.RuleSet.ReadsAccountExtra).
	SkipExtra bool

	clients  []model.Client
	contacts []model.Contact
	deals    []model.Deal
}

// Clients is SummaryClients in the arena's arrays.
func (a *ClientArena) Clients(sums []Summary) ([]model.Client, error) {
	var nc, nd int
	for i := range sums {
		nc, nd = nc+len(sums[i].ContactActivity), nd+len(sums[i].Won)
	}
	a.clients = reuse(a.clients, len(sums))
	a.contacts, a.deals = reuse(a.contacts, nc), reuse(a.deals, nd)
	contacts, deals := a.contacts, a.deals
	out := a.clients
	for i := range sums {
		s := &sums[i]
		nc, nd = len(s.ContactActivity), len(s.Won)
		if err := s.fill(&out[i], contacts[:nc:nc], deals[:nd:nd], !a.SkipExtra); err != nil {
			return nil, err
		}
		contacts, deals = contacts[nc:], deals[nd:]
	}
	return out, nil
}

// reuse returns s with length n, zeroed, in its array when it fits, else
// in a new one with room for a quarter more: the next batch's may be
// somewhat longer.
func reuse[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	s = s[:n]
	clear(s)
	return s
}

// fill sets c from the summary, its contacts and deals into the zeroed
// contacts and deals, as long as its contact activities and won deals.
func (s *Summary) fill(c *model.Client, contacts []model.Contact, deals []model.Deal, extra bool) error {
	if err := s.decodeAccount(&c.Account, extra); err != nil {
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

// decodeAccount decodes the account's record into a, its Extra fields
// when extra is set. A summary read from the features record sets only
// the account's id, lifecycle, owner, creation and last activity.
func (s *Summary) decodeAccount(a *model.Account, extra bool) error {
	if s.feat {
		h := &s.head
		*a = model.Account{Ref: model.Ref{ID: s.id}, Lifecycle: model.Lifecycle(h.lifecycle), OwnerID: h.owner,
			CreatedAt: h.created, LastActivityAt: h.activity}
		return nil
	}
	if s.account == "" {
		return nil
	}
	if err := decodeAccountExtra(s.id, s.account, a, extra); err != nil {
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
func decodeSummary(id, v, contacted string, out *Summary, ar *summaryArena) (hasAccount bool, err error) {
	if len(v) < tokenLen+1 || v[tokenLen] != bundleVersion {
		return false, errCorrupt
	}
	r := rbuf{s: v[tokenLen+1:]}
	*out = Summary{id: id, account: r.str()}
	if out.Contacted, err = contactedAt(contacted); err != nil {
		return false, err
	}
	times, won := len(ar.times), len(ar.won)
	n := r.uvarint()
	for range n {
		r.str() // the id
		body := rbuf{s: r.str()}
		ar.times = append(ar.times, body.time())
		r.err = cmp.Or(r.err, body.err)
	}
	n = r.uvarint()
	for range n {
		r.str()
		d, ok, err := readWonDeal(r.str())
		r.err = cmp.Or(r.err, err)
		if ok {
			ar.won = append(ar.won, d)
		}
	}
	ar.cut(out, times, won)
	return out.account != "", r.done()
}

// decodeFeatures decodes the features record v of the account id, and its
// latest "contacted" mark, as decodeSummary does its bundle.
func decodeFeatures(id, v, contacted string, out *Summary, ar *summaryArena) (hasAccount bool, err error) {
	*out = Summary{id: id, feat: true}
	if out.Contacted, err = contactedAt(contacted); err != nil {
		return false, err
	}
	times, won := len(ar.times), len(ar.won)
	var r rbuf
	ar.won, r, err = readWon(v, ar.won)
	if err == nil {
		out.head, ar.times, err = readHead(r, ar.times)
	}
	ar.cut(out, times, won)
	return err == nil, err
}

// summaryArena holds the contacts' activities and won deals of a batch of
// summaries, in one array each instead of two per account.
type summaryArena struct {
	times []time.Time
	won   []WonDeal
}

// newSummaryArena returns an arena for the summaries of n accounts, with
// room for three contacts and three won deals each (the sample portfolio
// has 2.2 contacts and 2.5 won deals per account); it grows past that.
func newSummaryArena(n int) *summaryArena {
	return &summaryArena{times: make([]time.Time, 0, 3*n), won: make([]WonDeal, 0, 3*n)}
}

// cut gives out the activities and won deals appended since times and
// won.
func (ar *summaryArena) cut(out *Summary, times, won int) {
	out.ContactActivity = ar.times[times:len(ar.times):len(ar.times)]
	out.Won = ar.won[won:len(ar.won):len(ar.won)]
}

// SummaryRange calls fn with the summaries of the accounts from from
// (inclusive; "" for the first) to to (exclusive; "" for no end), in id
// order, reading batch of them per two round trips: their ids, then their
// bundles and "contacted" marks. The next batch is read while fn works on
// the last. An account removed between the two is left out.
func (s *Records) SummaryRange(ctx context.Context, from, to string, batch int, fn func(ids []string, sums []Summary) error) error {
	return s.summaryRange(ctx, from, to, batch, summaryKind{"records", decodeSummary}, fn)
}

// FeatureRange is SummaryRange reading the accounts' features records
// instead of their bundles: its summaries hold only what the features
// need of an account (its id, lifecycle, owner, creation and last
// activity), for a pass whose rules read no more of it.
func (s *Records) FeatureRange(ctx context.Context, from, to string, batch int, fn func(ids []string, sums []Summary) error) error {
	return s.summaryRange(ctx, from, to, batch, summaryKind{"features", decodeFeatures}, fn)
}

// summaryKind is where summaries are read from: the hash holding them by
// account id, and how one decodes.
type summaryKind struct {
	key    string
	decode func(id, v, contacted string, out *Summary, ar *summaryArena) (hasAccount bool, err error)
}

// summaryRange is SummaryRange reading the summaries of kind.
func (s *Records) summaryRange(ctx context.Context, from, to string, batch int, kind summaryKind, fn func(ids []string, sums []Summary) error) error {
	lo, hi := lexRange(from, to)
	batch = cmp.Or(batch, 1000)
	done := false
	read := func(ctx context.Context) (summaryRead, bool, error) {
		if done {
			return summaryRead{}, false, nil
		}
		ids, err := s.idRange(ctx, lo, hi, batch)
		if err != nil || len(ids) == 0 {
			return summaryRead{}, false, err
		}
		done, lo = len(ids) < batch, "("+ids[len(ids)-1]
		kept, sums, err := s.summaries(ctx, kind, ids)
		return summaryRead{kept, sums}, err == nil, err
	}
	return readahead.Each(ctx, read, func(r summaryRead) error { return fn(r.ids, r.sums) })
}

// summaryRead is a batch of accounts' ids and summaries.
type summaryRead struct {
	ids  []string
	sums []Summary
}

// summaries reads and decodes the summaries of ids of kind (in id order,
// one at least), in one round trip, leaving out the ids whose bundle is
// gone or holds no account.
func (s *Records) summaries(ctx context.Context, kind summaryKind, ids []string) ([]string, []Summary, error) {
	var vals *redis.SliceCmd
	var members *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		vals = p.HMGet(ctx, s.key(kind.key), ids...)
		members = s.queueMarks(ctx, p, ids[0], ids[len(ids)-1])
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: summaries: %w", err)
	}
	marks := parseMarks(members.Val())
	sums := make([]Summary, len(ids))
	kept := make([]string, 0, len(ids))
	ar := newSummaryArena(len(ids))
	for i, v := range vals.Val() {
		raw, ok := v.(string)
		if !ok {
			continue // removed meanwhile
		}
		has, err := kind.decode(ids[i], raw, marks[ids[i]], &sums[len(kept)], ar)
		if err != nil {
			return nil, nil, fmt.Errorf("store: summaries: %s: %w", ids[i], err)
		}
		if has {
			kept = append(kept, ids[i])
		}
	}
	return kept, sums[:len(kept)], nil
}

// idRange returns the ids of at most batch accounts of the index range lo
// to hi (ZRANGEBYLEX bounds).
func (s *Records) idRange(ctx context.Context, lo, hi string, batch int) ([]string, error) {
	ids, err := s.rdb.ZRangeByLex(ctx, s.key("accounts"), &redis.ZRangeBy{Min: lo, Max: hi, Count: int64(batch)}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: account ids: %w", err)
	}
	return ids, nil
}
