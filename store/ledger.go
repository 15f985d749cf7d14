package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// LedgerTTL is how long a ledger entry is kept after its last write.
const LedgerTTL = 400 * 24 * time.Hour

// Ledger entry statuses.
const (
	StatusClaimed  = "claimed"
	StatusSent     = "sent"
	StatusFailed   = "failed"   // the last attempt failed; a retry may claim it again
	StatusRejected = "rejected" // the provider refused it for good (bad address, bad request): never resent
	StatusDead     = "dead"     // every retry failed: the dead-letter record, never resent
)

// Entry is one notification in the ledger: claimed before it is sent, so
// a retry or a re-run never sends it twice.
type Entry struct {
	Key        string         `json:"key"`
	Rule       string         `json:"rule"`
	AccountID  string         `json:"account_id"`
	Recipient  string         `json:"recipient"` // email address or Slack target
	Channel    string         `json:"channel"`   // "email" | "slack"
	Pass       string         `json:"pass,omitempty"`
	Status     string         `json:"status"`          // claimed | sent | failed
	Token      string         `json:"token,omitempty"` // who holds the claim (the delivery task id)
	ClaimedAt  time.Time      `json:"claimed_at"`
	SentAt     time.Time      `json:"sent_at,omitzero"`
	Expression string         `json:"expression,omitempty"`
	Features   map[string]any `json:"features,omitempty"`
	Error      string         `json:"error,omitempty"`
}

// ClaimResult is the outcome of Claim.
type ClaimResult int

// Claim outcomes.
const (
	Claimed     ClaimResult = iota // the caller holds the claim and may send
	AlreadySent                    // the notification was sent, rejected or given up: do not send
	HeldByOther                    // another token holds a live claim: try later
)

// String returns the outcome's name.
func (r ClaimResult) String() string {
	switch r {
	case Claimed:
		return "claimed"
	case AlreadySent:
		return "already-sent"
	case HeldByOther:
		return "held-by-other"
	}
	return "ClaimResult(" + strconv.Itoa(int(r)) + ")"
}

// claimScript claims KEYS[1] for ARGV[1] unless it was sent or another
// token holds an unexpired lease, and indexes it in KEYS[2] (account) and
// KEYS[3] (recipient). ARGV: token, now ms, lease ms, entry JSON, ttl ms,
// ledger key. Returns a ClaimResult.
var claimScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'status', 'token', 'claimed_ms')
if h[1] == 'sent' or h[1] == 'rejected' or h[1] == 'dead' then return 1 end
local now = tonumber(ARGV[2])
local at = tonumber(h[3])
if h[1] == 'claimed' and h[2] ~= ARGV[1] and at and at + tonumber(ARGV[3]) > now then return 2 end
redis.call('HSET', KEYS[1], 'data', ARGV[4], 'status', 'claimed', 'token', ARGV[1], 'claimed_ms', ARGV[2])
redis.call('HDEL', KEYS[1], 'sent_ms', 'error')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
for i = 2, 3 do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[6])
  redis.call('PEXPIRE', KEYS[i], ARGV[5])
end
return 0
`)

// markSentScript sets KEYS[1] to sent if ARGV[1] holds its claim (or
// already sent it). ARGV: token, sent ms, ttl ms. Returns 1 on success.
var markSentScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'status', 'token')
if h[2] ~= ARGV[1] then return 0 end
if h[1] == 'sent' then return 1 end
if h[1] ~= 'claimed' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'sent', 'sent_ms', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// releaseScript sets KEYS[1] to failed with reason ARGV[2] if ARGV[1]
// holds its claim. Returns 1 on success.
var releaseScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'status', 'token')
if h[2] ~= ARGV[1] or (h[1] ~= 'claimed' and h[1] ~= 'failed') then return 0 end
redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[2])
return 1
`)

func (s *Store) ledgerKey(key string) string { return s.key("ledger", "e", key) }

func (s *Store) accountIndex(id string) string { return s.key("ledger", "by-account", id) }

func (s *Store) recipientIndex(r string) string {
	return s.key("ledger", "by-recipient", normEmail(r))
}

