package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
)

// An account's summary is what an evaluation pass reads of it: the
// account record itself and, of its contacts and deals, only what the
// features are computed from. It is one field of the hash <ns>:summary,
// kept by the same Lua steps that store, move, delete and sweep the
// records it derives from (StorePage, EndSweep, MarkContacted), so it
// never disagrees with them.
//
// Its encoding is a run of length-prefixed strings ("<len>:<bytes>"),
// which both Lua and Go cut without parsing JSON:
//
//	account JSON, "" while only contacts or deals are filed under the id
//	the latest "mark as contacted" (unix ms), "" when none
//	then, sorted by kind then id, one entry per contact ('c') and per
//	won deal with a close date ('d'): kind byte, id, value
//
// A contact's value is its last activity; a deal's is "<closed>,<amount>".
// Times are unix seconds, with ".nnnnnnnnn" when they have nanoseconds,
// so that the features computed from a summary are exactly those
// computed from the records (rules.Compute).

// summaryLua maintains summaries inside a script that defines p (the key
// prefix). sum_get(id) returns the parsed summary of id, cached for the
// script; sum_flush() writes the cached ones back.
const summaryLua = `
local SUM = p .. 'summary'
local sum_cache = {}
local function sum_parse(s)
  local t = {a = '', x = '', c = {}, d = {}}
  local i = 1
  local function ns()
    local colon = string.find(s, ':', i, true)
    local n = tonumber(string.sub(s, i, colon - 1))
    local v = string.sub(s, colon + 1, colon + n)
    i = colon + n + 1
    return v
  end
  t.a = ns()
  t.x = ns()
  while i <= #s do
    local kind = string.sub(s, i, i)
    i = i + 1
    local id = ns()
    t[kind][id] = ns()
  end
  return t
end
local function sum_encode(t)
  local parts, out = {}, {#t.a .. ':' .. t.a .. #t.x .. ':' .. t.x}
  for _, kind in ipairs({'c', 'd'}) do
    local ids = {}
    for id in pairs(t[kind]) do ids[#ids + 1] = id end
    table.sort(ids)
    for _, id in ipairs(ids) do
      local v = t[kind][id]
      out[#out + 1] = kind .. #id .. ':' .. id .. #v .. ':' .. v
      if #out == 100 then
        parts[#parts + 1] = table.concat(out)
        out = {}
      end
    end
  end
  parts[#parts + 1] = table.concat(out)
  return table.concat(parts)
end
local function sum_get(id)
  local t = sum_cache[id]
  if t then
    if t.gone then t.gone = nil end
    return t
  end
  local s = redis.call('HGET', SUM, id)
  if s then
    t = sum_parse(s)
  else
    t = {a = '', x = redis.call('GET', p .. 'contacted:' .. id) or '', c = {}, d = {}}
  end
  sum_cache[id] = t
  return t
end
local function sum_drop(id)
  sum_cache[id] = {gone = true, a = '', x = '', c = {}, d = {}}
end
local function sum_flush()
  local set, del = {}, {}
  for id, t in pairs(sum_cache) do
    if t.gone or (t.a == '' and t.x == '' and next(t.c) == nil and next(t.d) == nil) then
      del[#del + 1] = id
    else
      set[#set + 1] = id
      set[#set + 1] = sum_encode(t)
    end
  end
  for s = 1, #set, 1000 do redis.call('HSET', SUM, unpack(set, s, math.min(s + 999, #set))) end
  for s = 1, #del, 1000 do redis.call('HDEL', SUM, unpack(del, s, math.min(s + 999, #del))) end
  sum_cache = {}
end
`

