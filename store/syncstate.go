package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A source is ready once its first full sync has committed every object
// type; an evaluation pass runs only when every source is ready and none
// is in the middle of a full sync (first, --full, or one resumed after an
// interruption), or when the source holding it back is stale. A pass that
// is held back is recorded as deferred, and the sync whose commit frees
// the portfolio takes it (EndSync), so that it runs at once rather than at
// the next tick. Both checks are Lua scripts, so a pass and a sync that
// end at the same moment never miss each other.

// SyncProgress is how far the sync of a source has gone.
type SyncProgress struct {
	Pages    int       `json:"pages"`
	Records  int       `json:"records"`
	Expected int       `json:"expected,omitempty"` // records the CRM announced, 0 when unknown
	At       time.Time `json:"at"`
}

// SyncState is what the store knows of a source's syncs.
type SyncState struct {
	Source       string
	FirstAttempt time.Time // the first sync ever tried
	Ready        time.Time // when its first full sync committed; zero: not ready
	// FullSince is the start of the full sync in progress (the first one,
	// a --full one, or one resumed after an interruption); zero when none.
	FullSince time.Time
	FullKind  string    // "first" or "full"
	Running   time.Time // start of the sync running or interrupted; zero: none
	// LastSuccess and LastSuccessEnd bound the last sync that completed;
	// LastFullSuccess is the start of the last full one that did.
	LastSuccess, LastSuccessEnd, LastFullSuccess time.Time
	LastError                                    string
	FailingSince                                 time.Time // first failure since the last success
	Progress                                     SyncProgress
}

// Blocking reports whether the source holds passes back: not ready yet,
// or a full sync in progress.
func (st SyncState) Blocking() bool { return st.Ready.IsZero() || !st.FullSince.IsZero() }

// Stale reports whether the source has gone more than after without a
// completed sync (counted from its first attempt when it never completed
// one). A stale source is used as it is, and reported.
func (st SyncState) Stale(now time.Time, after time.Duration) bool {
	since := st.LastSuccessEnd
	if since.IsZero() {
		since = st.FirstAttempt
	}
	return !since.IsZero() && now.Sub(since) > after
}

// Full sync kinds.
const (
	FullFirst = "first" // the source's first sync
	FullAgain = "full"  // a sync from scratch over stored records (--full)
)

func (s conn) syncStateKey(source string) string { return s.key("sync-state", source) }

func (s conn) deferredPassKey() string { return s.key("pass-deferred") }

// BeginSync records that a sync of source started at at; kind, when not
// empty, says it is a full sync starting from scratch (FullFirst or
// FullAgain). A resumed full sync keeps the kind and start of the one it
// resumes.
func (s *Syncs) BeginSync(ctx context.Context, source string, at time.Time, kind string) error {
	k := s.syncStateKey(source)
	ms := at.UnixMilli()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSetNX(ctx, k, "first_attempt", ms)
		p.HSet(ctx, k, "running", ms)
		p.HDel(ctx, k, "progress")
		if kind != "" {
			p.HSet(ctx, k, "full", ms, "full_kind", kind)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: begin sync: %w", err)
	}
	return nil
}

// SaveSyncProgress records how far the running sync of source has gone.
func (s *Syncs) SaveSyncProgress(ctx context.Context, source string, p SyncProgress) error {
	b, _ := json.Marshal(p) // plain fields: always encodes
	if err := s.rdb.HSet(ctx, s.syncStateKey(source), "progress", b).Err(); err != nil {
		return fmt.Errorf("store: sync progress: %w", err)
	}
	return nil
}

// FailSync records that the sync of source that started at started ended
// without completing, with why. A full sync stays in progress: the next
// sync of the source resumes it.
func (s *Syncs) FailSync(ctx context.Context, source string, started, at time.Time, why string) error {
	k := s.syncStateKey(source)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, k, "running")
		p.HSet(ctx, k, "last_error", why, "last_attempt_end", at.UnixMilli())
		p.HSetNX(ctx, k, "failing_since", started.UnixMilli())
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: fail sync: %w", err)
	}
	return nil
}

// Gate is the portfolio's readiness as sources and their stale_after see
// it: the sources a pass must wait for.
type Gate struct {
	Sources    []string        // every configured source
	StaleAfter []time.Duration // per source
}

