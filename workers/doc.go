// Package workers holds crmsync's asynq task types and their handlers.
//
// Task catalogue (queue and its weight in brackets; a queue with a higher
// weight is served more often, so a Slack nudge never waits behind a big
// sync). asynq sees every queue as "<namespace>:<queue>" and every task id
// as "<namespace>:<id>" (Namespace), so deployments sharing a Redis never
// take each other's tasks:
//
//	sync:source     [sync, 1]      SyncPayload: page one source's connector from its
//	                               watermark into the store; the watermark moves
//	                               with each stored page, in the same transaction.
//	                               Ids: sync:<source>@<tick> (schedule),
//	                               sync-start:<source>@<minute> (start of run),
//	                               sync-resume:<source>@<ms> (an interrupted sync,
//	                               resumed by Syncer.ResumeInterrupted).
//	evaluate:pass   [evaluate, 2]  EvaluatePayload: plan a pass: read the whole portfolio
//	                               once for its thresholds (ABC bounds, RFM quintiles)
//	                               and cut it into shards (ranges of account ids).
//	                               Id evaluate:<pass>. While a source's first or full
//	                               sync has not committed, the pass waits in the retry
//	                               set (RetryLater) and that sync's commit runs it.
//	evaluate:shard  [evaluate, 2]  ShardPayload: evaluate the rules on one shard and take
//	                               each firing match through the pipeline of gates
//	                               (pipeline.go); with limits.per_pass set, stage what
//	                               it would send, else enqueue it in batches. The last
//	                               shard picks what goes under the caps, enqueues it and
//	                               the digests, and writes the report.
//	                               Id evaluate:<pass>:shard:<n>.
//	deliver:email   [email, 4]     DeliverPayload: a batch of emails, each claimed in
//	deliver:slack   [slack, 6]     the ledger before it is sent, so a retry or a
//	                               re-run never sends it twice. Id deliver:<hash of
//	                               the batch's ledger keys>.
//	slack:action    [slack, 6]     ActionPayload: a rep's click on a nudge's button
//	                               (snooze, contacted), done off the request so Slack
//	                               gets its answer at once.
//
// Tasks carry batches (a shard of work, a batch of messages), never a single
// record: asynq does some ten thousand tasks a second on one Redis, so one
// task per contact would not scale. A task that must wait (a sync whose
// source another live sync holds, a pass waiting for a sync) returns a
// RetryLater: it runs again later without spending its retries.
package workers
