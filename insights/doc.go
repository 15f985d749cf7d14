// Package insights computes the figures a sales team reviews each month
// from the portfolio as evaluation passes read it: the portfolio figures
// at an instant, their evolution month by month, and the compact monthly
// snapshot of each account that activity-based series need. It is pure:
// it reads a Portfolio built from clients and returns values; reading the
// store and printing are the caller's.
//
// Every account is scored exactly as a pass scores it: rules.Compute at
// the instant, then a rules.Segmenter built over the whole portfolio
// (every account, whatever its lifecycle) for abc, pmg and rfm.
//
// # Figures at an instant now
//
//	accounts          accounts of the (filtered) portfolio
//	clients           accounts whose lifecycle is customer (the portfolio proper)
//	buyers            accounts with revenue_12m > 0 at now (bought in (now-365d, now])
//	revenue_12m       sum of revenue_12m; revenue_prev_12m likewise
//	revenue_trend     revenue_12m / revenue_prev_12m of the sums; 1 when the latter is 0
//	retention         buyers a month before now (now minus one calendar month) that are
//	                  still buyers at now, over the buyers a month before; gained and
//	                  lost are the buyers that appeared and left; rate 0 when there were
//	                  none before
//	revenue_at_risk   sum of revenue_12m of the accounts flagged now (a rule fired and
//	                  its condition still holds), and their number
//	pareto            accounts with revenue_12m > 0 in ABC rank order (revenue desc, id
//	                  asc): point i is (share of those accounts ranked <= i, share of
//	                  their revenue), from (0,0) to (1,1), at most MaxParetoPoints
//	                  points, evenly spaced in rank; the A and B cut-offs are the points
//	                  where class A and classes A+B end
//	abc               per class: accounts, share of accounts, revenue_12m, share of it
//	rfm               5×5 grid of (r, f): accounts and mean m score; accounts per
//	                  named segment
//	pmg               per size (small, medium, large): accounts and revenue_12m
//	lifecycle         accounts per lifecycle
//
// # Evolution by month
//
// A month's figures are taken at its end: the first instant of the next
// month in the report's time zone (rules.Compute's now). Revenue-based
// series are backfilled from the deal history as it is stored now: at
// each month end, every account's revenue_12m is recomputed from its won
// deals and the ABC classes are recomputed over the whole portfolio, so
// the series exist from the first day. Deals deleted from the CRM since,
// or accounts no longer synced, are not in the history.
//
//	buyers, gained, lost, retention   as above, from the previous month end
//	revenue_by_class                  sum of revenue_12m of the accounts of each class
//	migration                         accounts by (class at the previous month end,
//	                                  class at this one), every account counted once
//	inactive_90                       accounts with days_inactive >= 90 at the month
//	                                  end, from that month's snapshots; absent when
//	                                  none were kept
//
// # Filters
//
// A Filter selects accounts by owner, source, RFM segment and ABC class
// as they are at the portfolio's now; every figure, the evolution
// included, is then computed over that fixed set. Classes stay
// portfolio-wide: they are never recomputed within a filter, so the A
// accounts of one owner are the owner's share of the portfolio's A
// accounts.
//
// # Snapshots
//
// A Snapshot is what one account was at a month end, in SnapshotSize (13)
// bytes: lifecycle, class, pmg, r, f, m, revenue_12m rounded to whole
// units, days_inactive, and a bitmask of the rules flagging it (bit i for
// the i-th of the month's rule names, at most MaxSnapshotRules). The
// store keeps a month's snapshots in one hash keyed by account id
// (store.Passes.SaveSnapshots): 13 bytes plus the id (about 28 bytes per
// account and month with ids like "hubspot:123456", before Redis's own
// per-field overhead), for 800 days. A pass that keeps them builds each
// account's with NewSnapshot(lifecycle, &features, FlagBits(names, fired))
// and saves them under the month of its now; the last pass of a month
// leaves that month's end state. The first pass of a day writes them all
// (every days_inactive moved); a later pass the same day writes only
// those that changed (store.Passes.SnapshotDay).
//
// # Memory
//
// A Portfolio holds about 300 bytes per account, plus its strings and 16
// bytes per won deal; Evolution needs 16 bytes per account and month end
// on top. Scan computes the same figures and evolution from a Source it
// reads two or three times, holding 8 bytes per account and instant (the
// revenues the ABC classes and the monetary score are quantiles of) and 8
// per selected buyer (the Pareto curve): the way to review a portfolio
// that need not fit in memory.
package insights
