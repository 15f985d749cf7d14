// Package sendgrid delivers crmsync's re-engagement emails through the
// SendGrid v3 Mail Send API (POST /v3/mail/send). A Sender implements
// notify.Sender: one notify.Message becomes one email to one recipient.
//
// # What is sent
//
// The email is either a local template, already rendered by crmsync into
// Message.Subject, Message.Text and Message.HTML (sent as text/plain then
// text/html), or a SendGrid dynamic template, Message.TemplateID ("d-...")
// filled from Message.TemplateData. Every email carries the categories
// "crmsync" and the rule name, and the custom_args crmsync_rule,
// crmsync_account and crmsync_ledger_key, which SendGrid echoes back in
// every event webhook call so that bounces and unsubscribes can be joined
// to the ledger. Custom args and categories are not treated as personal
// data by SendGrid: keep e-mail addresses and names out of rule names.
//
// Subjects and display names are single lines: line breaks and control
// characters coming from a CRM are turned into spaces. Bodies are sent as
// JSON data, never as raw MIME, so they cannot inject headers.
//
// # Outcomes
//
// Send returns nil when SendGrid accepts the email (202, or 200 in
// sandbox mode). A 429 is a
// *notify.RateLimitError whose After runs until X-RateLimit-Reset. A 401
// or 403 (a wrong or revoked key, a key without Mail Send, an unverified
// sender) is a *notify.CredentialsError: it concerns every email alike, so
// the channel pauses rather than rejecting the message. A bad recipient, a
// message that cannot be sent, and the other 4xx answers (400, 404, 413,
// …) are *StatusError or plain errors wrapping notify.ErrPermanent:
// retrying cannot fix them. 5xx answers and connections that fail are
// plain, retryable errors. SendGrid has no idempotency key: after the call
// deadline (Config.Timeout) or a connection lost once the request was
// written, the email may in fact have been sent, so the error wraps
// notify.ErrOutcomeUnknown and the message is not sent again blindly.
//
// Probe checks the key without sending (GET /v3/scopes must list
// mail.send), so that a paused channel resumes once the key works again.
//
// # Setting up SendGrid
//
// API key: in the SendGrid console, Settings > API Keys > Create API Key,
// choose Restricted Access and grant only Mail Send > Full Access (add
// Suppressions > Read Access later if crmsync is made to read suppression
// lists). The key, "SG.…", is shown once; give it to crmsync through
// ${SENDGRID_API_KEY} or an api_key_file, never in the config file. The
// sender address (from) must be a verified Single Sender or belong to an
// authenticated domain (Settings > Sender Authentication), or SendGrid
// answers 403.
//
// Unsubscribe group: under Suppressions > Unsubscribe Groups (not in
// Marketing), create a group such as "Account follow-ups", and note its
// Group ID; set it as unsubscribe_group_id. Wait a minute after creating
// it before the first send. Every email then belongs to that group:
// SendGrid drops emails to anyone who unsubscribed from it or globally,
// adds a List-Unsubscribe header, and fills the unsubscribe link. Put the
// link in the content: <%asm_group_unsubscribe_raw_url%> in a local
// template, {{{unsubscribe}}} in a dynamic template (or enable
// Tracking > Subscription Tracking for a footer).
//
// Sandbox mode (Config.Sandbox) sets mail_settings.sandbox_mode: SendGrid
// validates the request and answers 200 instead of 202 but delivers
// nothing, for a trial against the real API.
//
// EU region: an account or subuser created in the EU region must use
// BaseURL https://api.eu.sendgrid.com and an API key created in that
// region. BaseURL also points the Sender at a proxy or a test server.
package sendgrid
