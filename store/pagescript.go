package store

import (
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/connectors"
)

// storePageScript writes an encoded page (see page.args) in one step, so
// that it is atomic without WATCH and costs one round trip: reading where
// each contact and deal was filed and moving it happen server-side.
//
// It keeps each touched account's summary (summary.go) in the same step.
// KEYS[1] is the account index; every other key is built from the prefix
// ARGV[1], so on Redis Cluster the namespace needs a hash tag (store doc).
// ARGV: prefix, source, then the counts of accounts, contacts, deals,
// owners, deletions, rejects and watermark fields, then the records:
// accounts (id, json), contacts and deals (id, account, json, summary
// entry: see summary.go), owners (id, json), deletions (entity, id), rejects (json), watermark (field, value).
var storePageScript = redis.NewScript(`
local p, src = ARGV[1], ARGV[2]
` + summaryLua + `
local na, nc, nd, no = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ndel, nrej, nwm = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local i = 10
local seen = nil
if redis.call('EXISTS', p .. 'sweep:' .. src) == 1 then seen = p .. 'sweep:' .. src .. ':seen:' end

local function mark(entity, items)
  if not seen then return end
  for s = 1, #items, 1000 do
    redis.call('SADD', seen .. entity, unpack(items, s, math.min(s + 999, #items)))
  end
end

local ids, zadd = {}, {}
for _ = 1, na do
  local id = ARGV[i]
  sum_get(id).a = ARGV[i + 1]
  zadd[#zadd + 1] = 0
  zadd[#zadd + 1] = id
  ids[#ids + 1] = id
  i = i + 2
end
for s = 1, #zadd, 1000 do
  redis.call('ZADD', KEYS[1], unpack(zadd, s, math.min(s + 999, #zadd)))
end
mark('a', ids)

local function filed(kind, hash, entity, n, sk)
  local stored = {}
  for _ = 1, n do
    local id, acct, part = ARGV[i], ARGV[i + 1], ARGV[i + 3]
    local ptr = p .. kind .. ':' .. id
    local old = redis.call('GET', ptr)
    if old and old ~= '' and old ~= acct then
      redis.call('HDEL', p .. hash .. ':' .. old, id)
      sum_get(old)[sk][id] = nil
    end
    if acct ~= '' then
      redis.call('HSET', p .. hash .. ':' .. acct, id, ARGV[i + 2])
      if sk == 'd' and part == '' then sum_get(acct).d[id] = nil else sum_get(acct)[sk][id] = part end
    end
    redis.call('SET', ptr, acct)
    stored[#stored + 1] = id
    i = i + 4
  end
  mark(entity, stored)
end
filed('contact', 'contacts', 'c', nc, 'c')
filed('deal', 'deals', 'd', nd, 'd')

for _ = 1, no do
  redis.call('SET', p .. 'owner:' .. ARGV[i], ARGV[i + 1])
  i = i + 2
end

local function unfile(kind, hash, id)
  local ptr = p .. kind .. ':' .. id
  local old = redis.call('GET', ptr)
  if old and old ~= '' then
    redis.call('HDEL', p .. hash .. ':' .. old, id)
    sum_get(old)[string.sub(kind, 1, 1)][id] = nil
  end
  redis.call('DEL', ptr)
end
for _ = 1, ndel do
  local e, id = ARGV[i], ARGV[i + 1]
  if e == 'account' then
    for _, kind in ipairs({'contact', 'deal'}) do
      for _, rid in ipairs(redis.call('HKEYS', p .. kind .. 's:' .. id)) do
        local ptr = p .. kind .. ':' .. rid
        if redis.call('GET', ptr) == id then redis.call('DEL', ptr) end
      end
    end
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', p .. 'acct:' .. id, p .. 'contacts:' .. id, p .. 'deals:' .. id)
    sum_drop(id)
  elseif e == 'contact' then unfile('contact', 'contacts', id)
  elseif e == 'deal' then unfile('deal', 'deals', id)
  elseif e == 'owner' then redis.call('DEL', p .. 'owner:' .. id)
  end
  i = i + 2
end

if nrej > 0 then
  local list = p .. 'rejects:' .. src
  for s = i, i + nrej - 1, 500 do
    redis.call('LPUSH', list, unpack(ARGV, s, math.min(s + 499, i + nrej - 1)))
  end
  redis.call('LTRIM', list, 0, tonumber(ARGV[i + nrej]) - 1)
  redis.call('INCRBY', p .. 'rejects-total:' .. src, nrej)
  i = i + nrej + 1
end

sum_flush()

local wm = p .. 'watermark:' .. src
redis.call('DEL', wm)
if nwm > 0 then redis.call('HSET', wm, unpack(ARGV, i, i + 2 * nwm - 1)) end
return 1
`)

// args lays the page out as storePageScript's ARGV.
func (p page) args(prefix, source string, wm connectors.Watermark) []any {
	n := 9 + 2*len(p.accounts) + 4*len(p.contacts) + 4*len(p.deals) + 2*len(p.owners) +
		2*len(p.deleted) + len(p.rejects) + 1 + 2*len(wm)
	a := make([]any, 0, n)
	a = append(a, prefix, source, len(p.accounts), len(p.contacts), len(p.deals), len(p.owners),
		len(p.deleted), len(p.rejects), len(wm))
	for _, r := range p.accounts {
		a = append(a, r.id, r.json)
	}
	for _, r := range p.contacts {
		a = append(a, r.id, r.account, r.json, r.part)
	}
	for _, r := range p.deals {
		a = append(a, r.id, r.account, r.json, r.part)
	}
	for _, r := range p.owners {
		a = append(a, r.id, r.json)
	}
	for _, d := range p.deleted {
		a = append(a, d.Entity, d.ID)
	}
	a = append(a, p.rejects...)
	if len(p.rejects) > 0 {
		a = append(a, strconv.Itoa(MaxRejects))
	}
	for k, v := range wm {
		a = append(a, k, v)
	}
	return a
}
