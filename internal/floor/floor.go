// Package floor is the baseline crmsync's evaluation pass is measured
// against: a plain Go program that reads a portfolio's CSV files
// (owners.csv, accounts.csv, contacts.csv, deals.csv, as the csv
// connector reads them with the default format), computes every account's
// features as rules.Compute defines them, segments the portfolio with
// rules.NewSegmenter, and checks the two example rules (examples/rules.yaml)
// written by hand in Go. It keeps one small record per account in a map:
// what a user would write, with no store, no queue and no JSON.
//
// Rows the csv connector would set aside for a reason the features depend
// on (an account without a valid created_at, a deal whose amount or close
// date does not parse) are skipped; the others are read as the connector
// reads them.
package floor

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/rules"
)

// The example rules, as examples/rules.yaml names them.
const (
	Inactive90Days    = "inactive-90-days"
	HighValueChurning = "high-value-churning"
)

// Segmentation is the segmentation of examples/rules.yaml.
var Segmentation = rules.Segmentation{
	ABC: rules.ABCCutoffs{A: 0.80, B: 0.95},
	PMG: rules.PMG{Medium: 10000, Large: 100000},
}

const (
	day  = 24 * time.Hour
	year = 365 * day
)

// Result is what one run found.
type Result struct {
	// Rows read from each file, header excluded.
	Owners, Accounts, Contacts, Deals int
	// Scored is the number of accounts scored: those with a valid
	// created_at.
	Scored int
	// ABC counts the accounts of each class, "A", "B" and "C".
	ABC map[string]int
	// Flags counts, per rule name, the accounts the rule matches.
	Flags map[string]int
}

// Records returns the number of rows read.
func (r Result) Records() int {
	return r.Owners + r.Accounts + r.Contacts + r.Deals
}

// account is what the features need of one account.
type account struct {
	customer     bool
	created      time.Time
	active       time.Time // latest activity of the account or its contacts
	lastPurchase time.Time // latest won deal
	lastBought   time.Time // latest won deal closed at or before now
	revenue12m   float64
	revenuePrev  float64
	purchases12m int
}

// Run reads the portfolio in dir and scores it at now.
func Run(dir string, now time.Time) (Result, error) {
	res := Result{ABC: map[string]int{}, Flags: map[string]int{Inactive90Days: 0, HighValueChurning: 0}}
	accounts := map[string]*account{}
	var err error
	if res.Owners, err = each(dir, "owners.csv", func(map[string]int, []string) {}); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, err
	}
	if res.Accounts, err = each(dir, "accounts.csv", func(cols map[string]int, rec []string) {
		readAccount(accounts, cols, rec)
	}); err != nil {
		return res, err
	}
	if res.Contacts, err = each(dir, "contacts.csv", func(cols map[string]int, rec []string) {
		readContact(accounts, cols, rec)
	}); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, err
	}
	if res.Deals, err = each(dir, "deals.csv", func(cols map[string]int, rec []string) {
		readDeal(accounts, cols, rec, now)
	}); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, err
	}
	score(&res, accounts, now)
	return res, nil
}

// each calls fn with every data row of dir/name and the header's column
// indexes, and returns the number of rows.
func each(dir, name string, fn func(cols map[string]int, rec []string)) (int, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return 0, fmt.Errorf("floor: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	hdr, err := r.Read()
	if err != nil {
		return 0, fmt.Errorf("floor: %s: header: %w", name, err)
	}
	cols := make(map[string]int, len(hdr))
	for i, h := range hdr {
		cols[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))] = i
	}
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("floor: %s: %w", name, err)
		}
		n++
		fn(cols, rec)
	}
}

func field(cols map[string]int, rec []string, name string) string {
	i, ok := cols[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// date parses an RFC 3339 time or a plain date, as the connector does.
func date(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}

func readAccount(accounts map[string]*account, cols map[string]int, rec []string) {
	id := field(cols, rec, "id")
	created, ok := date(field(cols, rec, "created_at"))
	if id == "" || !ok || accounts[id] != nil {
		return
	}
	a := &account{created: created}
	lc := strings.ToLower(field(cols, rec, "lifecycle"))
	a.customer = lc == "" || lc == "customer"
	a.active, _ = date(field(cols, rec, "last_activity_at"))
	accounts[strings.Clone(id)] = a
}

func readContact(accounts map[string]*account, cols map[string]int, rec []string) {
	a := accounts[field(cols, rec, "account_id")]
	if a == nil {
		return
	}
	if t, ok := date(field(cols, rec, "last_activity_at")); ok && t.After(a.active) {
		a.active = t
	}
}

func readDeal(accounts map[string]*account, cols map[string]int, rec []string, now time.Time) {
	a := accounts[field(cols, rec, "account_id")]
	if a == nil || !won(field(cols, rec, "won")) {
		return
	}
	closed, ok := date(field(cols, rec, "closed_at"))
	amount, err := strconv.ParseFloat(field(cols, rec, "amount"), 64)
	if !ok || err != nil || amount < 0 {
		return
	}
	switch {
	case closed.After(now):
	case closed.After(now.Add(-year)):
		a.revenue12m += amount
		a.purchases12m++
	case closed.After(now.Add(-2 * year)):
		a.revenuePrev += amount
	}
	if closed.After(a.lastPurchase) {
		a.lastPurchase = closed
	}
	if closed.After(a.lastBought) && !closed.After(now) {
		a.lastBought = closed
	}
}

func won(s string) bool {
	switch strings.ToLower(s) {
	case "true", "yes", "oui", "vrai", "1":
		return true
	}
	return false
}

// score segments the portfolio and checks the rules on every account.
func score(res *Result, accounts map[string]*account, now time.Time) {
	samples := make([]rules.Sample, 0, len(accounts))
	for id, a := range accounts {
		s := rules.Sample{AccountID: id, Revenue12m: a.revenue12m, Purchases12m: a.purchases12m}
		if !a.lastPurchase.IsZero() {
			n := days(a.lastPurchase, now)
			s.DaysSincePurchase = &n
		}
		samples = append(samples, s)
	}
	seg := rules.NewSegmenter(Segmentation, samples)
	for i := range samples {
		s := &samples[i]
		a := accounts[s.AccountID]
		f := rules.Features{Revenue12m: a.revenue12m}
		seg.Apply(s.AccountID, &f)
		res.ABC[f.ABC]++
		inactive := days(a.lastActive(now), now)
		// inactive-90-days: account.lifecycle == "customer" && days_inactive >= 90
		if a.customer && inactive >= 90 {
			res.Flags[Inactive90Days]++
		}
		trend := 1.0
		if a.revenuePrev != 0 {
			trend = a.revenue12m / a.revenuePrev
		}
		// high-value-churning: abc == "A" && days_since_purchase >= 60 &&
		// (revenue_trend < 0.5 || days_inactive >= 60)
		if f.ABC == rules.ClassA && s.DaysSincePurchase != nil && *s.DaysSincePurchase >= 60 &&
			(trend < 0.5 || inactive >= 60) {
			res.Flags[HighValueChurning]++
		}
	}
	res.Scored = len(samples)
}

// lastActive returns the instant days_inactive counts from: the latest
// activity or purchase at or before now, else the creation, never after
// now.
func (a *account) lastActive(now time.Time) time.Time {
	last := a.active
	if a.lastBought.After(last) {
		last = a.lastBought
	}
	if last.IsZero() {
		last = a.created
	}
	if last.After(now) {
		return now
	}
	return last
}

// days returns the whole days from t to now, 0 when t is after now.
func days(t, now time.Time) int {
	if t.After(now) {
		return 0
	}
	return int(now.Sub(t) / day)
}
