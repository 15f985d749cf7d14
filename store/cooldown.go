package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// cooldownScript sets each key of KEYS to ARGV[1] for ARGV[1 + i] ms,
// unless it exists; it returns, per key, 1 when set now or already
// holding ARGV[1], else 0.
var cooldownScript = redis.NewScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if not v then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[1 + i])
    out[i] = 1
  elseif v == ARGV[1] then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`)

// ruleEscaper keeps rule names with ':' from colliding in cooldown keys.
var ruleEscaper = strings.NewReplacer("%", "%25", ":", "%3A")

func (s conn) cooldownKey(rule, accountID string) string {
	return s.key("cooldown", ruleEscaper.Replace(rule), accountID)
}

// AcquireCooldown starts the rule's cooldown for the account, for ttl, and
// reports whether the rule may fire: true when no cooldown was running,
// and also when the running one was acquired by this same pass, so a
// retried evaluation of a pass gets the same answer.
func (s *Passes) AcquireCooldown(ctx context.Context, rule, accountID, pass string, ttl time.Duration) (bool, error) {
	if ttl < time.Millisecond {
		return false, errors.New("store: acquire cooldown: ttl must be at least 1ms")
	}
	ok, err := s.AcquireCooldowns(ctx, pass, []RuleAccount{{Rule: rule, Account: accountID}}, []time.Duration{ttl})
	if err != nil {
		return false, err
	}
	return ok[0], nil
}

// Cooldown reports whether the rule's cooldown for the account is running,
// and until when. It changes nothing: previews use it.
func (s *Passes) Cooldown(ctx context.Context, rule, accountID string) (until time.Time, ok bool, err error) {
	k := s.cooldownKey(rule, accountID)
	ttl, err := s.rdb.PTTL(ctx, k).Result()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: cooldown: %w", err)
	}
	if ttl <= 0 { // -2: no key; -1: no expiry, which AcquireCooldown never sets
		return time.Time{}, false, nil
	}
	return time.Now().Add(ttl), true, nil
}
