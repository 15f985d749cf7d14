// Package store keeps crmsync's state in Redis through go-redis v9. A
// Store is one connection and namespace, in five parts, each its own type,
// so that each worker's interface names only what it uses:
//
//   - Records: the canonical records synced from the CRMs (accounts,
//     contacts and deals in one bundle per account, owners), watermarks,
//     rejects, sweeps, reps' "contacted" marks (records.go, bundle.go,
//     codec.go, write.go, summary.go, clients.go, sweep.go, migrate.go);
//   - Syncs: each source's sync bookkeeping: the one-sync lock, readiness,
//     full syncs and progress, failures, the CRM's pauses, rotated refresh
//     tokens (synclock.go, syncstate.go, pause.go, tokens.go);
//   - Passes: evaluation passes: the pass lock, plans, shard results,
//     deferred passes, reports, digests, and the rules' flags, cooldowns
//     and snoozes carried from pass to pass (passes.go, reports.go,
//     digests.go, flags.go, cooldown.go, snooze.go);
//   - Ledger: the notification ledger (claim, send, record; unknown
//     outcomes) and the delivery channels' pauses (ledger.go, channels.go);
//   - Suppressions: the local suppression list and the webhook events
//     already handled (suppress.go, once.go).
//
// Every key lives under "<ns>:", where ns is the namespace given to Open or
// New. Ids are the model's internal ids ("source:external"), so they may
// contain ':'; each kind of key has its own prefix so that no id can make
// two kinds collide. Values are JSON-encoded model types.
//
// Key layout (<id> is an internal id, <email> a trimmed, lower-cased address):
//
//	<ns>:accounts                  ZSET, score 0, member account id: ordered iteration
//	<ns>:records                   hash, account id → its bundle (bundle.go): the account's record
//	                               and its contacts' and deals', compactly encoded (codec.go),
//	                               with a token every write changes; what a pass's shards read
//	<ns>:features                  hash, account id → its features record (features.go): what the
//	                               features read of the account, its contacts' last activity, its
//	                               won deals' close dates and amounts, packed, written with the
//	                               bundle; what a pass plans from, and its shards read when their
//	                               rules read no more of an account
//	<ns>:won                       the won deals of layouts 4 to 8: dropped by Migrate
//	<ns>:ptrs:<bucket>             hash, a pointer pack (packs.go): "c<contact id>" or "d<deal id>" but
//	                               its last byte → for each such id, its last byte and the account it
//	                               is filed under; 1,048,576 buckets (five hex digits) by FNV-1a of the
//	                               pack's field but its last byte: a hundred consecutive ids share one
//	<ns>:filed:<bucket>            the pointers of layouts 6 and 7, a field per pointer, by FNV-1a of the
//	                               field but its last byte (up to layout 5: 65,536 buckets, hex without
//	                               leading zeros): packed by Migrate
//	<ns>:schema                    string, the layout version of the records (Migrate)
//	<ns>:stored:<source>           string "1": the source may hold records. Set before a sync's first
//	                               page is written; a sync that finds it unset asks Redis only about
//	                               what its own pages wrote (stored.go, PageWriter)
//	<ns>:acct:<id>, <ns>:summary, <ns>:contacts:<id>, <ns>:deals:<id>, <ns>:contact:<id>,
//	<ns>:deal:<id>                 the layouts before 3 (a key per record): read and removed
//	                               by Migrate
//	<ns>:owner:<id>                string, model.Owner JSON
//	<ns>:watermark:<source>        hash, connectors.Watermark
//	<ns>:rejects:<source>          list of model.Reject JSON, newest first, at most 1000
//	<ns>:rejects-total:<source>    integer, rejects ever recorded for the source
//	<ns>:sweep:<source>            string, start (ms) of the full sync whose sweep is open
//	<ns>:sweep:<source>:seen:a     set of account ids stored since then (:c contacts, :d deals)
//	<ns>:refresh-token:<source>    hash {from: sha256 of the configured token, token: the latest}
//	<ns>:paused:<source>           hash {until (ms), reason}, expiring then: the CRM asked to wait
//	<ns>:sync-lock:<source>        string, the running sync's holder, a 30-second lease it renews
//	<ns>:sync-fence:<source>       string, the holder that took the sync lock last: a sync's
//	                               writes WATCH it and stop once another holder took over (fenced.go)
//	<ns>:sync-state:<source>       hash {first_attempt, ready, full, full_kind, running,
//	                               last_success, last_success_end, last_full_success,
//	                               last_error, last_attempt_end, failing_since (ms),
//	                               progress (JSON)}: readiness, full syncs, failures
//	<ns>:pass-deferred             string, the pass (EvaluatePayload JSON) waiting for a
//	                               source's first or full sync to commit
//	<ns>:pass-lock                 string, the running pass, with a TTL
//	<ns>:pass:<pass>:plan          string, the pass's plan (thresholds, shards), 48 h
//	<ns>:pass:<pass>:shards        hash, shard → its result, 48 h
//	<ns>:pass:<pass>:digests       set of the pass's digest keys; :digest:<key> list of items
//	<ns>:pass:<pass>:heads         hash, "rule|account" → a match's head, until the pass picks what
//	                               goes now under limits.per_pass: what the pick ranks and defers
//	                               it by (value, channels), and what the messages that go are planned
//	                               again from (ledger keys), 48 h. (:staged, whole matches, is what
//	                               earlier versions kept besides; reports.go removes it with the pass)
//	<ns>:merge-groups              hash, account id → the ids of the accounts the latest pass
//	                               merged it with, primary first, "\n"-separated (config merge)
//	<ns>:merge-groups:new          the same, being written before it replaces merge-groups
//	<ns>:outcomes:<rule>           hash, account id → its open Outcome JSON: the flag's time, the end
//	                               of its outcome_window, messaged or holdout
//	<ns>:outcome-stats:<rule>      hash {messaged, messaged_reengaged, holdout, holdout_reengaged}:
//	                               the rule's closed outcomes
//	<ns>:rule-activated:<rule>     string, the pass that first evaluated the rule (baseline)
//	<ns>:flags:<rule>              hash, account id → FlagState JSON (pending or firing)
//	<ns>:flagged:<rule>            sorted set (all scores 0), the account ids that have a flag state
//	                               or an open outcome of the rule, and maybe some that had: what a
//	                               pass reads a batch's states through, by id range (flagindex.go)
//	<ns>:snapshot:<month>          hash, account id → insights.Snapshot (13 bytes) at the end
//	                               of month (YYYY-MM), expires after 800 days
//	<ns>:snapshot-rules:<month>    string, the rules a snapshot's flag bits stand for, "\n"-separated
//	<ns>:snapshot-day:<month>      string, the day (YYYY-MM-DD) of the latest pass that saved the
//	                               month's snapshots: a pass the same day reads them back and writes
//	                               only those that changed, the first of a day writes them all
//	<ns>:cooldown:<rule>:<id>      string holding the pass that acquired it, with a TTL
//	                               (':' and '%' in the rule name are %-escaped)
//	<ns>:snooze:<rule>:<id>        integer, until (ms), expiring then: a rep snoozed it
//	<ns>:contacted:<id>            integer, the latest "mark as contacted" click (ms)
//	<ns>:contacted-marks           ZSET, "<id>\x00<ms>" per contacted mark, all scores 0: the
//	                               marks of an id range in one ZRANGE BYLEX (contacted.go)
//	<ns>:seen:<key>                a webhook event already handled (SendGrid's sg_event_id,
//	                               a Slack request), expiring
//	<ns>:channel:<channel>:paused  hash {reason, since_ms}: the channel's credentials were
//	                               refused; its messages wait in the queue
//	<ns>:channel:<channel>:probing / :probed   the credential probe's lock and last time
//	<ns>:slack-pace:<channel>      string, µs (Redis clock) of the channel's next free turn to post
//	                               (notify/slack SharePacing), expiring once it is past
//	<ns>:ledger:e:<key>            hash {data, status, token, claimed_ms, sent_ms, error},
//	                               expires 400 days after its last write
//	<ns>:ledger:by-account:<id>    ZSET of ledger keys, score = claimed time (ms)
//	<ns>:ledger:by-recipient:<r>   ZSET of ledger keys by lower-cased recipient
//	<ns>:ledger:by-pass:<pass>     ZSET of the ledger keys of a pass's messages (and its resolved
//	                               and holdout records), for the pass's outcome (PassEntries)
//	<ns>:suppress:<email>          hash {reason, at}
//	<ns>:report:<pass>             string, the pass report: the newest retention.reports (default
//	                               500), at most 400 days
//	<ns>:reports:latest            string, the pass of the latest report
//	<ns>:reports:index             ZSET, pass → when its report was saved (ms): the newest retention.reports
//	                               are kept; saving a report UNLINKs older ones' report and pass:<pass>:* keys
//
// Contacts and deals may arrive before their account: they are filed under
// their account id anyway, and only accounts that exist are returned.
// A contact or deal whose account changes moves to the new account's
// bundle in the same write that stores it. Records a page lists as deleted
// leave in that same write; a full sync's sweep (BeginSweep, EndSweep)
// removes what the CRM no longer has.
//
// Atomicity: StorePage reads the bundles and pointers a page touches in
// one transaction (MULTI of HMGETs), builds the new bundles in Go, and
// writes them with the page's pointers, owners, rejects and watermark in
// one Lua script that first checks nothing it read has changed (the
// bundles' tokens), else reads again: a source's watermark is never ahead
// of its stored records, and two writers never lose each other's records.
// A sync stores its pages through a PageWriter, fenced by its sync lock
// instead (fenced.go): every writer of a source's records is that
// source's sync, so a write only checks, with WATCH, that its sync still
// holds the lock, and writes the change as plain commands in one MULTI.
// It sends a page's read before queueing the write of the page before,
// overlays what it read with the writes still queued, and runs the
// writes one after the other, in page order. The first sync of a source
// (no stored:<source> mark) reads only what its own pages wrote, as a
// Bloom filter of their ids tells (knownids.go).
// Cooldowns and the ledger are Lua scripts. Reads of many accounts are
// pipelined.
//
// Redis Cluster and Sentinel: Dial opens a server, a Sentinel-managed
// primary or a Cluster. Scripts and transactions touch several keys at
// once, and StorePage and the sweep build key names from the namespace, so
// every key of a namespace must hash to one slot. On a *redis.ClusterClient,
// New uses a namespace without a hash tag as "{namespace}", and SCAN
// (Migrate's steps, once) goes to the primary holding that slot. Nothing a
// sync, a pass or the dashboard does walks the key space.
// Redis replicates asynchronously: a write acknowledged by a primary that
// dies before replicating it is lost, so stop primaries with SHUTDOWN or
// pause writes before a SENTINEL FAILOVER.
//
// With an empty URL, Open starts an embedded miniredis whose TTLs follow
// the wall clock (moved forward every 100 ms), so cooldowns, ledger entries and
// asynq's own keys expire as they would on a real Redis.
package store
