package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/connectors"
)

// writeScript writes a change (see change.args) in one step, if nothing
// it read has changed since: every bundle it writes still has the token
// it had when read, and every pointer pack it writes is still as read.
// It returns 0, writing nothing, when one has changed, else 1. KEYS[1] is
// the account index, KEYS[2] <ns>:records, KEYS[3] <ns>:features (features.go);
// other keys are built from the prefix ARGV[1], so on Redis Cluster the
// namespace needs a hash tag (store doc).
var writeScript = redis.NewScript(`
local p, src, REC = ARGV[1], ARGV[2], KEYS[2]
local c = {}
for j = 1, 11 do c[j] = tonumber(ARGV[2 + j]) end
local i = 14
for _ = 1, c[1] do
  local v = redis.call('HGET', REC, ARGV[i])
  if (v and string.sub(v, 1, 8) or '') ~= ARGV[i + 1] then return 0 end
  i = i + 2
end
local packs = i
for _ = 1, c[2] do
  if (redis.call('HGET', p .. 'ptrs:' .. ARGV[i], ARGV[i + 1]) or '') ~= ARGV[i + 2] then return 0 end
  i = i + 4
end
redis.call('SET', p .. 'stored:' .. src, '1')
for j = packs, i - 1, 4 do
  local k = p .. 'ptrs:' .. ARGV[j]
  if ARGV[j + 3] == '' then
    redis.call('HDEL', k, ARGV[j + 1])
  else
    redis.call('HSET', k, ARGV[j + 1], ARGV[j + 3])
  end
end
local function chunked(cmd, key, list)
  for s = 1, #list, 1000 do redis.call(cmd, key, unpack(list, s, math.min(s + 999, #list))) end
end
local hset, hdel, zadd, zrem, wset, wdel = {}, {}, {}, {}, {}, {}
for _ = 1, c[3] do
  hset[#hset + 1] = ARGV[i]
  hset[#hset + 1] = ARGV[i + 1]
  if ARGV[i + 2] == '1' then
    zadd[#zadd + 1] = 0
    zadd[#zadd + 1] = ARGV[i]
  elseif ARGV[i + 2] == '0' then
    zrem[#zrem + 1] = ARGV[i]
  end
  local w = ARGV[i + 3]
  if w ~= '' then
    wset[#wset + 1] = ARGV[i]
    wset[#wset + 1] = w
  else
    wdel[#wdel + 1] = ARGV[i]
  end
  i = i + 4
end
for _ = 1, c[4] do
  hdel[#hdel + 1] = ARGV[i]
  zrem[#zrem + 1] = ARGV[i]
  wdel[#wdel + 1] = ARGV[i]
  i = i + 1
end
chunked('HSET', REC, hset)
chunked('HDEL', REC, hdel)
chunked('ZADD', KEYS[1], zadd)
chunked('ZREM', KEYS[1], zrem)
chunked('HSET', KEYS[3], wset)
chunked('HDEL', KEYS[3], wdel)
for _ = 1, c[5] do
  redis.call('SET', p .. 'owner:' .. ARGV[i], ARGV[i + 1])
  i = i + 2
end
for _ = 1, c[6] do
  redis.call('DEL', p .. 'owner:' .. ARGV[i])
  i = i + 1
end
local sweeping = c[7] + c[8] + c[9] > 0 and redis.call('EXISTS', p .. 'sweep:' .. src) == 1
for j, e in ipairs({'a', 'c', 'd'}) do
  local n = c[6 + j]
  if sweeping and n > 0 then
    for s = i, i + n - 1, 1000 do
      redis.call('SADD', p .. 'sweep:' .. src .. ':seen:' .. e, unpack(ARGV, s, math.min(s + 999, i + n - 1)))
    end
  end
  i = i + n
end
if c[10] > 0 then
  local list = p .. 'rejects:' .. src
  for s = i, i + c[10] - 1, 500 do
    redis.call('LPUSH', list, unpack(ARGV, s, math.min(s + 499, i + c[10] - 1)))
  end
  redis.call('LTRIM', list, 0, tonumber(ARGV[i + c[10]]) - 1)
  redis.call('INCRBY', p .. 'rejects-total:' .. src, c[10])
  i = i + c[10] + 1
end
if c[11] >= 0 then
  local wm = p .. 'watermark:' .. src
  redis.call('DEL', wm)
  if c[11] > 0 then redis.call('HSET', wm, unpack(ARGV, i, i + 2 * c[11] - 1)) end
end
return 1
`)

