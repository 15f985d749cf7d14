package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// LedgerTTL is how long a ledger entry is kept after its last write.
const LedgerTTL = 400 * 24 * time.Hour

// Ledger entry statuses.
//
// A message is claimed before it is sent, then marked sent (written, when
// the channel's sender writes it to an outbox instead of sending it),
// released (failed) or rejected. An entry found claimed by an attempt that never
// recorded what the provider did (the same task's earlier attempt, or
// another task whose lease passed) becomes unknown: it may have gone out.
// An unknown entry is never claimed again by a plain Claim; it is resolved
// (Slack: by looking for the message in the channel) or resent by an
// operator, and a known outcome arriving late from the attempt that held
// it still wins.
const (
	StatusClaimed  = "claimed"
	StatusSent     = "sent"
	StatusWritten  = "written"  // written to the outbox (notify.outbox) instead of sent: delivered, as far as crmsync goes
	StatusFailed   = "failed"   // the last attempt failed; a retry may claim it again
	StatusRejected = "rejected" // the provider refused it for good (bad address, bad request): never resent
	StatusDead     = "dead"     // every retry failed: the dead-letter record, never resent
	StatusUnknown  = "unknown"  // sent or not, nobody knows: never sent again automatically
)

// Delivered reports whether status says that the message went where
// crmsync delivers it: sent, or written to the outbox. Frequency caps count
// both, and neither is ever delivered again.
func Delivered(status string) bool { return status == StatusSent || status == StatusWritten }

// ErrNotUnknown reports that an entry to resend or resolve is not of
// unknown outcome (it was sent, failed and is retried, or never claimed).
var ErrNotUnknown = errors.New("store: outcome not unknown")

// Entry is one notification in the ledger: claimed before it is sent, so
// a retry or a re-run never sends it twice.
type Entry struct {
	Key        string         `json:"key"`
	Rule       string         `json:"rule"`
	AccountID  string         `json:"account_id"`
	Recipient  string         `json:"recipient"` // email address or Slack target
	Channel    string         `json:"channel"`   // "email" | "slack"
	Pass       string         `json:"pass,omitempty"`
	Status     string         `json:"status"`          // see the Status constants
	Token      string         `json:"token,omitempty"` // who holds the claim (the delivery task id)
	ClaimedAt  time.Time      `json:"claimed_at"`
	LeaseUntil time.Time      `json:"lease_until,omitzero"` // when the claim's protection ends
	SentAt     time.Time      `json:"sent_at,omitzero"`
	Expression string         `json:"expression,omitempty"`
	Features   map[string]any `json:"features,omitempty"`
	Error      string         `json:"error,omitempty"`
}

// OutcomeUnknown reports whether e's outcome is unknown at now: it is
// unknown, or still claimed after its lease (its holder died between claim
// and record).
func (e Entry) OutcomeUnknown(now time.Time) bool {
	return e.Status == StatusUnknown ||
		e.Status == StatusClaimed && !e.LeaseUntil.IsZero() && !e.LeaseUntil.After(now)
}

// ClaimResult is the outcome of Claim.
type ClaimResult int

// Claim outcomes.
const (
	Claimed     ClaimResult = iota // the caller holds the claim and may send
	AlreadySent                    // the notification was sent, rejected or given up: do not send
	HeldByOther                    // another token holds a live claim: try later
	Unknown                        // an earlier attempt's outcome is unknown: do not send blindly
	NowUnknown                     // like Unknown, and this claim found it out: the entry just became unknown
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
	case Unknown:
		return "unknown"
	case NowUnknown:
		return "now-unknown"
	}
	return "ClaimResult(" + strconv.Itoa(int(r)) + ")"
}

