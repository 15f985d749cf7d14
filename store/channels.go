package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ChannelPause is why and since when a delivery channel is paused.
type ChannelPause struct {
	Reason string
	Since  time.Time
}

func (s conn) channelKey(channel, what string) string { return s.key("channel", channel, what) }

// pauseScript pauses KEYS[1] with reason ARGV[1] since ARGV[2] (ms),
// keeping the first since of a pause already in place. Returns 1 when the
// channel was not paused yet.
var pauseScript = redis.NewScript(`
local first = redis.call('HSETNX', KEYS[1], 'since_ms', ARGV[2])
redis.call('HSET', KEYS[1], 'reason', ARGV[1])
return first
`)

// PauseChannel records that the delivery channel is paused, because of
// reason, since now: every process holds its messages until it is
// resumed. Pausing a paused channel updates the reason and keeps the
// first since; first says whether this call paused it.
func (s *Ledger) PauseChannel(ctx context.Context, channel, reason string, now time.Time) (first bool, err error) {
	n, err := pauseScript.Run(ctx, s.rdb, []string{s.channelKey(channel, "paused")}, reason, now.UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("store: pause channel: %w", err)
	}
	return n == 1, nil
}

// ChannelPause returns the pause of the delivery channel; ok is false
// when it is not paused.
func (s *Ledger) ChannelPause(ctx context.Context, channel string) (p ChannelPause, ok bool, err error) {
	h, err := s.rdb.HGetAll(ctx, s.channelKey(channel, "paused")).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return p, false, fmt.Errorf("store: channel pause: %w", err)
	}
	if len(h) == 0 {
		return p, false, nil
	}
	return ChannelPause{Reason: h["reason"], Since: msTime(h["since_ms"])}, true, nil
}

// ResumeChannel lifts the pause of the delivery channel and reports
// whether it was paused.
func (s *Ledger) ResumeChannel(ctx context.Context, channel string) (bool, error) {
	n, err := s.rdb.Del(ctx, s.channelKey(channel, "paused")).Result()
	if err != nil {
		return false, fmt.Errorf("store: resume channel: %w", err)
	}
	return n == 1, nil
}

// probeScript takes the probe turn of a channel: KEYS[1] is held while a
// probe runs (ARGV[1] ms), KEYS[2] for the interval between probes
// (ARGV[2] ms). ARGV[3] = '1' ignores the interval (but not a running
// probe). Returns 1 when the turn is taken.
var probeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], 1, 'PX', ARGV[1])
redis.call('SET', KEYS[2], 1, 'PX', ARGV[2])
return 1
`)

// ClaimProbe takes the turn to check a paused channel's credentials, so
// that one process at a time probes, at most once every interval: it
// reports false while another probe runs (for at most running) or one ran
// less than every ago. now skips the interval (a process that just
// started probes at once), not a running probe.
func (s *Ledger) ClaimProbe(ctx context.Context, channel string, running, every time.Duration, now bool) (bool, error) {
	force := "0"
	if now {
		force = "1"
	}
	keys := []string{s.channelKey(channel, "probing"), s.channelKey(channel, "probed")}
	n, err := probeScript.Run(ctx, s.rdb, keys, running.Milliseconds(), every.Milliseconds(), force).Int()
	if err != nil {
		return false, fmt.Errorf("store: claim probe: %w", err)
	}
	return n == 1, nil
}
