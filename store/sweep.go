package store

import (
	"context"
	"errors"
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

// BeginSweepIfStored opens a sweep for source (BeginSweep) when the
// store holds an account of it, and reports whether it did. A sweep of
// a source with nothing stored would remove nothing, since every record
// stored meanwhile is seen, and marking each one seen is most of what
// Redis does in a first sync.
func (s *Records) BeginSweepIfStored(ctx context.Context, source string, at time.Time) (bool, error) {
	stored, err := s.HasAccounts(ctx, source)
	if err != nil || !stored {
		return false, err
	}
	return true, s.BeginSweep(ctx, source, at)
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

// sweepReadScript reads up to ARGV[3] accounts of the index KEYS[1] in
// the lex range [ARGV[1], ARGV[2]]: their ids, bundles (KEYS[2]) and
// whether each was seen (the set KEYS[3]).
var sweepReadScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
if #ids == 0 then return {{}, {}, {}} end
return {ids, redis.call('HMGET', KEYS[2], unpack(ids)), redis.call('SMISMEMBER', KEYS[3], unpack(ids))}
`)

// sweep walks the source's accounts by id (ids are "source:external", so
// the source's are a range) and removes what was not seen: an account not
// seen goes with everything filed under it; of the others, the contacts
// and deals not seen go. Contacts and deals are found through the
// accounts they are filed under: one filed under no stored account is out
// of the portfolio already. A pointer is only removed while it still
// points at the account swept (a record that moved stays).
func (s *Records) sweep(ctx context.Context, source string) (SweepStats, error) {
	var st SweepStats
	lower, upper := "["+source+":", "("+source+";" // ';' follows ':'
	for {
		var last string
		var err error
		for attempt := 0; ; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return st, err
				}
			}
			var got SweepStats
			if last, got, err = s.sweepStep(ctx, source, lower, upper); !errors.Is(err, errConflict) || attempt == storeAttempts {
				st.Accounts, st.Contacts, st.Deals = st.Accounts+got.Accounts, st.Contacts+got.Contacts, st.Deals+got.Deals
				break
			}
		}
		if err != nil || last == "" {
			return st, err
		}
		lower = "(" + last
	}
}

// sweepStep sweeps the next sweepBatch accounts from lower and returns
// the last id it looked at ("" when none).
func (s *Records) sweepStep(ctx context.Context, source, lower, upper string) (string, SweepStats, error) {
	var st SweepStats
	seen := s.seenKeys(source)
	res, err := sweepReadScript.Run(ctx, s.rdb, []string{s.key("accounts"), s.key("records"), seen[0]}, lower, upper, sweepBatch).Slice()
	if err != nil {
		return "", st, err
	}
	ids, vals, kept := res[0].([]any), res[1].([]any), res[2].([]any)
	if len(ids) == 0 {
		return "", st, nil
	}
	ch := newChange(len(ids), 0)
	var contacts, deals []any
	for i, v := range ids {
		id := v.(string)
		ch.tokens[id] = ""
		raw, ok := vals[i].(string)
		if !ok {
			continue
		}
		b, err := parseBundle(raw)
		if err != nil {
			return "", st, fmt.Errorf("%s: %w", id, err)
		}
		ch.readBundle(id, b)
		for _, e := range b.contacts {
			contacts = append(contacts, e.id)
		}
		for _, e := range b.deals {
			deals = append(deals, e.id)
		}
	}
	seenC, seenD, err := s.seenOf(ctx, seen[1:], contacts, deals)
	if err != nil {
		return "", st, err
	}
	for i, v := range ids {
		id := v.(string)
		b := ch.bundles[id]
		if b == nil {
			continue
		}
		nc, nd := st.Contacts, st.Deals
		for _, e := range b.contacts {
			if !seenC[e.id] {
				st.Contacts++
			}
		}
		for _, e := range b.deals {
			if !seenD[e.id] {
				st.Deals++
			}
		}
		if n, _ := kept[i].(int64); n == 0 {
			ch.dropBundle(id)
			st.Accounts++
			continue
		}
		if st.Contacts != nc || st.Deals != nd {
			sweepEntries(ch, id, seenC, seenD)
		}
	}
	if len(ch.edited) > 0 {
		if err := s.readDrops(ctx, ch, source); err != nil {
			return "", SweepStats{}, err
		}
		if err := s.write(ctx, source, ch); err != nil {
			return "", SweepStats{}, err
		}
	}
	return ids[len(ids)-1].(string), st, nil
}

// sweepEntries removes from id's bundle the contacts and deals not seen.
func sweepEntries(ch *change, id string, seenC, seenD map[string]bool) {
	b := ch.bundle(id)
	for _, l := range []struct {
		kind    byte
		entries *[]filedEntry
		seen    map[string]bool
	}{{'c', &b.contacts, seenC}, {'d', &b.deals, seenD}} {
		var keep []filedEntry
		for _, e := range *l.entries {
			if l.seen[e.id] {
				keep = append(keep, e)
			} else {
				ch.drops[filedField(l.kind, e.id)] = id
			}
		}
		*l.entries = keep
	}
}

// seenOf reports which of contacts and deals were seen since the sweep
// began, in one round trip.
func (s *Records) seenOf(ctx context.Context, keys []string, contacts, deals []any) (seenC, seenD map[string]bool, err error) {
	var cmds [2]*redis.BoolSliceCmd
	_, err = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, ids := range [][]any{contacts, deals} {
			if len(ids) > 0 {
				cmds[i] = pipe.SMIsMember(ctx, keys[i], ids...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	out := [2]map[string]bool{{}, {}}
	for i, ids := range [][]any{contacts, deals} {
		if cmds[i] == nil {
			continue
		}
		for j, ok := range cmds[i].Val() {
			if ok {
				out[i][ids[j].(string)] = true
			}
		}
	}
	return out[0], out[1], nil
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