// change is one atomic write of records: the bundles and pointers it
// read (and checks), what it writes, and a page's owners, seen marks,
// rejects and watermark.
type change struct {
	bundles map[string]*bundle // by account id, as read then edited
	tokens  map[string]string  // the token of each bundle read ("" for none)
	edited  map[string]bool    // bundles to write
	indexed map[string]bool    // bundles read with an account (in the account index)
	ptrs    map[string]string  // filed field → the account read ("" for none)
	newPtrs map[string]string  // filed field → its account now ("" for none)
	drops   map[string]string  // filed field → the account it goes from, if still there

	// packs holds each pointer pack read (packs.go), as read then
	// overlaid ("" for none); packFields the fields read of each, whose
	// ptrs an overlay sets again; writtenPacks, once laid out, what each
	// pack edited becomes ("" when it goes), for the overlay of pages
	// planned while this one is written.
	packs        map[string]string
	packFields   map[string][]string
	writtenPacks map[string]string

	// written holds, once laid out (lay), the value each edited bundle
	// gets ("" when it goes): what a page planned while this one is
	// written takes as read (overlay).
	written map[string]string
	// after are the changes queued before this one whose writes its
	// reads may not have seen, oldest first (PageWriter); its reads are
	// overlaid with them.
	after []*change

	sweeping  bool        // a sweep of the source is open: mark what is seen
	sweepRead bool        // sweeping was read
	known     *knownIDs   // what the sync wrote, when nothing else is stored (fetch); nil: read all
	owners    [][2]string // id, JSON
	ownerDel  []string
	seen      [3][]string // accounts, contacts, deals
	rejects   []any
	wm        connectors.Watermark
	setWM     bool
}

// newChange returns an empty change sized for a page that reads ids
// bundles and fields pointers: a page of a few thousand rows spent a
// tenth of its planning growing these maps.
func newChange(ids, fields int) *change {
	return &change{
		bundles: make(map[string]*bundle, ids), tokens: make(map[string]string, ids), edited: make(map[string]bool, ids),
		indexed: make(map[string]bool, ids),
		ptrs:    make(map[string]string, fields), newPtrs: make(map[string]string, fields), drops: map[string]string{},
		packs: make(map[string]string, fields/4), packFields: make(map[string][]string, fields/4),
	}
}

// read reads the bundles of ids and the pointers of fields the change has
// not read yet, and whether a sweep of source is open (ch.sweeping), in
// one transaction of plain commands: its reads are one snapshot, and
// Redis hands the values straight back (Lua would copy every one into a
// table of its own, which cost more than the reads).
func (s *Records) read(ctx context.Context, ch *change, source string, ids, fields []string) error {
	ask, asked, err := s.fetch(ctx, ch, source, ids, fields)
	if err != nil {
		return err
	}
	return ch.overlay(ask, asked)
}

// fetch is read without the overlay: it returns the ids of the bundles
// and the prefixes of the pointer packs it asked Redis about, for overlay.
// A pointer is read with its pack, once per change. With ch.known, it asks
// only about those known may have written, and takes the others as
// absent: the source held no records before the sync that knows them
// (PageWriter.claim), so only what the sync wrote is there, and what it
// has queued (the overlay).
func (s *Records) fetch(ctx context.Context, ch *change, source string, ids, fields []string) (ask, asked []string, _ error) {
	for _, id := range ids {
		if _, ok := ch.tokens[id]; !ok {
			ch.tokens[id] = "" // asked once
			if ch.known == nil || ch.known.has(id) {
				ask = append(ask, id)
			}
		}
	}
	var fresh []string // the fields read now
	for _, f := range fields {
		if _, ok := ch.ptrs[f]; ok {
			continue
		}
		fresh = append(fresh, f)
		p := packPrefix(f)
		if _, ok := ch.packs[p]; !ok {
			ch.packs[p] = ""
			if ch.known == nil || ch.known.has(p) {
				asked = append(asked, p)
			}
		}
		ch.packFields[p] = append(ch.packFields[p], f)
	}
	if len(ask) > 0 || len(asked) > 0 || !ch.sweepRead && len(ids)+len(fields) > 0 {
		ch.sweepRead = true // even when known leaves nothing to ask: the page's seen marks need it
		if err := s.fetchRedis(ctx, ch, source, ask, asked); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range fresh {
		if err := ch.readPtr(f); err != nil {
			return nil, nil, err
		}
	}
	return ask, asked, nil
}

// fetchRedis reads the bundles of ids and the packs of prefixes into
// ch, and whether a sweep of source is open, in one transaction.
func (s *Records) fetchRedis(ctx context.Context, ch *change, source string, ids, prefixes []string) error {
	order, buckets := groupPacks(prefixes)
	var bundles, packs []*redis.SliceCmd
	var sweep *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for from := 0; from < len(ids); from += 1000 {
			bundles = append(bundles, p.HMGet(ctx, s.key("records"), ids[from:min(from+1000, len(ids))]...))
		}
		for _, g := range buckets {
			packs = append(packs, p.HMGet(ctx, s.key("ptrs", g.bucket), g.prefixes...))
		}
		sweep = p.Exists(ctx, s.key("sweep", source))
		return nil
	})
	if err != nil {
		return err
	}
	ch.sweeping = sweep.Val() == 1
	i := 0
	for _, c := range bundles {
		for _, v := range c.Val() {
			id := ids[i]
			i++
			raw, ok := v.(string)
			if !ok {
				continue
			}
			b, err := parseBundle(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			ch.readBundle(id, b)
		}
	}
	i = 0
	for _, c := range packs {
		for _, v := range c.Val() {
			ch.packs[order[i]], _ = v.(string)
			i++
		}
	}
	return nil
}

