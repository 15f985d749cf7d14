package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReportTTL is the longest a pass report is kept; reports beyond the
// newest kept (DefaultReportsKept, or Retained.Reports) go before.
const ReportTTL = 400 * 24 * time.Hour

// DefaultReportsKept is how many pass reports SaveReport keeps: at one
// pass a working day, about two years; at one pass a minute, 8 hours.
const DefaultReportsKept = 500

// saveReportScript stores report KEYS[1] = ARGV[2] for ARGV[3] ms, makes
// ARGV[1] the latest pass (KEYS[2]) and indexes it in the ZSET KEYS[3] by
// the server's time in ms (after the newest already there, so that the
// pass just saved ranks last even within a millisecond); then it trims the index to the newest ARGV[4] passes,
// unlinking each trimmed pass's report and per-pass keys (ARGV[5] is the
// namespace prefix "<ns>:"). Those keys derive from the pass: on a Redis
// Cluster the namespace's hash tag keeps them in the slot of KEYS.
// Returns how many passes it trimmed.
var saveReportScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[1])
local t = redis.call('TIME')
local score = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local top = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
if top[2] and tonumber(top[2]) >= score then score = tonumber(top[2]) + 1 end
redis.call('ZADD', KEYS[3], score, ARGV[1])
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[4])
if over <= 0 then return 0 end
local ns = ARGV[5]
for _, p in ipairs(redis.call('ZRANGE', KEYS[3], 0, over - 1)) do
  local pk = ns .. 'pass:' .. p .. ':'
  for _, d in ipairs(redis.call('SMEMBERS', pk .. 'digests')) do
    redis.call('UNLINK', pk .. 'digest:' .. d)
  end
  redis.call('UNLINK', ns .. 'report:' .. p, pk .. 'plan', pk .. 'shards', pk .. 'staged', pk .. 'heads', pk .. 'digests')
end
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, over - 1)
return over
`)

// SaveReport stores the report of a pass and remembers it as the latest,
// in one script, keeping the DefaultReportsKept newest reports (see
// SaveReportKeeping).
func (s *Passes) SaveReport(ctx context.Context, pass string, data []byte) error {
	return s.SaveReportKeeping(ctx, pass, data, DefaultReportsKept)
}

// SaveReportKeeping stores the report of a pass, remembers it as the
// latest and indexes it by the time it is saved; then, in the same
// script, it drops the reports of all but the keep newest passes, and
// those passes' other keys (plan, shard results, staged matches,
// digests) with them. keep < 1 counts as 1: the latest report stays.
func (s *Passes) SaveReportKeeping(ctx context.Context, pass string, data []byte, keep int) error {
	if pass == "" {
		return errors.New("store: save report: empty pass")
	}
	keys := []string{s.key("report", pass), s.key("reports", "latest"), s.key("reports", "index")}
	args := []any{pass, data, ReportTTL.Milliseconds(), strconv.Itoa(max(keep, 1)), s.key("")}
	if err := saveReportScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("store: save report: %w", err)
	}
	return nil
}

// Retained is Passes saving reports under a retention other than the
// default: give it where a Passes is used (the evaluator) to apply the
// retention.reports setting.
type Retained struct {
	*Passes
	// Reports is how many pass reports are kept (DefaultReportsKept when
	// 0).
	Reports int
}

// SaveReport saves a pass report keeping r.Reports reports.
func (r Retained) SaveReport(ctx context.Context, pass string, data []byte) error {
	return r.SaveReportKeeping(ctx, pass, data, cmp.Or(r.Reports, DefaultReportsKept))
}

// Report returns the report of a pass; ErrNotFound when there is none.
func (s *Passes) Report(ctx context.Context, pass string) ([]byte, error) {
	data, err := s.rdb.Get(ctx, s.key("report", pass)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: report %s: %w", pass, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: report: %w", err)
	}
	return data, nil
}

// LatestReport returns the most recently saved report and its pass;
// ErrNotFound when there is none (or it expired).
func (s *Passes) LatestReport(ctx context.Context) (pass string, data []byte, err error) {
	pass, err = s.rdb.Get(ctx, s.key("reports", "latest")).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil, fmt.Errorf("store: latest report: %w", ErrNotFound)
	}
	if err != nil {
		return "", nil, fmt.Errorf("store: latest report: %w", err)
	}
	data, err = s.Report(ctx, pass)
	if err != nil {
		return "", nil, err
	}
	return pass, data, nil
}
