package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A rep's "mark as contacted" is kept twice: in <ns>:contacted:<id>, which
// Clients reads by id, and as a member "<id>\x00<ms>" of the sorted set
// <ns>:contacted-marks (all scores 0, so ordered by id), which a pass
// reads by id range: one ZRANGE BYLEX per batch of summaries finds the
// few marked accounts of a thousand, where an MGET of a thousand keys
// would find a thousand nils.

func (s conn) contactedMarksKey() string { return s.key("contacted-marks") }

// contactedScript keeps the later of KEYS[1] and ARGV[1] (unix ms), and
// the member ARGV[2] "\0" ms of KEYS[2] that indexes it.
var contactedScript = redis.NewScript(`
local raw = redis.call('GET', KEYS[1])
local v = tonumber(raw)
if v and v >= tonumber(ARGV[1]) then return 0 end
if raw then redis.call('ZREM', KEYS[2], ARGV[2] .. '\0' .. raw) end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[2] .. '\0' .. ARGV[1])
return 1
`)

// MarkContacted records that a rep contacted the account at at (a click on
// "Mark as contacted"): it counts as the account's latest activity, so
// days_inactive starts again from it until the CRM reports a later one.
func (s *Records) MarkContacted(ctx context.Context, accountID string, at time.Time) error {
	keys := []string{s.key("contacted", accountID), s.contactedMarksKey()}
	if err := contactedScript.Run(ctx, s.rdb, keys, at.UnixMilli(), accountID).Err(); err != nil {
		return fmt.Errorf("store: mark contacted: %w", err)
	}
	return nil
}

// queueMarks queues on p the read of the "contacted" marks of the
// accounts from first to last (inclusive, in id order).
func (s *Records) queueMarks(ctx context.Context, p redis.Pipeliner, first, last string) *redis.StringSliceCmd {
	return p.ZRangeByLex(ctx, s.contactedMarksKey(), &redis.ZRangeBy{Min: "[" + first + "\x00", Max: "(" + last + "\x01"})
}

// parseMarks returns the marks read by queueMarks, by account id (unix
// ms, as the <ns>:contacted:<id> keys hold them).
func parseMarks(members []string) map[string]string {
	if len(members) == 0 {
		return nil
	}
	out := make(map[string]string, len(members))
	for _, m := range members {
		if i := strings.LastIndexByte(m, 0); i >= 0 {
			out[m[:i]] = m[i+1:]
		}
	}
	return out
}

// indexContacted adds every <ns>:contacted:<id> mark to
// <ns>:contacted-marks (layout 5), 500 at a time; marks indexed already
// are indexed again, harmlessly.
func (s *Records) indexContacted(ctx context.Context) error {
	return s.scanIDs(ctx, "contacted", func(ctx context.Context, ids []string) error {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = s.key("contacted", id)
		}
		vals, err := s.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return err
		}
		var members []redis.Z
		for i, v := range vals {
			if ms, ok := v.(string); ok {
				members = append(members, redis.Z{Member: ids[i] + "\x00" + ms})
			}
		}
		if len(members) == 0 {
			return nil
		}
		return s.rdb.ZAdd(ctx, s.contactedMarksKey(), members...).Err()
	})
}
