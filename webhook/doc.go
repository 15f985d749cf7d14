// Package webhook serves the two inbound endpoints of `crmsync run`: the
// SendGrid event webhook, which turns unsubscribes, bounces and spam
// reports into suppressions, and Slack interactivity, which receives the
// clicks on the buttons of nudges. Both verify a signature over the raw
// request body, refuse timestamps more than five minutes from the local
// clock (Window), and drop duplicates through a Deduper (store.Store).
//
// # SendGrid event webhook: POST /webhooks/sendgrid
//
// In SendGrid, open Settings > Mail Settings > Event Webhook and create a
// webhook:
//
//   - Post URL: https://<host>/webhooks/sendgrid
//   - Events: Bounce, Dropped, Spam Report, Unsubscribe and Group
//     Unsubscribe (the others are accepted and ignored).
//   - Enable "Signed Event Webhook" (Security features), save, and copy the
//     Verification Key into notify.email.webhook_public_key of crmsync.yaml
//     (for instance ${SENDGRID_WEBHOOK_PUBLIC_KEY}). crmsync refuses to
//     start with a key that is not an ECDSA P-256 public key.
//
// Each batch is verified (ECDSA P-256 over the timestamp header and the raw
// body; 403 when the signature is missing or wrong or the timestamp stale),
// parsed (400 when it is not a JSON array) and processed event by event:
//
//   - unsubscribe, spamreport: suppressed;
//   - group_unsubscribe: suppressed, the reason names the asm_group_id;
//   - bounce of type "bounce" (hard): suppressed; "blocked" is a temporary
//     refusal and is not;
//   - dropped because the address is on a SendGrid bounce, unsubscribe or
//     spam report list: suppressed; other drop reasons are not;
//   - processed, delivered, deferred, open, click and the rest: ignored.
//
// SendGrid delivers events at least once and often several times: an event
// is suppressed once per sg_event_id (or hash of the event when it has
// none) for SendGridDedupeTTL. The answer is 200 once the batch is
// processed and 503 only when the store fails, so that SendGrid retries the
// batch (it does so for 24 hours); events already processed are then
// dropped as duplicates. The log carries counts, never addresses.
//
// # Slack interactivity: POST /slack/interactions
//
// In the Slack app settings (api.slack.com/apps), open Interactivity &
// Shortcuts, turn Interactivity on and set the Request URL to
// https://<host>/slack/interactions. Copy the Signing Secret from Basic
// Information > App Credentials into notify.slack.signing_secret (for
// instance ${SLACK_SIGNING_SECRET}).
//
// Requests are verified with Slack's v0 signature (HMAC-SHA256 of
// "v0:<timestamp>:<raw body>"); a bad signature or a timestamp more than
// five minutes away is answered 401. A request seen before (same timestamp
// and signature, within SlackReplayTTL) is answered 200 and not acted upon.
// The form field "payload" must hold a Slack interaction (400 otherwise).
// In a block_actions interaction, the buttons with action_id ActionSnooze
// and ActionContacted, whose value was built by ButtonValue, become an
// Action on the ActionQueue; the "View in CRM" link button and unknown
// actions are ignored. The answer is an empty 200 as soon as the actions
// are queued (Slack wants one within 3 seconds), or 500 when queueing
// fails.
package webhook