// args returns the script's keys (the sources' states, then the deferred
// pass) and its arguments after now.
func (s conn) gateArgs(g Gate, now time.Time) ([]string, []any) {
	keys := make([]string, 0, len(g.Sources)+1)
	args := []any{now.UnixMilli()}
	for i, src := range g.Sources {
		keys = append(keys, s.syncStateKey(src))
		args = append(args, g.StaleAfter[i].Milliseconds())
	}
	return append(keys, s.deferredPassKey()), args
}

// blockingLua defines blocking(i, now): whether the source of KEYS[i]
// holds passes back (not ready, or a full sync in progress, and not stale);
// ARGV[i+1] is its stale_after in ms.
const blockingLua = `
local function blocking(i, now)
  local h = redis.call('HMGET', KEYS[i], 'ready', 'full', 'last_success_end', 'first_attempt')
  if h[1] and not h[2] then return false end
  local since = tonumber(h[3]) or tonumber(h[4])
  if since and now - since > tonumber(ARGV[i + 1]) then return false end
  return true
end
`

// endSyncScript completes the sync of KEYS[ARGV[#KEYS+1]] (ARGV after the
// stale limits: index, started ms, end ms, whether it was a full sync)
// and, when no source holds passes back any more, takes the deferred pass.
var endSyncScript = redis.NewScript(blockingLua + `
local now = tonumber(ARGV[1])
local n = #KEYS
local k = KEYS[tonumber(ARGV[n + 1])]
redis.call('HDEL', k, 'running', 'full', 'full_kind', 'last_error', 'failing_since', 'progress')
redis.call('HSETNX', k, 'ready', ARGV[n + 3])
redis.call('HSET', k, 'last_success', ARGV[n + 2], 'last_success_end', ARGV[n + 3])
if ARGV[n + 4] == '1' then redis.call('HSET', k, 'last_full_success', ARGV[n + 2]) end
for i = 1, n - 1 do
  if blocking(i, now) then return false end
end
local d = redis.call('GET', KEYS[n])
if d then redis.call('DEL', KEYS[n]) end
return d
`)

// EndSync records that the sync of source (one of g.Sources) that started
// at started completed at at; full says it was a full sync. The source is
// ready from then on. When no source holds passes back any more, it
// returns the deferred pass (and forgets it): the caller runs it now.
func (s *Syncs) EndSync(ctx context.Context, g Gate, source string, started, at time.Time, full bool) ([]byte, error) {
	idx := -1
	for i, src := range g.Sources {
		if src == source {
			idx = i
		}
	}
	if idx < 0 {
		g.Sources = append(g.Sources, source)
		g.StaleAfter = append(g.StaleAfter, 0)
		idx = len(g.Sources) - 1
	}
	keys, args := s.gateArgs(g, at)
	fullArg := "0"
	if full {
		fullArg = "1"
	}
	args = append(args, idx+1, started.UnixMilli(), at.UnixMilli(), fullArg)
	d, err := endSyncScript.Run(ctx, s.rdb, keys, args...).Text()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: end sync: %w", err)
	}
	return []byte(d), nil
}

// SyncStates returns the sync state of each source, in order.
func (s *Syncs) SyncStates(ctx context.Context, sources []string) ([]SyncState, error) {
	cmds := make([]*redis.MapStringStringCmd, len(sources))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, src := range sources {
			cmds[i] = p.HGetAll(ctx, s.syncStateKey(src))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: sync states: %w", err)
	}
	out := make([]SyncState, len(sources))
	for i, cmd := range cmds {
		out[i] = decodeSyncState(sources[i], cmd.Val())
	}
	return out, nil
}

func decodeSyncState(source string, h map[string]string) SyncState {
	st := SyncState{
		Source:          source,
		FirstAttempt:    msTime(h["first_attempt"]),
		Ready:           msTime(h["ready"]),
		FullSince:       msTime(h["full"]),
		FullKind:        h["full_kind"],
		Running:         msTime(h["running"]),
		LastSuccess:     msTime(h["last_success"]),
		LastSuccessEnd:  msTime(h["last_success_end"]),
		LastFullSuccess: msTime(h["last_full_success"]),
		LastError:       h["last_error"],
		FailingSince:    msTime(h["failing_since"]),
	}
	if p := h["progress"]; p != "" {
		_ = json.Unmarshal([]byte(p), &st.Progress) // a bad progress line is no progress
	}
	return st
}