// Claim claims the ledger entry e.Key for token before a send. A new entry,
// a released (failed) one, one claimed by the same token and one whose
// other holder's lease (ClaimedAt+lease) has passed at now are Claimed; a
// sent one is AlreadySent; one claimed by another token within its lease
// is HeldByOther. Claiming (re)writes e with status claimed, the token and
// ClaimedAt=now (millisecond precision).
func (s *Store) Claim(ctx context.Context, e Entry, token string, lease time.Duration, now time.Time) (ClaimResult, error) {
	if e.Key == "" || token == "" || lease <= 0 {
		return 0, errors.New("store: claim: key, token and a positive lease are required")
	}
	e.Status, e.Token, e.Error = "", "", ""
	e.ClaimedAt, e.SentAt = time.Time{}, time.Time{}
	data, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("store: claim: %w", err)
	}
	keys := []string{s.ledgerKey(e.Key), s.accountIndex(e.AccountID), s.recipientIndex(e.Recipient)}
	res, err := claimScript.Run(ctx, s.rdb, keys,
		token, now.UnixMilli(), lease.Milliseconds(), data, LedgerTTL.Milliseconds(), e.Key).Int()
	if err != nil {
		return 0, fmt.Errorf("store: claim: %w", err)
	}
	return ClaimResult(res), nil
}

// MarkSent records that the notification under key was sent at at. It
// fails with ErrClaimLost unless token still holds the claim; marking an
// entry this token already marked sent succeeds again.
func (s *Store) MarkSent(ctx context.Context, key, token string, at time.Time) error {
	ok, err := markSentScript.Run(ctx, s.rdb, []string{s.ledgerKey(key)},
		token, at.UnixMilli(), LedgerTTL.Milliseconds()).Bool()
	if err != nil {
		return fmt.Errorf("store: mark sent: %w", err)
	}
	if !ok {
		return fmt.Errorf("store: mark sent %s: %w", key, ErrClaimLost)
	}
	return nil
}

// Release gives up token's claim on key after a failed send: the entry
// becomes failed with reason as its Error, and a retry may claim it again.
// It fails with ErrClaimLost unless token holds the claim.
func (s *Store) Release(ctx context.Context, key, token, reason string) error {
	ok, err := releaseScript.Run(ctx, s.rdb, []string{s.ledgerKey(key)}, token, reason).Bool()
	if err != nil {
		return fmt.Errorf("store: release: %w", err)
	}
	if !ok {
		return fmt.Errorf("store: release %s: %w", key, ErrClaimLost)
	}
	return nil
}

