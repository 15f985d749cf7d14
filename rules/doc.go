// Package rules loads crmsync's rule files, computes the features rules
// look at, segments the portfolio and evaluates rules against accounts.
//
// # Rule files
//
// A rule file is YAML. Unknown keys are errors, and every problem in a set
// of files is reported at once as FILE:LINE:COL: message (see Error).
//
//	segmentation:                 # optional, in at most one file
//	  abc: {a: 0.80, b: 0.95}     # ABC cut-offs: 0 < a < b <= 1
//	  pmg: {medium: 10000, large: 100000}  # revenue_12m thresholds: 0 < medium < large
//	rules:
//	  - name: inactive-90-days    # required, unique across files, [a-z0-9_-]+
//	    description: Client with no recorded activity or purchase for 90 days
//	    when: account.lifecycle == "customer" && days_inactive >= 90   # required, boolean
//	    severity: info            # info (default) | warning | critical
//	    labels: {team: success}   # free-form
//	    cooldown: 30d             # default 30d; no repeat for the same account sooner
//	    for: 2d                   # default 0; the condition must hold this long, across passes, first
//	    inhibits: [other-rule]    # existing rules, not itself
//	    holdout: 10%              # default none; this share of flagged accounts gets no message
//	    outcome_window: 30d       # default 30d; an activity or won deal this soon after a flag
//	                              # counts as the account re-engaging
//	    on_resolve:               # optional note when the flag stops holding
//	      slack: {to: owner, text: "{{ .Account.Name }} re-engaged"}
//	    actions:                  # each item has exactly one of email / slack
//	      - email: {to: primary_contact, template: reengage-90d}
//	      - slack: {to: owner, channel: "#key-accounts", text: "{{ .Account.Name }} is quiet"}
//
// Durations accept Go durations and whole days and weeks ("30d", "2w").
// email.to is primary_contact (default) or all_contacts; email.template is
// required and names a local template. slack.to is owner (default) or ""
// to post only to slack.channel, a "#name" or a channel id. slack.text is
// an optional text/template over notify.Data ({{ .Account.Name }},
// {{ .DaysInactive }}, {{ .Owner.Name }}, ...); it is executed against
// sample data at load so that unknown fields are load errors. Every value
// it prints is escaped for Slack mrkdwn (slack.Escape: &, <, > and the
// formatting characters * _ ~ `), so CRM data such as
// "<!channel>" is shown, never interpreted.
//
// A rule with a holdout leaves a fixed share of the accounts it flags
// without any message: the draw hashes the rule's name and the account's
// id (Rule.InHoldout), so an account is in or out at every pass. A held
// out flag starts the cooldown like a sent one and is recorded in the
// ledger as holdout; per-pass caps do not count it. Comparing how often
// messaged and held-out accounts re-engage within outcome_window measures
// what the messages change (package outcome).
//
// While a rule fires for an account, the Slack actions of the rules it
// inhibits are dropped for that account; their emails still go. A rule
// still waiting out its for inhibits nothing.
//
// A rule's flag on an account moves across evaluation passes: pending
// from the first pass its condition holds, firing once it has held for
// the rule's for (at once without for), and resolved at the first pass
// where it no longer holds. A resolution is recorded in the account's
// history; with on_resolve: {slack: {to: owner, channel: ..., text: ...}}
// the rep also gets a note ("client re-engaged"). A flag that resolves
// while pending leaves no trace: it never fired.
//
// # Features
//
// Compute derives, for one account at an instant now:
//
//	revenue_12m          sum of won deals closed in (now-365d, now]
//	revenue_prev_12m     sum of won deals closed in (now-730d, now-365d]
//	revenue_trend        revenue_12m / revenue_prev_12m; 1.0 when revenue_prev_12m is 0
//	purchases_12m        number of won deals closed in (now-365d, now]
//	days_inactive        floor((now - last_activity_at) / 24h), where last_activity_at is
//	                     the latest of: an activity on the account or any of its contacts
//	                     (activities after now count as now), and the close date of any
//	                     won deal closed at or before now; else the account's created_at
//	days_since_purchase  whole days since the latest won deal; null when none
//
// Deals that are not won, and won deals without a close date, are ignored.
// A purchase is the strongest sign of life: a client that bought 23 days
// ago has days_inactive at most 23, however long ago its last call or
// email was logged. A won deal closed after now (a close date entered
// ahead) is no activity, but counts in days_since_purchase as 0.
//
// Features.LastActivityAt and Features.LastActivityFrom (an activity, a
// won deal, or the account's creation) tell what days_inactive counts
// from; Features.Map gives them as last_activity_at (RFC 3339, UTC) and
// last_activity_from (activity, won_deal or created), which explanations
// (crmsync preview, history) show next to days_inactive. They are not
// expression names: in expressions, account.last_activity_at is the
// account record's own.
//
// # Segmentation
//
// The other features compare an account with the whole portfolio. Once
// per evaluation pass, NewSegmenter reduces the portfolio (one Sample per
// account) to a few thresholds, a Segmenter, which is JSON-encodable so
// that shard workers can receive it; Segmenter.Apply then segments one
// account in constant time, without allocating. ScorePortfolio does both
// for an in-memory portfolio.
//
//	abc          accounts with revenue_12m > 0 are ranked by revenue_12m descending
//	             (ties by account id ascending); S_prev is the revenue of the accounts
//	             ranked before one over the total. A if S_prev < a, B if S_prev < b,
//	             else C. Accounts without revenue are C.
//	pareto_top   true for class A
//	pmg          "large" when revenue_12m >= pmg.large, else "medium" when
//	             revenue_12m >= pmg.medium, else "small"
//	rfm.r        recency score, 1-5: fewer days since the latest won deal is better;
//	             an account that never bought scores 1
//	rfm.f        frequency score, 1-5: more purchases_12m is better
//	rfm.m        monetary score, 1-5: more revenue_12m is better
//	rfm.segment  the segment of (rfm.r, rfm.f), see below
//
// ClassifyABC computes abc alone into a map; it is the reference the
// Segmenter is tested against. A Segmenter keeps the last account of
// class A and the last of class B in the ranking, and classes an account
// by where its (revenue_12m, id) falls against them.
//
// Each RFM score is a quintile over the portfolio of N accounts. With w
// the number of accounts strictly worse on that score's value,
//
//	score = min(5, 1 + floor(5 × w / N))
//
// so tied accounts get the same score, the worst score 1, and the best
// 5 only when at least 4N/5 accounts are strictly worse: a portfolio of
// one account, or whose values are all equal, scores 1 throughout. For
// recency, accounts that never bought are worse than every buyer, so
// they score 1 and count as worse for every buyer. Zero values are
// ordinary values: accounts without purchases or revenue tie at the
// bottom. A Segmenter stores, for each score and k = 2..5, the value an
// account must beat to score at least k (that of the ceil((k-1)N/5)-th
// worst account); an account that was not in the portfolio, such as one
// synced during the pass, is scored by the same thresholds.
//
// rfm.segment follows the usual R×F grid (m does not take part), whose
// lowest corner, r = 1 and f = 1, is lost; every (r, f) pair has exactly
// one segment:
//
//	        f=1             f=2                 f=3                 f=4         f=5
//	r=5     new             potential_loyalist  potential_loyalist  champions   champions
//	r=4     promising       potential_loyalist  potential_loyalist  loyal       loyal
//	r=3     about_to_sleep  about_to_sleep      need_attention      loyal       loyal
//	r=2     hibernating     hibernating         at_risk             at_risk     cant_lose
//	r=1     lost            hibernating         at_risk             at_risk     cant_lose
//
// # Expressions
//
// when is an expr-lang expression (https://expr-lang.org), compiled at load
// against a typed environment, so unknown names and type mismatches
// (days_inactive >= "90") are load errors. It must be boolean. Names:
//
//	account               id, name, domain, lifecycle, timezone, created_at,
//	                      last_activity_at (the account record's own), extra (map of
//	                      custom fields: account.extra.industry; "" when missing), url,
//	                      sources (names of the sources it comes from, several when
//	                      merged: "sellsy" in account.sources)
//	owner                 id, name, email ("" when the account has no owner)
//	contacts              list of {id, name, email, opt_out, primary, title, last_activity_at}
//	revenue_12m, revenue_prev_12m, revenue_trend   float
//	days_inactive         int
//	days_since_purchase   int or nil
//	purchases_12m         int
//	abc                   "A", "B" or "C"
//	pareto_top            bool: abc == "A"
//	pmg                   "small", "medium" or "large"
//	rfm                   r, f, m (ints 1-5) and segment (champions, loyal, ...):
//	                      rfm.segment == "cant_lose" && rfm.m >= 4
//	lifecycle             same as account.lifecycle: prospect, customer, former, other
//	now                   the evaluation time
//	days(n)               n days as a duration: now - account.created_at > days(365)
//	days_since(t)         whole days from time t to now, 0 when t is after now
//
// expr's builtins (len, any, all, filter, upper, ...) are available, except
// now(): use now.
//
// days_since_purchase is nil for an account that never bought.
// days_since_purchase == nil tests for that. An ordering comparison with
// nil (<, <=, >, >=) is false rather than an error, so
// days_since_purchase > 30 is false for such an account, and so is
// days_since_purchase <= 30; not (days_since_purchase > 30) is true. Other
// operations on nil, such as days_since_purchase + 1, are run-time errors:
// write (days_since_purchase ?? 9999) to give nil a value.
//
// Missing data has defaults, never errors. An account with no deals has
// revenues 0, revenue_trend 1, purchases_12m 0, days_since_purchase nil,
// abc "C", pareto_top false, pmg "small", rfm.r and rfm.f 1, hence
// rfm.segment "lost", and rfm.m 1 unless some accounts have a negative
// revenue_12m. Without an owner, owner's fields are "". Without contacts,
// contacts is empty. Without activity or purchase, days_inactive counts
// from created_at, and from the zero time when that too is missing (106751
// days, the longest duration). The portfolio-wide names (abc, pareto_top,
// pmg, rfm) are zero values ("", false, 0) when the features were
// computed with Compute alone, without a Segmenter.
//
// A run-time error (such as contacts[0] on an account without contacts)
// makes the rule not match that account; Evaluate reports it with the rule
// name and goes on with the other rules.
package rules