// stepScript is one step of a delivery: it records what became of the
// sends of the first ARGV[4] entries, then claims the others, for token
// ARGV[1].
//
// Each recorded entry KEYS[i] (i <= ARGV[4]) claimed by the token gets
// ARGV[7+3i-2]: sent or written (at ARGV[2], the entry then kept ARGV[3]
// ms), failed (released: a retry may claim it again), rejected, or
// unknown; ARGV[7+3i-1] is the reason, ARGV[7+3i] the message kept with an
// unknown entry (when not empty). A known outcome arriving late for an
// entry that became unknown while the token held it still wins (sent,
// rejected); a release leaves it unknown, noting that nothing went out (an
// operator may resend it); marking an entry the token already delivered
// succeeds again. 1 per entry recorded, 0 when the token no longer holds
// its claim.
//
// Then each claimed entry (KEYS[n+4j-3], indexed in KEYS[n+4j-2] by
// account, KEYS[n+4j-1] by recipient and KEYS[n+4j] by pass; ARGV[b+2j-1]
// its JSON, ARGV[b+2j]
// its ledger key) is claimed at ARGV[5] (ms) until ARGV[7] (lease ARGV[6]
// ms) when it is new or failed. An entry claimed by the same token (an
// earlier attempt of the same task that never recorded its outcome) or by
// another whose lease passed becomes unknown. A ClaimResult per entry.
var stepScript = redis.NewScript(`
local token, nm, now, lease = ARGV[1], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local function delivered(e, h, status)
  if h[1] == 'sent' or h[1] == 'written' then return 1 end
  if h[1] ~= 'claimed' and h[1] ~= 'unknown' then return 0 end
  redis.call('HSET', e, 'status', status, 'sent_ms', ARGV[2])
  redis.call('HDEL', e, 'msg', 'error')
  redis.call('PEXPIRE', e, ARGV[3])
  return 1
end
local function release(e, h, reason)
  if h[1] == 'unknown' then
    redis.call('HSET', e, 'error', 'not sent: ' .. reason)
    return 1
  end
  if h[1] ~= 'claimed' and h[1] ~= 'failed' then return 0 end
  redis.call('HSET', e, 'status', 'failed', 'error', reason)
  return 1
end
local function reject(e, h, reason)
  if h[1] ~= 'claimed' and h[1] ~= 'failed' and h[1] ~= 'unknown' then return 0 end
  redis.call('HSET', e, 'status', 'rejected', 'error', reason)
  redis.call('HDEL', e, 'msg')
  return 1
end
local function unknown(e, h, reason, msg)
  if h[1] ~= 'claimed' and h[1] ~= 'unknown' then return 0 end
  redis.call('HSET', e, 'status', 'unknown', 'error', reason)
  if msg ~= '' then redis.call('HSET', e, 'msg', msg) end
  return 1
end
local function mark(e, a)
  local op, reason = ARGV[a+1], ARGV[a+2]
  local h = redis.call('HMGET', e, 'status', 'token')
  if h[2] ~= token then return 0 end
  if op == 'sent' or op == 'written' then return delivered(e, h, op) end
  if op == 'failed' then return release(e, h, reason) end
  if op == 'rejected' then return reject(e, h, reason) end
  if op == 'unknown' then return unknown(e, h, reason, ARGV[a+3]) end
  return 0
end
local function claim(k, data, key)
  local e = KEYS[k]
  local h = redis.call('HMGET', e, 'status', 'token', 'claimed_ms', 'lease_ms')
  local st = h[1]
  if st == 'sent' or st == 'written' or st == 'rejected' or st == 'dead' then return 1 end
  if st == 'unknown' then return 3 end
  if st == 'claimed' then
    local untl = tonumber(h[4]) or ((tonumber(h[3]) or 0) + lease)
    if h[2] ~= token and untl > now then return 2 end
    redis.call('HSET', e, 'status', 'unknown')
    return 4
  end
  redis.call('HSET', e, 'data', data, 'status', 'claimed', 'token', token, 'claimed_ms', ARGV[5], 'lease_ms', ARGV[7])
  redis.call('HDEL', e, 'sent_ms', 'error')
  redis.call('PEXPIRE', e, ARGV[3])
  for i = k+1, k+3 do
    redis.call('ZADD', KEYS[i], ARGV[5], key)
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
  end
  return 0
end
local out = {}
for i = 1, nm do out[i] = mark(KEYS[i], 7 + 3*(i-1)) end
local b = 7 + 3*nm
for j = 1, (#KEYS - nm) / 4 do
  out[nm+j] = claim(nm + 4*j - 3, ARGV[b+2*j-1], ARGV[b+2*j])
end
return out
`)

