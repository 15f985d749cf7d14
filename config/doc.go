// Package config loads and validates the crmsync config file.
//
// The file is strict YAML: an unknown key anywhere is an error (with a
// "did you mean" suggestion), and so is a duplicate key. Every problem in
// the file is reported at once, each as
//
//	FILE:LINE:COL: KEY.PATH: message
//
// for example
//
//	crmsync.yaml:12:11: sources[1].type: unknown source type "hubspott" (did you mean "hubspot"?)
//
// The position is that of the value, of the key for an unknown key, and of
// the enclosing mapping for a missing key.
//
// # Environment variables
//
// Scalar values (never keys) may use ${NAME}, which is replaced by the
// environment variable NAME (an unset variable is an error), and
// ${NAME:-default}, which uses default when NAME is unset or empty. Write
// $$ for a literal $; a $ not followed by { or $ is kept as is. Expansion
// happens after parsing, so a variable's value is always one plain value and
// can never add keys. Values are read as text, so quoting does not matter:
// max: "${MAX_EMAILS}" is an integer.
//
// # Secrets
//
// Every secret key (redis.url, sources[].auth.token, .client_secret,
// .refresh_token, .private_key and .certificate, notify.email.api_key,
// notify.slack.token, http.admin_token) has a
// sibling <key>_file naming a file that holds the secret, read at load with
// its trailing newline removed; at most one of the two may be set. Secrets
// never appear in error messages, in logs or in "crmsync config check"
// output: they print as <secret>.
//
// # Paths
//
// Relative paths (sources[].path, notify.outbox, templates, every *_file and
// rule_files) are relative to the folder of the config file, not to the
// working directory.
//
// # Durations and schedules
//
// Durations are Go durations ("90m", "12h") or whole days and weeks ("30d",
// "2w", "1d12h"). A schedule is a 5-field cron spec ("minute hour
// day-of-month month day-of-week", each field *, a number, a range a-b, a
// list a,b and an optional /step; day of week 0-6 with 0 = Sunday or
// SUN-SAT, months 1-12 or JAN-DEC, ? as *), or "@every <duration>" (whole
// seconds, at least 1s), or one of @hourly, @daily (@midnight), @weekly,
// @monthly, @yearly (@annually). Schedules are checked by the parser the
// scheduler reads them with (robfig/cron's standard parser), so what
// "crmsync config check" accepts runs; they are read in the timezone key's
// zone (no TZ= prefix). "@every 1d" is stored as "@every 24h0m0s".
//
// # Keys
//
//	redis:
//	  url:        # redis://[user:password@]host:port/db or rediss://…; secret.
//	              # Absent: an embedded in-memory Redis, whose state is lost on exit.
//	  url_file:   # file holding url
//	  namespace:  # isolates a deployment on a shared Redis: prefix of its keys,
//	              # asynq queues ("<namespace>:<queue>"), task ids and locks.
//	              # 1 to 64 letters, digits, "-", "_" and ".", with at most one
//	              # Redis Cluster hash tag in braces (prod-{crm}; quote a value
//	              # starting with "{": "{crmsync}"); no spaces, no ":" (crmsync
//	              # adds the ":" itself). Checked after ${ENV} expansion, so
//	              # an empty variable is an error. Default "crmsync".
//
//	timezone:     # IANA time zone of the business (schedules, quiet hours of
//	              # contacts without their own zone). Default "UTC".
//
//	locale:       # en or fr: built-in email templates, every fixed Slack text,
//	              # number and date formats. A contact's or account's language,
//	              # when the CRM has one, picks the email template. Default en.
//	currency:     # ISO 4217 code (EUR, USD) of amounts whose deals carry none.
//	              # Default: none, amounts are shown without a currency.
//
//	sources:      # CRMs to sync from; may be empty (evaluate-only set-up).
//	  - name:     # required, unique, lower-case letters, digits, "-" and "_"
//	    type:     # required; one of: csv, dynamics, hubspot, monday, salesforce, sellsy
//	    schedule: # sync schedule. Default "@every 15m".
//	    stale_after: # how long the source may go without a completed sync
//	              # before evaluation passes stop waiting for its first or full
//	              # sync: its data is then used as it is and reported stale (pass
//	              # report, /healthz detail, crmsync_source_stale). Default 24h.
//	    path:     # csv: required; folder holding accounts.csv, contacts.csv,
//	              # deals.csv and owners.csv
//	    delimiter:   # csv: ",", ";", "\t" (or tab), "|" or auto (default: detected from
//	                 # each file's header line); quote "," and "|"
//	    encoding:    # csv: utf-8 (default; a BOM is skipped) or windows-1252
//	                 # (cp1252; latin1 and iso-8859-1 are read as windows-1252)
//	    date_format: # csv: one more date format, such as DD/MM/YYYY or DD/MM/YYYY HH:mm
//	    decimal:     # csv: decimal separator of amounts, "." (default) or ","
//	    base_url: # hubspot: API base URL override (proxy, tests). Default https://api.hubapi.com
//	              # dynamics: required; the organization URL, https://{org}.crm.dynamics.com
//	              # (crm4, crm.microsoftdynamics.us, ...)
//	              # sellsy: API host override. Default https://api.sellsy.com
//	              # monday: API host override. Default https://api.monday.com
//	    account_id: # sellsy: required; the Sellsy account's number, which scopes record ids
//	    login_url:   # salesforce: token host. Default https://login.salesforce.com;
//	                 # https://test.salesforce.com for sandboxes; the org's My Domain
//	                 # URL, which the client credentials flow requires
//	    api_version: # salesforce: REST API version, "v66.0" by default; dynamics: Web
//	                 # API version, "v9.2" by default; monday: the API-Version header,
//	                 # "2025-07" by default (YYYY-MM)
//	    auth:     # hubspot, salesforce, dynamics, sellsy and monday: required; the fields set
//	              # pick the flow (monday: token, a personal API token or an OAuth app's
//	              # access token, or token_file)
//	      token:              # hubspot private app token; secret
//	      client_id:          # OAuth app / connected app consumer key
//	      client_secret:      # secret; hubspot OAuth, salesforce client credentials and refresh token;
//	                          # sellsy: always (client credentials, or with refresh_token)
//	      refresh_token:      # secret; OAuth refresh token flow (rotated tokens are kept in Redis)
//	      username:           # salesforce JWT bearer: the integration user
//	      private_key:        # salesforce JWT bearer: PEM RSA key of the app's certificate; secret
//	      audience:           # salesforce JWT bearer: aud claim. Default the login host
//	      tenant_id:          # dynamics: Entra directory (tenant) id or domain; required
//	                          # unless token_url is set
//	      certificate:        # dynamics: PEM certificate uploaded to the app registration,
//	                          # with private_key its PEM RSA key (instead of client_secret)
//	      token_url:          # dynamics: token endpoint override (other clouds). Default
//	                          # https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token
//	                          # sellsy: default https://login.sellsy.com/oauth2/access-tokens
//	      scope:              # dynamics: token scope override. Default {base_url}/.default
//	      (each secret, and certificate, also as <key>_file)
//	    limits:
//	      burst:             # hubspot: requests per 10 s. Default 100 (110 public apps, 190 Pro/Enterprise)
//	      search_per_second: # hubspot: search API pace. Default 5
//	      daily_reserve:     # left to other integrations: hubspot a number of requests
//	                         # (default 1000), salesforce a share such as "10%" (default),
//	                         # sellsy a number of requests (default 0)
//	      daily_calls:       # monday: the plan's daily call limit (200, 1000, 10000, 25000);
//	                         # syncs stop before it. Default 0: stop when monday says so
//	      full_every:        # sellsy, monday: how often a sync reads everything to drop deleted
//	                         # records (at least 1h). Default 7d
//	      won_rescan:        # sellsy: how far back each sync re-reads opportunities whose
//	                         # status changed, to catch amount edits (0s: off). Default 30d
//	      requests_per_5min: # dynamics: request pace under Dataverse's 6000 per user
//	                         # in 5 minutes (1 to 6000). Default 5400
//	    boards:   # monday: required; the CRM boards, by id (the number in the board's URL),
//	              # and their columns by role (crmsync sources describe NAME lists them)
//	      accounts: {id: "123", columns: {owner: COL, domain: COL}}
//	      contacts: {id: "456", columns: {account: COL, email: COL, phone: COL, title: COL, opt_out: COL}}
//	      deals:    {id: "789", columns: {account: COL, stage: COL, value: COL, close_date: COL}, won: [Won]}
//	    fields:   # hubspot, salesforce and dynamics (lower-case logical names, lookups
//	              # as _name_value), sellsy, monday (column ids: lifecycle.field a status
//	              # column on Accounts; primary_contact.field an account connect-boards
//	              # column, .property a contact checkbox): CRM fields feeding the model;
//	              # absent parts keep the connector's defaults (README, "Mapping CRM fields")
//	      lifecycle: {field: NAME, map: {CRM value: prospect|customer|former|other}}
//	      last_activity_at: [NAME, ...]   # the latest wins
//	      primary_contact:  # one of: {property: NAME} a contact field true on the primary
//	                        # contact; {field: NAME} an account field holding its id;
//	                        # {association_label: LABEL} (hubspot)
//	      extra: [NAME, ...]              # exposed to rules as account.extra.NAME
//	      language:  # contact, account or both: fields holding a language (fr,
//	                 # en-GB, French); emails go in the contact's, else the account's.
//	                 # Default hubspot {contact: hs_language}, salesforce none
//	        contact: NAME
//	        account: NAME