// Summary is an account's summary decoded: its record, and what the
// features need of its contacts and deals. The record's JSON is decoded
// only when asked for (Client), since the portfolio-wide thresholds need
// only the deals (Sample).
type Summary struct {
	account string // the account's JSON
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

// Client returns the summary as a client whose contacts and deals carry
// only what the features read (dates and amounts, no ids, names or
// addresses): rules.Compute finds the same features in it as in the
// stored records. The account's latest activity includes the reps'
// "contacted" marks, as Clients does.
func (s *Summary) Client() (model.Client, error) {
	var c model.Client
	if err := s.decodeAccount(&c.Account); err != nil {
		return c, err
	}
	if s.Contacted.After(c.Account.LastActivityAt) {
		c.Account.LastActivityAt = s.Contacted
	}
	if len(s.ContactActivity) > 0 {
		c.Contacts = make([]model.Contact, len(s.ContactActivity))
		for i, t := range s.ContactActivity {
			c.Contacts[i].LastActivityAt = t
		}
	}
	if len(s.Won) > 0 {
		c.Deals = make([]model.Deal, len(s.Won))
		for i, d := range s.Won {
			c.Deals[i] = model.Deal{Won: true, ClosedAt: d.ClosedAt, Amount: d.Amount}
		}
	}
	return c, nil
}

// Deals returns the summary as a client with its won deals only: enough
// for the features the portfolio's thresholds are computed from
// (revenue_12m, purchases_12m, days_since_purchase), without decoding the
// account's record. dst is reused.
func (s *Summary) Deals(dst *model.Client) {
	dst.Deals = dst.Deals[:0]
	for _, d := range s.Won {
		dst.Deals = append(dst.Deals, model.Deal{Won: true, ClosedAt: d.ClosedAt, Amount: d.Amount})
	}
}

// decodeAccount decodes the account's record into a.
func (s *Summary) decodeAccount(a *model.Account) error {
	if s.account == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s.account), a); err != nil {
		return fmt.Errorf("decode account: %w", err)
	}
	return nil
}

// contactPart is what a contact's summary entry holds.
func contactPart(c *model.Contact) string { return timeText(c.LastActivityAt) }

// dealPart is what a deal's summary entry holds; "" for a deal the
// features ignore (not won, or without a close date).
func dealPart(d *model.Deal) string {
	if !d.Won || d.ClosedAt.IsZero() {
		return ""
	}
	return timeText(d.ClosedAt) + "," + strconv.FormatFloat(d.Amount, 'g', -1, 64)
}

// timeText encodes t exactly: unix seconds, then nanoseconds when any;
// "" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	s := strconv.FormatInt(t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		s += fmt.Sprintf(".%09d", ns)
	}
	return s
}

// parseTimeText decodes timeText.
func parseTimeText(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	sec, frac, _ := strings.Cut(s, ".")
	u, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	var ns int64
	if frac != "" {
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, fmt.Errorf("time %q: %w", s, err)
		}
	}
	return time.Unix(u, ns).UTC(), nil
}

// encodeSummary returns c's summary, as the Lua steps write it; contacted
// is the latest "mark as contacted" (ms), "" when none. Migrate and the
// tests use it.
func encodeSummary(c *model.Client, contacted string) (string, error) {
	acct, err := json.Marshal(c.Account)
	if err != nil {
		return "", err
	}
	return encodeSummaryRaw(string(acct), c, contacted)
}

// encodeSummaryRaw is encodeSummary with the account's JSON given ("" for
// none): c's contacts and deals make the entries.
func encodeSummaryRaw(acct string, c *model.Client, contacted string) (string, error) {
	var b strings.Builder
	putString(&b, acct)
	putString(&b, contacted)
	put := func(kind byte, id, v string) {
		b.WriteByte(kind)
		putString(&b, id)
		putString(&b, v)
	}
	contacts := slices.Clone(c.Contacts)
	slices.SortFunc(contacts, func(x, y model.Contact) int { return cmp.Compare(x.ID, y.ID) })
	for i := range contacts {
		put('c', contacts[i].ID, contactPart(&contacts[i]))
	}
	deals := slices.Clone(c.Deals)
	slices.SortFunc(deals, func(x, y model.Deal) int { return cmp.Compare(x.ID, y.ID) })
	for i := range deals {
		if v := dealPart(&deals[i]); v != "" {
			put('d', deals[i].ID, v)
		}
	}
	return b.String(), nil
}

func putString(b *strings.Builder, s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}

// errSummary is a summary that cannot be cut.
var errSummary = errors.New("malformed summary")

