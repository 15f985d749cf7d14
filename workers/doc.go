// Package workers holds crmsync's asynq task types and their handlers.
//
// Task catalogue (queue in brackets; a queue with a higher weight is served
// more often, so a Slack nudge never waits behind a big sync):
//
//	sync:source     [sync, 1]      SyncPayload: page one source's connector from its
//	                               watermark into the store; the watermark moves
//	                               with each stored page, in the same transaction.
//	evaluate:pass   [evaluate, 2]  EvaluatePayload: plan a pass: read the whole portfolio
//	                               once for its thresholds (ABC bounds, RFM quintiles)
//	                               and cut it into shards (ranges of account ids).
//	evaluate:shard  [evaluate, 2]  ShardPayload: evaluate the rules on one shard, apply
//	                               cooldowns and safety rails and enqueue the rendered
//	                               messages in batches; the last shard writes the report.
//	deliver:email   [email, 4]     DeliverPayload: a batch of emails, each claimed in
//	deliver:slack   [slack, 6]     the ledger before it is sent, so a retry or a
//	                               re-run never sends it twice.
//
// Tasks carry batches (a shard of work, a batch of messages), never a single
// record: asynq does some ten thousand tasks a second on one Redis, so one
// task per contact would not scale.
package workers