// rejectScript sets KEYS[1] to rejected with reason ARGV[2] if ARGV[1]
// holds its claim. Returns 1 on success.
var rejectScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'status', 'token')
if h[2] ~= ARGV[1] or (h[1] ~= 'claimed' and h[1] ~= 'failed') then return 0 end
redis.call('HSET', KEYS[1], 'status', 'rejected', 'error', ARGV[2])
return 1
`)

// Reject records that the provider refused the notification under key for
// good (reason says why): it will never be sent again, even by a retry of
// its batch. It fails with ErrClaimLost unless token holds the claim.
func (s *Store) Reject(ctx context.Context, key, token, reason string) error {
	ok, err := rejectScript.Run(ctx, s.rdb, []string{s.ledgerKey(key)}, token, reason).Bool()
	if err != nil {
		return fmt.Errorf("store: reject: %w", err)
	}
	if !ok {
		return fmt.Errorf("store: reject %s: %w", key, ErrClaimLost)
	}
	return nil
}

// deadScript turns KEYS[1] into a dead-letter record unless it was sent or
// rejected, creating and indexing it (KEYS[2] account, KEYS[3] recipient)
// when it was never claimed. ARGV: now ms, entry JSON, reason, ttl ms,
// ledger key. Returns 1 when it wrote the record.
var deadScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if st == 'sent' or st == 'rejected' or st == 'dead' then return 0 end
if not st then
  redis.call('HSET', KEYS[1], 'data', ARGV[2], 'claimed_ms', ARGV[1])
  for i = 2, 3 do
    redis.call('ZADD', KEYS[i], ARGV[1], ARGV[5])
    redis.call('PEXPIRE', KEYS[i], ARGV[4])
  end
end
redis.call('HSET', KEYS[1], 'status', 'dead', 'error', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// MarkDead writes the dead-letter record of a notification whose every
// retry failed, with the last error: history shows it, and nothing sends it
// again. A notification already sent or rejected is left as it is; the
// result says whether a record was written.
func (s *Store) MarkDead(ctx context.Context, e Entry, reason string, at time.Time) (bool, error) {
	e.Status, e.Token, e.Error = "", "", ""
	e.ClaimedAt, e.SentAt = time.Time{}, time.Time{}
	data, err := json.Marshal(e)
	if err != nil {
		return false, fmt.Errorf("store: mark dead: %w", err)
	}
	keys := []string{s.ledgerKey(e.Key), s.accountIndex(e.AccountID), s.recipientIndex(e.Recipient)}
	n, err := deadScript.Run(ctx, s.rdb, keys, at.UnixMilli(), data, reason, LedgerTTL.Milliseconds(), e.Key).Int()
	if err != nil {
		return false, fmt.Errorf("store: mark dead: %w", err)
	}
	return n == 1, nil
}

// Entry returns the ledger entry under key; ErrNotFound when there is none.
func (s *Store) Entry(ctx context.Context, key string) (Entry, error) {
	h, err := s.rdb.HGetAll(ctx, s.ledgerKey(key)).Result()
	if err != nil {
		return Entry{}, fmt.Errorf("store: entry: %w", err)
	}
	if len(h) == 0 {
		return Entry{}, fmt.Errorf("store: entry %s: %w", key, ErrNotFound)
	}
	e, err := decodeEntry(key, h)
	if err != nil {
		return Entry{}, fmt.Errorf("store: entry: %w", err)
	}
	return e, nil
}

// History returns the account's ledger entries, newest claim first.
func (s *Store) History(ctx context.Context, accountID string) ([]Entry, error) {
	es, err := s.history(ctx, s.accountIndex(accountID))
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	return es, nil
}

// HistoryByRecipient returns the ledger entries sent or claimed for a
// recipient (case-insensitive), newest claim first.
func (s *Store) HistoryByRecipient(ctx context.Context, recipient string) ([]Entry, error) {
	es, err := s.history(ctx, s.recipientIndex(recipient))
	if err != nil {
		return nil, fmt.Errorf("store: history by recipient: %w", err)
	}
	return es, nil
}

// history reads the entries of an index and prunes the expired ones.
func (s *Store) history(ctx context.Context, index string) ([]Entry, error) {
	keys, err := s.rdb.ZRevRange(ctx, index, 0, -1).Result()
	if err != nil || len(keys) == 0 {
		return []Entry{}, err
	}
	cmds := make([]*redis.MapStringStringCmd, len(keys))
	if _, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = pipe.HGetAll(ctx, s.ledgerKey(k))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(keys))
	var gone []any
	for i, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			gone = append(gone, keys[i])
			continue
		}
		e, err := decodeEntry(keys[i], cmd.Val())
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if len(gone) > 0 {
		if err := s.rdb.ZRem(ctx, index, gone...).Err(); err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		}
	}
	return out, nil
}

// decodeEntry rebuilds an Entry from its hash: the JSON written at claim
// time, overlaid with the fields the scripts keep up to date.
func decodeEntry(key string, h map[string]string) (Entry, error) {
	var e Entry
	if err := json.Unmarshal([]byte(h["data"]), &e); err != nil {
		return e, fmt.Errorf("decode entry %s: %w", key, err)
	}
	e.Key, e.Status, e.Token, e.Error = key, h["status"], h["token"], h["error"]
	e.ClaimedAt = msTime(h["claimed_ms"])
	e.SentAt = msTime(h["sent_ms"])
	return e, nil
}

// msTime parses Unix milliseconds; the zero time when empty or invalid.
func msTime(v string) time.Time {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
