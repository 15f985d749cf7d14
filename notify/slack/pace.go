package slack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/notify"
)

// turns hands out the turns to post in each channel, one every
// PerChannelEvery, without making one channel wait for another.
type turns interface {
	// reserve takes channel's next turn and returns how long until it
	// comes. When the turn is more than maxPaceWait away it takes nothing
	// and returns a *notify.RateLimitError.
	reserve(ctx context.Context, channel string) (time.Duration, error)
	// hold pushes channel's next turn to at least after from now, as a
	// 429's Retry-After asks.
	hold(ctx context.Context, channel string, after time.Duration) error
}

// waitTurn takes the next turn of channel and sleeps until it comes,
// honouring ctx.
func (s *Sender) waitTurn(ctx context.Context, channel string) error {
	d, err := s.pace.reserve(ctx, channel)
	if err != nil || d <= 0 {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("slack wait for %s: %w", channel, context.Cause(ctx))
	}
}

// tooFar is the error of a turn wait away, more than maxPaceWait.
func tooFar(channel string, wait time.Duration) error {
	return &notify.RateLimitError{Provider: "slack", Scope: channel, After: wait}
}

// SharePacing makes s take its turns to post from Redis, under the key
// "<namespace>:slack-pace:<channel>", so that every Sender sharing rdb
// and namespace (every crmsync process of a deployment) keeps one pace
// per channel together: one post every PerChannelEvery in all, and a 429
// makes them all wait its Retry-After. Turns follow Redis's clock. Call it
// before the first Send; without it, a Sender paces its own posts only.
func (s *Sender) SharePacing(rdb redis.UniversalClient, namespace string) {
	s.pace = &sharedPacer{rdb: rdb, prefix: namespace + ":slack-pace:", every: s.cfg.PerChannelEvery}
}

// sharedPacer keeps the turns in Redis: each channel's key holds the time
// (µs, Redis clock) of its next free turn, with a TTL that ends once that
// time is past.
type sharedPacer struct {
	rdb    redis.UniversalClient
	prefix string // "<ns>:slack-pace:"
	every  time.Duration
}

// reserveScript takes the next turn of the channel KEYS[1] unless it is
// more than ARGV[2] µs away; ARGV[1] is the interval in µs. It returns
// {1 when taken else 0, µs until the turn}.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local turn = tonumber(redis.call('GET', KEYS[1]) or '') or now
if turn < now then turn = now end
local wait = turn - now
if wait > tonumber(ARGV[2]) then return {0, wait} end
local free = turn + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', free), 'PX', math.ceil((free - now) / 1000) + 1000)
return {1, wait}
`)

// holdScript pushes the next turn of the channel KEYS[1] to at least
// ARGV[1] µs from now.
var holdScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local free = now + tonumber(ARGV[1])
local turn = tonumber(redis.call('GET', KEYS[1]) or '') or 0
if turn < free then
  redis.call('SET', KEYS[1], string.format('%d', free), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 0
`)

func (p *sharedPacer) reserve(ctx context.Context, channel string) (time.Duration, error) {
	res, err := reserveScript.Run(ctx, p.rdb, []string{p.prefix + channel},
		p.every.Microseconds(), maxPaceWait.Microseconds()).Int64Slice()
	switch {
	case err != nil:
		return 0, fmt.Errorf("slack pace %s: %w", channel, err)
	case len(res) != 2:
		return 0, fmt.Errorf("slack pace %s: unexpected answer %v", channel, res)
	}
	wait := time.Duration(res[1]) * time.Microsecond
	if res[0] == 0 {
		return 0, tooFar(channel, wait)
	}
	return wait, nil
}

func (p *sharedPacer) hold(ctx context.Context, channel string, after time.Duration) error {
	if err := holdScript.Run(ctx, p.rdb, []string{p.prefix + channel}, after.Microseconds()).Err(); err != nil {
		return fmt.Errorf("slack pace %s: hold: %w", channel, err)
	}
	return nil
}

// pacer keeps the turns in process. It is safe for concurrent use.
type pacer struct {
	every time.Duration

	mu   sync.Mutex
	next map[string]time.Time // earliest time of the next post to a channel
}

// newPacer returns a pacer allowing one post per channel every every.
func newPacer(every time.Duration) *pacer {
	return &pacer{every: every, next: make(map[string]time.Time)}
}

func (p *pacer) reserve(_ context.Context, channel string) (time.Duration, error) {
	return p.reserveAt(channel, time.Now())
}

// reserveAt takes the next turn of channel at or after now and returns how
// long until it comes.
func (p *pacer) reserveAt(channel string, now time.Time) (time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prune(now)
	turn := p.next[channel]
	if turn.Before(now) {
		turn = now
	}
	d := turn.Sub(now)
	if d > maxPaceWait {
		return 0, tooFar(channel, d)
	}
	p.next[channel] = turn.Add(p.every)
	return d, nil
}

func (p *pacer) hold(_ context.Context, channel string, after time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := time.Now().Add(after); p.next[channel].Before(until) {
		p.next[channel] = until
	}
	return nil
}

// prune drops past turns once the map is large. The caller holds p.mu.
func (p *pacer) prune(now time.Time) {
	if len(p.next) < pruneAt {
		return
	}
	for ch, turn := range p.next {
		if turn.Before(now) {
			delete(p.next, ch)
		}
	}
}