// unclaimScript releases each entry KEYS[i] if ARGV[1] claimed it at
// ARGV[2] (ms) and nothing happened to it since, with reason ARGV[3].
// Returns how many it released.
var unclaimScript = redis.NewScript(`
local n = 0
for _, e in ipairs(KEYS) do
  local h = redis.call('HMGET', e, 'status', 'token', 'claimed_ms')
  if h[1] == 'claimed' and h[2] == ARGV[1] and h[3] == ARGV[2] then
    redis.call('HSET', e, 'status', 'failed', 'error', ARGV[3])
    n = n + 1
  end
end
return n
`)

// Unclaim gives back the claim token may have taken on key at claimedAt
// (the millisecond Claim was given) when Claim's answer never came back
// (Redis stalled or went away mid-call): the claim may have been written
// although nothing was sent. Only that very claim is released, so that a
// retry sends the message instead of finding it unknown; a claim made
// earlier by the same token (whose send may have gone out) is left alone.
// It reports whether there was such a claim to give back.
func (s *Ledger) Unclaim(ctx context.Context, key, token string, claimedAt time.Time, reason string) (bool, error) {
	n, err := s.UnclaimAll(ctx, []string{key}, token, claimedAt, reason)
	return n == 1, err
}

// UnclaimAll is Unclaim for the entries under keys, all claimed by one
// call (ClaimAll) at claimedAt, in one step: it returns how many it gave
// back.
func (s *Ledger) UnclaimAll(ctx context.Context, keys []string, token string, claimedAt time.Time, reason string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		rkeys[i] = s.ledgerKey(k)
	}
	n, err := unclaimScript.Run(ctx, s.rdb, rkeys, token, claimedAt.UnixMilli(), reason).Int()
	if err != nil {
		return 0, fmt.Errorf("store: unclaim: %w", err)
	}
	return n, nil
}

func (s conn) ledgerKey(key string) string { return s.key("ledger", "e", key) }

func (s conn) accountIndex(id string) string { return s.key("ledger", "by-account", id) }

func (s conn) recipientIndex(r string) string {
	return s.key("ledger", "by-recipient", normEmail(r))
}

// passIndex names the ZSET of the ledger keys a pass's messages claimed.
func (s conn) passIndex(pass string) string { return s.key("ledger", "by-pass", pass) }

// Claim claims the ledger entry e.Key for token before a send, for lease
// from now. A new entry and a released (failed) one are Claimed; a sent,
// written, rejected or dead one is AlreadySent; one claimed by another token within
// its lease is HeldByOther. One claimed by the same token (an earlier
// attempt of the same task never recorded what it did) or by another
// token whose lease has passed becomes unknown (NowUnknown), and an
// unknown one stays so (Unknown): neither may be sent blindly. Claiming
// (re)writes e with status claimed, the token and ClaimedAt=now
// (millisecond precision).
func (s *Ledger) Claim(ctx context.Context, e Entry, token string, lease time.Duration, now time.Time) (ClaimResult, error) {
	res, err := s.ClaimAll(ctx, []Entry{e}, token, lease, now)
	if err != nil {
		return 0, err
	}
	return res[0], nil
}

// ClaimAll is Claim for every entry of es (distinct keys), in one step.
// It returns each entry's ClaimResult, in the order of es.
func (s *Ledger) ClaimAll(ctx context.Context, es []Entry, token string, lease time.Duration, now time.Time) ([]ClaimResult, error) {
	_, res, err := s.MarkAndClaim(ctx, token, now, nil, es, lease, now)
	return res, err
}