// readPtr sets the account field f was read filed under from its pack.
func (ch *change) readPtr(f string) error {
	acct, err := packLookup(ch.packs[packPrefix(f)], f[len(f)-1])
	if err != nil {
		return fmt.Errorf("%s: %w", f, err)
	}
	ch.ptrs[f] = acct
	return nil
}

// overlay makes what the change read of ids (bundles) and prefixes
// (pointer packs) what the changes in ch.after leave there once written,
// applied oldest first: Redis may have run any number of their writes
// before the read (they run in order), and a write leaves the same
// whether it ran before the read or after.
func (ch *change) overlay(ids, prefixes []string) error {
	for _, prev := range ch.after {
		if err := ch.overlayOne(prev, ids, prefixes); err != nil {
			return err
		}
	}
	return nil
}

// overlayOne overlays what the change read of ids and prefixes with
// prev's writes.
func (ch *change) overlayOne(prev *change, ids, prefixes []string) error {
	for _, id := range ids {
		v, ok := prev.written[id]
		switch {
		case !ok:
		case v == "":
			delete(ch.bundles, id)
			delete(ch.indexed, id)
			ch.tokens[id] = ""
		default:
			b, err := parseBundle(v)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			ch.readBundle(id, b)
		}
	}
	for _, p := range prefixes {
		v, ok := prev.writtenPacks[p]
		if !ok {
			continue
		}
		ch.packs[p] = v
		for _, f := range ch.packFields[p] {
			if err := ch.readPtr(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// readBundle takes b as the stored bundle of id, as read.
func (ch *change) readBundle(id string, b *bundle) {
	ch.bundles[id], ch.tokens[id] = b, b.token
	if b.account != "" {
		ch.indexed[id] = true
	} else {
		delete(ch.indexed, id) // an overlay may follow a read that had one
	}
}

// bundle returns the bundle of id to edit (read before), marking it
// written.
func (ch *change) bundle(id string) *bundle {
	b := ch.bundles[id]
	if b == nil {
		b = &bundle{}
		ch.bundles[id] = b
	}
	ch.edited[id] = true
	return b
}

// filedUnder is where field is filed now, after the change's edits.
func (ch *change) filedUnder(field string) string {
	if v, ok := ch.newPtrs[field]; ok {
		return v
	}
	return ch.ptrs[field]
}

// file files the filedEntry of a contact ('c') or deal ('d') under account
// ("" for none), unfiling it from where it was.
func (ch *change) file(kind byte, account string, e filedEntry) {
	field := filedField(kind, e.id)
	if old := ch.filedUnder(field); old != "" && old != account {
		ch.unfile(kind, old, e.id)
	}
	if account != "" {
		b := ch.bundle(account)
		if kind == 'c' {
			b.contacts = put(b.contacts, e)
		} else {
			b.deals = put(b.deals, e)
		}
	}
	ch.newPtrs[field] = account
}

// unfile removes a contact's or deal's filedEntry from account's bundle.
func (ch *change) unfile(kind byte, account, id string) {
	b := ch.bundle(account)
	if kind == 'c' {
		b.contacts = remove(b.contacts, id)
	} else {
		b.deals = remove(b.deals, id)
	}
}

// dropBundle removes everything filed under id; the pointers of its
// contacts and deals go, unless they point elsewhere by then.
func (ch *change) dropBundle(id string) {
	b := ch.bundle(id)
	for _, l := range []struct {
		kind    byte
		entries []filedEntry
	}{{'c', b.contacts}, {'d', b.deals}} {
		for _, e := range l.entries {
			f := filedField(l.kind, e.id)
			if v, ok := ch.newPtrs[f]; ok {
				if v == id {
					ch.newPtrs[f] = ""
				}
			} else {
				ch.drops[f] = id
			}
		}
	}
	*b = bundle{token: b.token}
}

// errConflict is a write whose reads another writer changed meanwhile.
var errConflict = errors.New("records changed meanwhile")

// write runs the change; errConflict when something it read changed.
func (s *Records) write(ctx context.Context, source string, ch *change) error {
	args, err := ch.args(s.key(), source)
	if err != nil {
		return err
	}
	return s.runWrite(ctx, args)
}

// runWrite runs writeScript with the args of a change (change.args).
func (s *Records) runWrite(ctx context.Context, args []any) error {
	ok, err := writeScript.Run(ctx, s.rdb, []string{s.key("accounts"), s.key("records"), s.key("features")}, args...).Int()
	if err != nil {
		return err
	}
	if ok == 0 {
		return errConflict
	}
	return nil
}

// layout is a change laid out once, for either way of writing it:
// writeScript, which checks the tokens read, or a MULTI fenced by the
// source's sync lock (fenced.go).
type layout struct {
	sets  []bundleSet
	dels  []string    // bundles that go
	packs []packWrite // pointer packs written
}

// remember adds to known every bundle and pointer pack the layout
// writes or removes.
func (l *layout) remember(known *knownIDs) {
	for _, b := range l.sets {
		known.add(b.id)
	}
	for _, id := range l.dels {
		known.add(id)
	}
	for _, p := range l.packs {
		known.add(p.prefix)
	}
}

// bundleSet is a bundle written: its value, what happens to the account
// index ("1" added, "0" removed, "-" left) and its features record
// (features.go; "" for none).
type bundleSet struct{ id, value, indexed, features string }

// lay lays the change out, and records in ch.written what each edited
// bundle becomes.
func (ch *change) lay() (layout, error) {
	var l layout
	ch.written = make(map[string]string, len(ch.edited))
	for id := range ch.edited {
		b := ch.bundles[id]
		switch {
		case !b.empty():
			f, err := b.features(id)
			if err != nil {
				return l, fmt.Errorf("%s: %w", id, err)
			}
			v := b.encode()
			ch.written[id] = v
			l.sets = append(l.sets, bundleSet{id: id, value: v, indexed: ch.indexChange(id, b), features: f})
		case ch.tokens[id] != "":
			l.dels = append(l.dels, id)
			ch.written[id] = ""
		default:
			ch.written[id] = ""
		}
	}
	packs, err := ch.layPacks()
	if err != nil {
		return l, err
	}
	l.packs = packs
	return l, nil
}

// args lays the change out as writeScript's ARGV.
func (ch *change) args(prefix, source string) ([]any, error) {
	l, err := ch.lay()
	if err != nil {
		return nil, err
	}
	checks := make([]any, 0, 2*len(ch.edited))
	for id := range ch.edited {
		checks = append(checks, id, ch.tokens[id])
	}
	nwm := -1
	if ch.setWM {
		nwm = len(ch.wm)
	}
	a := []any{prefix, source, len(checks) / 2, len(l.packs), len(l.sets), len(l.dels),
		len(ch.owners), len(ch.ownerDel), len(ch.seen[0]), len(ch.seen[1]), len(ch.seen[2]),
		len(ch.rejects), nwm}
	a = append(a, checks...)
	for _, p := range l.packs {
		a = append(a, p.bucket, p.prefix, p.read, p.value)
	}
	for _, s := range l.sets {
		a = append(a, s.id, s.value, s.indexed, s.features)
	}
	for _, id := range l.dels {
		a = append(a, id)
	}
	for _, o := range ch.owners {
		a = append(a, o[0], o[1])
	}
	for _, id := range ch.ownerDel {
		a = append(a, id)
	}
	for _, l := range ch.seen {
		for _, id := range l {
			a = append(a, id)
		}
	}
	a = append(a, ch.rejects...)
	if len(ch.rejects) > 0 {
		a = append(a, strconv.Itoa(MaxRejects))
	}
	if ch.setWM {
		for k, v := range ch.wm {
			a = append(a, k, v)
		}
	}
	return a, nil
}

// indexChange says what writeScript does to the account index for the
// bundle b of id: "1" adds it (it has an account, and had none when
// read), "0" removes it (the other way round), "-" leaves it.
func (ch *change) indexChange(id string, b *bundle) string {
	switch now := b.account != ""; {
	case now && !ch.indexed[id]:
		return "1"
	case !now && ch.indexed[id]:
		return "0"
	}
	return "-"
}

// packGroup is pointer packs that share a bucket.
type packGroup struct {
	bucket   string
	prefixes []string
}

// groupPacks groups the packs of prefixes by bucket, buckets in the order
// first seen. It returns the groups and the prefixes in their order.
func groupPacks(prefixes []string) (order []string, groups []packGroup) {
	at := make(map[uint32]int, len(prefixes)/4)
	for _, p := range prefixes {
		h := fieldHash(p) % filedBuckets
		i, ok := at[h]
		if !ok {
			i = len(groups)
			at[h] = i
			groups = append(groups, packGroup{bucket: bucketName(h)})
		}
		groups[i].prefixes = append(groups[i].prefixes, p)
	}
	order = make([]string, 0, len(prefixes))
	for _, g := range groups {
		order = append(order, g.prefixes...)
	}
	return order, groups
}
