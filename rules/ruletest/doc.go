// Package ruletest runs rule unit tests, in the spirit of promtool test
// rules: fixture accounts, an evaluation time, and the accounts each rule
// must flag. It backs `crmsync rules test FILE...`.
//
// # Test files
//
// A test file is YAML. Unknown keys are errors, and every problem in a file
// is reported at once as FILE:LINE:COL: message (a *rules.Error). Relative
// paths are relative to the test file's folder.
//
//	rule_files: [rules.yaml]               # required: the rules under test; globs (rules/*.yaml) allowed
//	evaluation_time: 2026-11-20T09:00:00Z  # default for every test
//	tests:
//	  - name: a customer quiet for 100 days is flagged
//	    evaluation_time: 2026-06-01        # optional override
//	    accounts:                          # the whole portfolio of this test
//	      - id: acme                       # required, unique in the test
//	        name: Acme                     # default: the id
//	        lifecycle: customer            # prospect, customer (default), former, other
//	        created_at: 2024-01-01         # default: two years before evaluation_time
//	        last_activity_at: -100d        # 100 days before evaluation_time
//	        domain: acme.example
//	        timezone: Europe/Paris
//	        url: https://crm.example/acme
//	        extra: {industry: retail}      # account.extra.industry in expressions
//	        owner: {id: o1, name: Rita Rep, email: rita@example.com}   # id defaults to email
//	        contacts:
//	          - {id: c1, first_name: Ann, last_name: Lee, email: ann@acme.example, title: CEO,
//	             phone: "+33 1 23 45 67 89", timezone: Europe/Paris, opt_out: false,
//	             primary: true, last_activity_at: -120d}
//	        deals:
//	          - {id: d1, name: Renewal, amount: 1200, currency: EUR, won: true, closed_at: -250d}
//	      - id: bigco                      # makes most of the revenue: class A
//	        last_activity_at: -2d
//	        deals: [{amount: 50000, closed_at: -30d}]
//	    expect:                            # per rule, exactly the accounts it must flag
//	      inactive-90-days: [acme]
//	      high-value-churning: []          # must flag none
//	    expect_features:                   # per account, feature values
//	      acme: {days_inactive: 100, abc: C, days_since_purchase: 250}
//
// Every test needs an evaluation time, its own or the file's, and expect,
// expect_features or both.
//
// # Dates
//
// Every date of a fixture (created_at, last_activity_at, closed_at) is
// either absolute or relative to the test's evaluation time:
//
//	2026-08-12               midnight UTC that day
//	2026-08-12T09:00:00Z     an RFC 3339 time (any offset); without one, UTC
//	-100d                    100 days before the evaluation time
//	-1d12h, -2w, +3d         any duration crmsync reads (d, w, h, m, s), signed
//
// evaluation_time itself is absolute. A relative date needs its sign:
// "100d" is an error, so that "100 days ago" is never read as a date.
//
// # Fixtures
//
// Each account becomes a model.Client from source "test": account acme has
// the internal id model.ID("test", "acme"); contacts and deals are its
// own. Contact and deal ids are optional (acme-contact-1, acme-deal-1 by
// default). A deal is won unless it says won: false, and a won deal needs
// closed_at. The first contact with primary: true is the account's primary
// contact. Nothing else is read from a CRM: the accounts of a test are the
// whole portfolio, so portfolio-wide features (abc, rfm, ...) are computed
// over them only. YAML anchors and merge keys (<<: *quiet) may share fields
// between fixtures.
//
// # What is checked
//
// Each test scores its accounts with rules.ScorePortfolio at its
// evaluation time, with the rule files' segmentation, then evaluates every
// rule on every account with RuleSet.Evaluate. A rule flags an account when
// it matches, whatever is left of its actions once inhibitions are
// applied: an inhibited rule still flags the account.
//
// For each rule under expect, the flagged accounts must be exactly those
// listed ([] or null: none). Rules not listed are not checked. Naming a
// rule the rule files do not define, or an account the test does not
// have, is an error of the file. A run-time error of a listed rule's
// expression on any account fails the test and is shown.
//
// expect_features compares, for each listed account, the given values with
// rules.Features.Map: numbers within 1e-9, null for a missing value (such
// as days_since_purchase of an account that never bought), anything else
// by its text. Only the features listed are checked. A nested mapping
// (rfm: {segment: champions}) or a dotted name (rfm.segment) also finds a
// feature keyed rfm_segment. last_activity_at, the instant days_inactive
// counts from, is written like a fixture date (2026-08-12, -23d) and
// compared to the second; last_activity_from tells whether it is an
// activity, a won deal or the account's creation:
//
//	expect_features:
//	  shop: {days_inactive: 23, last_activity_from: won_deal, last_activity_at: -23d}
//
// # Report
//
// Run writes one line per test, PASS or FAIL with the file and the test's
// name, what went wrong under each FAIL, and a last line "N passed, M
// failed":
//
//	FAIL examples/rules_test.yaml: a customer quiet for 100 days is flagged
//	  rule inactive-90-days:
//	    missing: acme     (expected to be flagged, was not; abc=A days_inactive=85 lifecycle=customer ...)
//	    unexpected: beta  (flagged, not expected; abc=C days_inactive=323 lifecycle=customer ...)
//	    error on gamma: index out of range: 0 (array length is 0) (1:9)
//	  features of acme:
//	    days_inactive: got 85, want 100
//	PASS examples/rules_test.yaml: an active customer is not flagged
//	1 passed, 1 failed
//
// Each missing or unexpected account is shown with all its features
// (rules.Features.Map, sorted by name) and its lifecycle, so that the
// reason is in front of the reader.
package ruletest