// cutString cuts the first length-prefixed string off s.
func cutString(s string) (v, rest string, err error) {
	n := 0
	i := 0
	for ; i < len(s) && s[i] != ':'; i++ {
		c := s[i]
		if c < '0' || c > '9' || i > 9 {
			return "", "", errSummary
		}
		n = n*10 + int(c-'0')
	}
	if i == 0 || i == len(s) || len(s)-i-1 < n {
		return "", "", errSummary
	}
	return s[i+1 : i+1+n], s[i+1+n:], nil
}

// decodeSummary decodes a summary. hasAccount is false when only
// contacts or deals are filed under the id.
func decodeSummary(s string, out *Summary) (hasAccount bool, err error) {
	acct, rest, err := cutString(s)
	if err != nil {
		return false, err
	}
	contacted, rest, err := cutString(rest)
	if err != nil {
		return false, err
	}
	*out = Summary{account: acct, ContactActivity: out.ContactActivity[:0], Won: out.Won[:0]}
	if contacted != "" {
		ms, err := strconv.ParseInt(contacted, 10, 64)
		if err != nil {
			return false, fmt.Errorf("contacted %q: %w", contacted, err)
		}
		out.Contacted = time.UnixMilli(ms).UTC()
	}
	for rest != "" {
		kind := rest[0]
		var v string
		if _, rest, err = cutString(rest[1:]); err != nil { // the id
			return false, err
		}
		if v, rest, err = cutString(rest); err != nil {
			return false, err
		}
		if err := out.addEntry(kind, v); err != nil {
			return false, err
		}
	}
	return acct != "", nil
}

// addEntry adds a contact's or a deal's entry to s.
func (s *Summary) addEntry(kind byte, v string) error {
	switch kind {
	case 'c':
		t, err := parseTimeText(v)
		if err != nil {
			return err
		}
		s.ContactActivity = append(s.ContactActivity, t)
	case 'd':
		at, amount, ok := strings.Cut(v, ",")
		if !ok {
			return errSummary
		}
		t, err := parseTimeText(at)
		if err != nil {
			return err
		}
		a, err := strconv.ParseFloat(amount, 64)
		if err != nil {
			return fmt.Errorf("amount %q: %w", amount, err)
		}
		s.Won = append(s.Won, WonDeal{ClosedAt: t, Amount: a})
	default:
		return errSummary
	}
	return nil
}

// summaryRangeScript returns the ids of the accounts in a range of the
// account index and their summaries, in one step.
var summaryRangeScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
if #ids == 0 then return {{}, {}} end
return {ids, redis.call('HMGET', KEYS[2], unpack(ids))}
`)

// SummaryRange calls fn with the summaries of the accounts from from
// (inclusive; "" for the first) to to (exclusive; "" for no end), in id
// order, reading batch of them per round trip. The Summary fn gets is
// reused: fn must copy what it keeps. An account whose summary is
// missing (a store written before summaries, see Migrate) is an error.
func (s *Records) SummaryRange(ctx context.Context, from, to string, batch int, fn func(ids []string, sums []Summary) error) error {
	lo, hi := "-", "+"
	if from != "" {
		lo = "[" + from
	}
	if to != "" {
		hi = "(" + to
	}
	batch = cmp.Or(batch, 1000)
	keys := []string{s.key("accounts"), s.key("summary")}
	var sums []Summary
	for {
		res, err := summaryRangeScript.Run(ctx, s.rdb, keys, lo, hi, batch).Slice()
		if err != nil {
			return fmt.Errorf("store: summaries: %w", err)
		}
		ids, vals := res[0].([]any), res[1].([]any)
		if len(ids) == 0 {
			return nil
		}
		sums = slices.Grow(sums[:0], len(ids))[:len(ids)]
		out := make([]string, len(ids))
		for i, v := range ids {
			out[i], _ = v.(string)
			raw, ok := vals[i].(string)
			if !ok {
				return fmt.Errorf("store: summaries: %s has none: run the store's migration", out[i])
			}
			if _, err := decodeSummary(raw, &sums[i]); err != nil {
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