// MarkAndClaim records marks, what became of messages token claimed and
// sent (delivered ones at at), then claims es for token, for lease from
// now, in one step: a delivery records its last send and claims its next
// message in one round trip. It returns whether each mark was recorded
// (see MarkAll) and each claim's ClaimResult (see Claim).
func (s *Ledger) MarkAndClaim(ctx context.Context, token string, at time.Time, marks []Mark, es []Entry, lease time.Duration, now time.Time) ([]bool, []ClaimResult, error) {
	if token == "" || len(es) > 0 && lease <= 0 {
		return nil, nil, errors.New("store: claim: key, token and a positive lease are required")
	}
	if len(marks)+len(es) == 0 {
		return nil, nil, nil
	}
	keys := make([]string, 0, len(marks)+3*len(es))
	args := make([]any, 0, 7+3*len(marks)+2*len(es))
	args = append(args, token, at.UnixMilli(), LedgerTTL.Milliseconds(), len(marks),
		now.UnixMilli(), lease.Milliseconds(), now.Add(lease).UnixMilli())
	for _, m := range marks {
		switch m.Status {
		case StatusSent, StatusWritten, StatusFailed, StatusRejected, StatusUnknown:
		default:
			return nil, nil, fmt.Errorf("store: mark %s: not an outcome: %q", m.Key, m.Status)
		}
		keys = append(keys, s.ledgerKey(m.Key))
		args = append(args, m.Status, m.Reason, m.Msg)
	}
	for _, e := range es {
		if e.Key == "" {
			return nil, nil, errors.New("store: claim: key, token and a positive lease are required")
		}
		data, err := entryData(e)
		if err != nil {
			return nil, nil, fmt.Errorf("store: claim: %w", err)
		}
		keys = append(keys, s.ledgerKey(e.Key), s.accountIndex(e.AccountID), s.recipientIndex(e.Recipient), s.passIndex(e.Pass))
		args = append(args, data, e.Key)
	}
	res, err := stepScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		what := "claim"
		if len(es) == 0 {
			what = "mark"
		}
		return nil, nil, fmt.Errorf("store: %s: %w", what, err)
	}
	ok := make([]bool, len(marks))
	for i := range marks {
		ok[i] = res[i] == 1
	}
	claims := make([]ClaimResult, len(es))
	for i := range es {
		claims[i] = ClaimResult(res[len(marks)+i])
	}
	return ok, claims, nil
}

// entryData is the JSON of e kept in its hash, without the fields the
// scripts keep.
func entryData(e Entry) ([]byte, error) {
	e.Status, e.Token, e.Error = "", "", ""
	e.ClaimedAt, e.SentAt, e.LeaseUntil = time.Time{}, time.Time{}, time.Time{}
	return json.Marshal(e)
}

// Mark is one ledger write after a send, for MarkAll: what became of the
// message under Key.
type Mark struct {
	Key string
	// Status is StatusSent or StatusWritten (delivered), StatusFailed (the
	// claim is released: a retry may claim it again), StatusRejected (never
	// sent again) or StatusUnknown (it may have gone out: never sent again
	// automatically).
	Status string
	Reason string // why it failed, was rejected or is unknown
	Msg    []byte // the rendered message an unknown entry keeps for a resend
}

// MarkAll records, in one step, what became of the messages token claimed
// and sent (delivered ones at at), as MarkSent, MarkWritten, Release,
// Reject and MarkUnknown would one by one. It returns, in the order of
// marks, whether each was recorded: false when token no longer holds its
// claim (ErrClaimLost for the single methods).
func (s *Ledger) MarkAll(ctx context.Context, token string, at time.Time, marks []Mark) ([]bool, error) {
	ok, _, err := s.MarkAndClaim(ctx, token, at, marks, nil, 0, at)
	return ok, err
}

// markOne is MarkAll of one mark; what names it in errors.
func (s *Ledger) markOne(ctx context.Context, what, token string, at time.Time, m Mark) error {
	ok, err := s.MarkAll(ctx, token, at, []Mark{m})
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, errors.Unwrap(err))
	}
	if !ok[0] {
		return fmt.Errorf("store: %s %s: %w", what, m.Key, ErrClaimLost)
	}
	return nil
}

// MarkSent records that the notification under key was sent at at. It
// fails with ErrClaimLost unless token still holds the claim; an entry
// that became unknown while token held it is marked sent too (the known
// outcome arrived late), and marking an entry this token already marked
// sent succeeds again.
func (s *Ledger) MarkSent(ctx context.Context, key, token string, at time.Time) error {
	return s.markOne(ctx, "mark sent", token, at, Mark{Key: key, Status: StatusSent})
}

