package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A sweep removes the records a CRM deleted without saying so (a hard
// delete, or a delete older than the CRM's delete log). It brackets a full
// sync: BeginSweep opens it, every page stored meanwhile marks its
// accounts, contacts and deals as seen (storePageScript), and EndSweep
// removes the source's accounts not seen, and the contacts and deals not
// seen from the accounts they are filed under. An interrupted full sync
// leaves the sweep open, so the resumed sync goes on marking. Owners are
// never swept: a departed rep's name and email still label history.

// sweepBatch is how many accounts one step of EndSweep looks at.
const sweepBatch = 1000

func (s conn) sweepKey(source string) string { return s.key("sweep", source) }

// seenKeys are the sets of ids seen since BeginSweep: accounts, contacts,
// deals (separate sets: two kinds of record may share a CRM id).
func (s conn) seenKeys(source string) []string {
	return []string{s.key("sweep", source, "seen", "a"), s.key("sweep", source, "seen", "c"), s.key("sweep", source, "seen", "d")}
}

// BeginSweep opens a sweep for source, forgetting any earlier one.
func (s *Records) BeginSweep(ctx context.Context, source string, at time.Time) error {
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, s.seenKeys(source)...)
		pipe.Set(ctx, s.sweepKey(source), at.UnixMilli(), 0)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: begin sweep: %w", err)
	}
	return nil
}

// Sweeping reports whether a sweep is open for source.
func (s *Records) Sweeping(ctx context.Context, source string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.sweepKey(source)).Result()
	if err != nil {
		return false, fmt.Errorf("store: sweeping: %w", err)
	}
	return n > 0, nil
}

// SweepStats counts what EndSweep removed.
type SweepStats struct {
	Accounts, Contacts, Deals int
}

// EndSweep removes the source's accounts, contacts and deals not seen
// since BeginSweep and closes the sweep. Without an open sweep it does
// nothing.
func (s *Records) EndSweep(ctx context.Context, source string) (SweepStats, error) {
	open, err := s.Sweeping(ctx, source)
	if err != nil || !open {
		return SweepStats{}, err
	}
	st, err := s.sweep(ctx, source)
	if err != nil {
		return st, fmt.Errorf("store: end sweep: %w", err)
	}
	if err := s.rdb.Del(ctx, append(s.seenKeys(source), s.sweepKey(source))...).Err(); err != nil {
		return st, fmt.Errorf("store: end sweep: %w", err)
	}
	return st, nil
}

// sweepScript sweeps up to ARGV[3] accounts of the index KEYS[4] in the
// lex range [ARGV[1], ARGV[2]]: an account not in the seen set KEYS[1]
// goes with its contacts and deals hashes; the contacts and deals not in
// KEYS[2] and KEYS[3] go (and are counted), whatever their account. A pointer is only removed while it
// still points at the account swept (a record that moved stays). ARGV[4]
// is the key prefix. It returns the last id looked at ("" when none) and
// how many accounts, contacts and deals went.
var sweepScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYLEX', KEYS[4], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local p = ARGV[4]
` + summaryLua + `
local function sweepHash(hash, kind, seen, acct, all)
  local h = p .. hash .. ':' .. acct
  local members = redis.call('HKEYS', h)
  local n = 0
  for s = 1, #members, 1000 do
    local part = {unpack(members, s, math.min(s + 999, #members))}
    local kept = redis.call('SMISMEMBER', seen, unpack(part))
    for j, id in ipairs(part) do
      if kept[j] == 0 then
        if not all then
          redis.call('HDEL', h, id)
          sum_get(acct)[string.sub(kind, 1, 1)][id] = nil
        end
        local ptr = p .. kind .. ':' .. id
        if redis.call('GET', ptr) == acct then redis.call('DEL', ptr) end
        n = n + 1
      end
    end
  end
  return n
end
local ra, rc, rd = 0, 0, 0
if #ids > 0 then
  local seen = redis.call('SMISMEMBER', KEYS[1], unpack(ids))
  for j, id in ipairs(ids) do
    local gone = seen[j] == 0
    rc = rc + sweepHash('contacts', 'contact', KEYS[2], id, gone)
    rd = rd + sweepHash('deals', 'deal', KEYS[3], id, gone)
    if gone then
      redis.call('ZREM', KEYS[4], id)
      redis.call('DEL', p .. 'acct:' .. id, p .. 'contacts:' .. id, p .. 'deals:' .. id)
      sum_drop(id)
      ra = ra + 1
    end
  end
end
sum_flush()
return {ids[#ids] or '', ra, rc, rd}
`)

// sweep walks the source's accounts by id (ids are "source:external", so
// the source's are a range) and removes what was not seen. Contacts and
// deals are found through the accounts they are filed under: one filed
// under no stored account is out of the portfolio already.
func (s *Records) sweep(ctx context.Context, source string) (SweepStats, error) {
	var st SweepStats
	lower, upper := "["+source+":", "("+source+";" // ';' follows ':'
	keys := append(s.seenKeys(source), s.key("accounts"))
	for {
		res, err := sweepScript.Run(ctx, s.rdb, keys, lower, upper, sweepBatch, s.key()).Slice()
		if err != nil {
			return st, err
		}
		last, _ := res[0].(string)
		for i, n := range []*int{&st.Accounts, &st.Contacts, &st.Deals} {
			v, _ := res[i+1].(int64)
			*n += int(v)
		}
		if last == "" {
			return st, nil
		}
		lower = "(" + last
	}
}

// HasAccounts reports whether any account of source is stored: a sync
// from scratch into a store without any has nothing to sweep.
func (s *Records) HasAccounts(ctx context.Context, source string) (bool, error) {
	ids, err := s.rdb.ZRangeByLex(ctx, s.key("accounts"), &redis.ZRangeBy{Min: "[" + source + ":", Max: "(" + source + ";", Count: 1}).Result()
	if err != nil {
		return false, fmt.Errorf("store: has accounts: %w", err)
	}
	return len(ids) > 0, nil
}