//	merge:        # one company in several sources becomes one portfolio account:
//	              # revenue summed, activity the latest, contacts united by email
//	              # (opted out if any copy is), owner and name from the first source
//	              # in precedence that has them. Needs two sources or more.
//	  by:         # automatic matches, in order: domain (equal website domains;
//	              # gmail.com and other public domains never match), contact_email
//	              # (a shared contact address). Two accounts of one source are
//	              # never joined; a key held by two accounts of one source is unused.
//	  mapping_file: # CSV, applied first: header of source names, then one company
//	              # per row with its id in each source (blank when absent); errors
//	              # are reported at the file's line and column
//	  precedence: [NAME, ...] # source order for ids, names and owners. Default: the
//	              # order of sources; unlisted sources come after in that order

//	notify:       # at least one of outbox, email.api_key, slack.token
//	  outbox:     # folder: when set, every email and Slack message is written
//	              # there as JSON lines instead of being sent (dry run, demo)
//	  email:
//	    from:     # sender of customer emails. Default
//	              # {email: crmsync@localhost, name: crmsync}, for dry runs
//	              # (outbox) only: SendGrid refuses it.
//	      email:  # required when from is set; a plain address SendGrid
//	              # accepts: local@domain.tld, no display name, no spaces
//	      name:   # display name
//	    reply_to_owner: # replies go to the account owner. Default true.
//	    api_key:  # SendGrid API key (Mail Send); secret
//	    api_key_file: # file holding api_key
//	    base_url: # SendGrid host. Default https://api.sendgrid.com
//	              # (EU: https://api.eu.sendgrid.com)
//	    unsubscribe_group_id: # SendGrid unsubscribe group of every email
//	    sandbox:  # SendGrid validates the emails but delivers none. Default false.
//	    webhook_public_key: # verification key of SendGrid's signed event webhook;
//	              # when set, POST /webhooks/sendgrid turns unsubscribes, bounces
//	              # and spam reports into suppressions
//	  slack:
//	    token:    # bot token (xoxb-...); secret
//	    token_file: # file holding token
//	    base_url: # Slack Web API URL ending in "/". Default https://slack.com/api/
//	    signing_secret: # the Slack app's signing secret; secret. When set,
//	              # POST /slack/interactions takes the nudges' button clicks
//	    signing_secret_file: # file holding signing_secret
//	    fallback_channel: # "#channel" or channel ID (C…) for owners without a
//	                      # Slack account
//
//	limits:
//	  emails_per_contact: # at most max emails to one contact in any window of length per
//	    max:      # at least 1. Default 2.
//	    per:      # duration. Default 30d.
//	  quiet_hours: # no email in this window, in the recipient's time zone. Default: none.
//	    from:     # "HH:MM"; required when to is set
//	    to:       # "HH:MM"; required when from is set; may be earlier than from
//	              # (the window crosses midnight)
//	    weekends: # Saturdays and Sundays are quiet all day. Default false.
//	  per_pass:   # what one evaluation pass sends at most; 0: no cap
//	    emails:   # customer emails, all rules. Default 200. Over the cap, matches
//	              # are deferred to later passes, most valuable first (ABC class,
//	              # then revenue_12m), their rule's cooldown given back
//	    slack_per_rep:     # separate nudges to one rep. Default 5; the rest are
//	              # folded into one digest for the rep
//	    slack_per_channel: # separate posts to one channel. Default 10; the rest
//	              # are folded into one digest for the channel
//
//	evaluate:
//	  schedule:   # when rules are evaluated over the whole portfolio.
//	              # Default "0 7 * * 1-5" (07:00 on weekdays).
//
//	workers:
//	  concurrency: # tasks processed at once by this process, at least 1. Default 10.
//
//	rule_files:   # required, at least one: rule files or globs ("rules/*.yaml");
//	              # each glob must match at least one file when the config is
//	              # loaded (folders do not count)
//
//	templates:    # folder of email templates overriding the built-in ones;
//	              # must exist when set. Default: built-in templates only.
//
//	http:
//	  listen:     # host:port of the HTTP server (webhooks, Slack buttons,
//	              # admin). Default "127.0.0.1:8080". The environment variable
//	              # CRMSYNC_HTTP_LISTEN, when set, replaces it (the container
//	              # image sets 0.0.0.0:8080).
//	  admin_token:      # secret required by admin endpoints
//	  admin_token_file: # file holding admin_token
//	web:          # the dashboard on http.listen. Without signin.slack it answers on
//	              # loopback only, everyone there an admin
//	  public_url: # the dashboard's address as browsers see it; required with
//	              # signin.slack (Slack redirects to public_url/auth/callback)
//	  session_key:      # secret, at least 32 bytes, signing sessions and CSRF
//	                    # tokens; required with signin.slack; changing it signs
//	                    # everyone out (or session_key_file)
//	  session_ttl:      # how long a sign-in lasts, at least 1m. Default 12h
//	  cookie_secure:    # always or never. Default: Secure over https
//	  admins: [EMAIL, ...] # who sees every account; anyone else signing in
//	                    # sees the accounts they own (matched by email)
//	  signin:
//	    slack:          # Sign in with Slack (OpenID Connect)
//	      client_id:    # required: the Slack app's client id
//	      client_secret: # secret, required (or client_secret_file)
//	      team_id:      # admit only this workspace
//	      issuer_url:   # default https://slack.com
//
//	retention:
//	  reports:    # pass reports kept, at least 1. Default 500 (about two years at
//	              # one pass a working day; 8 hours at @every 1m). Saving a report
//	              # drops the older ones, with their passes' plans, shard results,
//	              # staged matches and digests; the latest report always stays.
//
// YAML anchors, aliases and merge keys (<<: *anchor) may be used to share
// settings between sources.
package config