// MarkWritten is MarkSent for a message written to the outbox instead of
// sent: its entry says written, and counts as sent everywhere else.
func (s *Ledger) MarkWritten(ctx context.Context, key, token string, at time.Time) error {
	return s.markOne(ctx, "mark written", token, at, Mark{Key: key, Status: StatusWritten})
}

// Release gives up token's claim on key after a failed send: the entry
// becomes failed with reason as its Error, and a retry may claim it again.
// An entry that became unknown meanwhile stays unknown, its Error saying
// that it was not sent. It fails with ErrClaimLost unless token holds the
// claim.
func (s *Ledger) Release(ctx context.Context, key, token, reason string) error {
	return s.markOne(ctx, "release", token, time.Now(), Mark{Key: key, Status: StatusFailed, Reason: reason})
}

// Reject records that the provider refused the notification under key for
// good (reason says why): it will never be sent again, even by a retry of
// its batch. It fails with ErrClaimLost unless token holds the claim.
func (s *Ledger) Reject(ctx context.Context, key, token, reason string) error {
	return s.markOne(ctx, "reject", token, time.Now(), Mark{Key: key, Status: StatusRejected, Reason: reason})
}

// MarkUnknown records that token's send of the notification under key has
// an unknown outcome (reason says why: a timeout): it is never sent again
// automatically. msg, the rendered message, is kept for an operator's
// resend. It fails with ErrClaimLost unless token holds the claim.
func (s *Ledger) MarkUnknown(ctx context.Context, key, token, reason string, msg []byte) error {
	return s.markOne(ctx, "mark unknown", token, time.Now(), Mark{Key: key, Status: StatusUnknown, Reason: reason, Msg: msg})
}

// keepScript keeps the message ARGV[1] in KEYS[1] when it is unknown and
// has none yet.
var keepScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'status') ~= 'unknown' then return 0 end
return redis.call('HSETNX', KEYS[1], 'msg', ARGV[1])
`)

// KeepMessage keeps msg, the rendered message of the entry under key,
// when the entry is unknown and keeps none yet: an operator's resend sends
// it. Sending or rejecting the entry drops it.
func (s *Ledger) KeepMessage(ctx context.Context, key string, msg []byte) error {
	if err := keepScript.Run(ctx, s.rdb, []string{s.ledgerKey(key)}, msg).Err(); err != nil {
		return fmt.Errorf("store: keep message: %w", err)
	}
	return nil
}

// Message returns the rendered message kept with the entry under key;
// ErrNotFound when none is kept.
func (s *Ledger) Message(ctx context.Context, key string) ([]byte, error) {
	b, err := s.rdb.HGet(ctx, s.ledgerKey(key), "msg").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: message %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: message: %w", err)
	}
	return b, nil
}

// unknownLua sets st to 'unknown' when the entry h (status, token,
// claimed_ms, lease_ms) is claimed and its lease has passed at now: its
// holder died between claim and record.
const unknownLua = `
local function effective(st, untl, now)
  if st == 'claimed' and (tonumber(untl) or 0) <= now then return 'unknown' end
  return st
end
`

// reclaimScript claims KEYS[1] for ARGV[1] when its outcome is unknown
// (or it is claimed by a holder whose lease passed). ARGV: token, now ms,
// lease deadline ms. Returns a ClaimResult, or 5 when it is not unknown.
var reclaimScript = redis.NewScript(unknownLua + `
local h = redis.call('HMGET', KEYS[1], 'status', 'lease_ms')
local st = effective(h[1], h[2], tonumber(ARGV[2]))
if st == 'sent' or st == 'written' or st == 'rejected' or st == 'dead' then return 1 end
if st == 'claimed' then return 2 end
if st ~= 'unknown' then return 5 end
redis.call('HSET', KEYS[1], 'status', 'claimed', 'token', ARGV[1], 'claimed_ms', ARGV[2], 'lease_ms', ARGV[3])
redis.call('HDEL', KEYS[1], 'error')
return 0
`)

// Reclaim claims for token, for lease from now, the entry under key whose
// outcome is unknown (or whose holder's lease has passed), to send it
// again: after a Slack lookup found no trace of it, or on an operator's
// request. Concurrent reclaims of one entry have one winner (Claimed); the
// others get HeldByOther. A sent, written, rejected or dead entry is AlreadySent;
// any other fails with ErrNotUnknown.
func (s *Ledger) Reclaim(ctx context.Context, key, token string, lease time.Duration, now time.Time) (ClaimResult, error) {
	res, err := reclaimScript.Run(ctx, s.rdb, []string{s.ledgerKey(key)},
		token, now.UnixMilli(), now.Add(lease).UnixMilli()).Int()
	if err != nil {
		return 0, fmt.Errorf("store: reclaim: %w", err)
	}
	if res == 5 {
		return 0, fmt.Errorf("store: reclaim %s: %w", key, ErrNotUnknown)
	}
	return ClaimResult(res), nil
}

// resolveScript marks KEYS[1] sent at ARGV[1] when its outcome is unknown
// (or its holder's lease passed at ARGV[2]). Returns 1 when it is sent.
var resolveScript = redis.NewScript(unknownLua + `
local h = redis.call('HMGET', KEYS[1], 'status', 'lease_ms')
local st = effective(h[1], h[2], tonumber(ARGV[2]))
if st == 'sent' or st == 'written' then return 1 end
if st ~= 'unknown' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'sent', 'sent_ms', ARGV[1])
redis.call('HDEL', KEYS[1], 'msg', 'error')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// ResolveSent records that the entry under key, of unknown outcome, was
// in fact sent (sentAt: when the provider shows it): found in the Slack
// channel. It fails with ErrNotUnknown unless the entry is unknown or sent.
func (s *Ledger) ResolveSent(ctx context.Context, key string, sentAt, now time.Time) error {
	ok, err := resolveScript.Run(ctx, s.rdb, []string{s.ledgerKey(key)},
		sentAt.UnixMilli(), now.UnixMilli(), LedgerTTL.Milliseconds()).Bool()
	if err != nil {
		return fmt.Errorf("store: resolve sent: %w", err)
	}
	if !ok {
		return fmt.Errorf("store: resolve sent %s: %w", key, ErrNotUnknown)
	}
	return nil
}

// deadScript writes the dead-letter record of KEYS[1], creating and
// indexing it (KEYS[2] account, KEYS[3] recipient, KEYS[4] pass) when it was never
// claimed. An entry claimed by the dead task ARGV[6] (or by a holder whose
// lease passed) may have gone out: it becomes unknown instead, keeping the
// message ARGV[7]; one claimed live by another task is left alone. ARGV:
// now ms, entry JSON, reason, ttl ms, ledger key, token, message. Returns
// 1 (dead), 2 (became unknown), 3 (was unknown) or 0 (left alone).
var deadScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'status', 'token', 'lease_ms')
local st = h[1]
if st == 'sent' or st == 'written' or st == 'rejected' or st == 'dead' then return 0 end
if st == 'claimed' or st == 'unknown' then
  if st == 'claimed' and h[2] ~= ARGV[6] and (tonumber(h[3]) or 0) > tonumber(ARGV[1]) then return 0 end
  if ARGV[7] ~= '' then redis.call('HSETNX', KEYS[1], 'msg', ARGV[7]) end
  if st == 'unknown' then return 3 end
  redis.call('HSET', KEYS[1], 'status', 'unknown', 'error', ARGV[3])
  return 2
end
if not st then
  redis.call('HSET', KEYS[1], 'data', ARGV[2], 'claimed_ms', ARGV[1])
  for i = 2, 4 do
    redis.call('ZADD', KEYS[i], ARGV[1], ARGV[5])
    redis.call('PEXPIRE', KEYS[i], ARGV[4])
  end
end
redis.call('HSET', KEYS[1], 'status', 'dead', 'error', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// Abandon records what became of a notification whose task gave up (its
// retries ran out), with the task's last error as reason: a dead-letter
// record when it was never sent (shown by history, never resent), or
// unknown when the task (token) claimed it and never recorded the outcome:
// it may have gone out, and msg, the rendered message, is kept for an
// operator's resend. A notification sent, rejected, or claimed live by
// another task is left as it is. It returns the status it wrote
// (StatusDead, StatusUnknown) or "".
func (s *Ledger) Abandon(ctx context.Context, e Entry, token, reason string, msg []byte, at time.Time) (string, error) {
	data, err := entryData(e)
	if err != nil {
		return "", fmt.Errorf("store: abandon: %w", err)
	}
	keys := []string{s.ledgerKey(e.Key), s.accountIndex(e.AccountID), s.recipientIndex(e.Recipient), s.passIndex(e.Pass)}
	n, err := deadScript.Run(ctx, s.rdb, keys, at.UnixMilli(), data, reason, LedgerTTL.Milliseconds(), e.Key, token, msg).Int()
	if err != nil {
		return "", fmt.Errorf("store: abandon: %w", err)
	}
	return map[int]string{1: StatusDead, 2: StatusUnknown}[n], nil
}

// MarkDead writes the dead-letter record of a notification whose every
// retry failed, with the last error: history shows it, and nothing sends it
// again. A notification already sent or rejected is left as it is, and one
// still claimed becomes unknown (see Abandon); the result says whether a
// dead-letter record was written.
func (s *Ledger) MarkDead(ctx context.Context, e Entry, reason string, at time.Time) (bool, error) {
	st, err := s.Abandon(ctx, e, "", reason, nil, at)
	return st == StatusDead, err
}

// Entry returns the ledger entry under key; ErrNotFound when there is none.
func (s *Ledger) Entry(ctx context.Context, key string) (Entry, error) {
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

// PassEntries returns the ledger entries of the messages of one pass, in
// no particular order: those claimed (or dead-lettered, or recorded as
// resolved or held out) so far, read from the pass's index in two round
// trips.
func (s *Ledger) PassEntries(ctx context.Context, pass string) ([]Entry, error) {
	if pass == "" {
		return nil, errors.New("store: pass entries: no pass")
	}
	keys, err := s.rdb.ZRange(ctx, s.passIndex(pass), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: pass entries: %w", err)
	}
	cmds, err := s.readEntries(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("store: pass entries: %w", err)
	}
	var out []Entry
	for i, c := range cmds {
		if len(c.Val()) == 0 {
			continue // expired
		}
		e, err := decodeEntry(keys[i], c.Val())
		if err != nil {
			return nil, fmt.Errorf("store: pass entries: %w", err)
		}
		if e.Pass == pass {
			out = append(out, e)
		}
	}
	return out, nil
}

// globEscaper escapes the characters SCAN's MATCH pattern reads.
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)

// History returns the account's ledger entries, newest claim first. An
// entry still claimed after its lease is shown unknown: the worker that
// claimed it died before recording what it did (its task may have been
// archived without a retry).
func (s *Ledger) History(ctx context.Context, accountID string) ([]Entry, error) {
	es, err := s.history(ctx, s.accountIndex(accountID))
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	return es, nil
}

// HistoryByRecipient returns the ledger entries sent or claimed for a
// recipient (case-insensitive), newest claim first, stale claims shown
// unknown as by History.
func (s *Ledger) HistoryByRecipient(ctx context.Context, recipient string) ([]Entry, error) {
	es, err := s.history(ctx, s.recipientIndex(recipient))
	if err != nil {
		return nil, fmt.Errorf("store: history by recipient: %w", err)
	}
	return es, nil
}

// history reads the entries of an index and prunes the expired ones.
func (s *Ledger) history(ctx context.Context, index string) ([]Entry, error) {
	now := time.Now()
	keys, err := s.rdb.ZRevRange(ctx, index, 0, -1).Result()
	if err != nil || len(keys) == 0 {
		return []Entry{}, err
	}
	cmds, err := s.readEntries(ctx, keys)
	if err != nil {
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
		if e.OutcomeUnknown(now) {
			e.Status = StatusUnknown // or claimed by a holder that died between claim and record
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

// readEntries reads the hashes of the ledger entries with these keys in
// one round trip; an expired entry's is empty.
func (s *Ledger) readEntries(ctx context.Context, keys []string) ([]*redis.MapStringStringCmd, error) {
	cmds := make([]*redis.MapStringStringCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = pipe.HGetAll(ctx, s.ledgerKey(k))
		}
		return nil
	})
	return cmds, err
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
	e.LeaseUntil = msTime(h["lease_ms"])
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
