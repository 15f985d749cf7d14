// Package gensample generates portfolios shaped like the bundled sample
// (examples/sample): owners.csv, accounts.csv, contacts.csv and deals.csv,
// about 2.35 contacts and 3.5 deals per account, the same columns and the
// same distributions, deterministically from a seed. Rows are written as
// they are drawn, so a portfolio of a million accounts takes little memory.
//
// With the sample's size and seed (SampleAccounts, SampleSeed) the files
// are the bundled sample's bytes, including one row per file that the csv
// connector must set aside; other portfolios have no such rows.
package gensample

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// AsOf is the date portfolios are generated relative to. It equals
// examples.SampleAsOf (a test checks it).
var AsOf = asOf

// FileNames lists the files of a portfolio, in the order they are written.
var FileNames = []string{"owners.csv", "accounts.csv", "contacts.csv", "deals.csv"}

// Write generates a portfolio of accounts accounts drawn with seed into
// dir, which it creates if needed.
func Write(dir string, accounts int, seed uint64) error {
	if accounts < 1 {
		return fmt.Errorf("gensample: accounts must be at least 1, not %d", accounts)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gensample: create output directory: %w", err)
	}
	var planted map[string]plant
	if accounts == SampleAccounts && seed == SampleSeed {
		var err error
		if planted, err = plantedRows(); err != nil {
			return err
		}
	}
	files := make(map[string]*csvSink, len(FileNames))
	var errs []error
	for _, name := range FileNames {
		s, err := createSink(filepath.Join(dir, name), planted[name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files[name] = s
	}
	if len(errs) == 0 {
		errs = append(errs, generate(accounts, seed, sinks(files)))
	}
	for _, s := range files {
		errs = append(errs, s.close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("gensample: %w", err)
	}
	return nil
}

// generate draws the portfolio into sinks.
func generate(accounts int, seed uint64, to map[string]sink) error {
	g := newGenerator(accounts, seed, to)
	for _, name := range FileNames {
		if err := to[name].write(headers[name]); err != nil {
			return err
		}
	}
	if err := g.genOwners(); err != nil {
		return err
	}
	for n := 1; n <= accounts; n++ {
		if err := g.genAccount(g.newAccount(n)); err != nil {
			return err
		}
	}
	return nil
}

func sinks(files map[string]*csvSink) map[string]sink {
	m := make(map[string]sink, len(files))
	for name, s := range files {
		m[name] = s
	}
	return m
}

// plant is a row the csv connector must set aside, written after the
// data row numbered after (from 0) so that it sits halfway through its
// file.
type plant struct {
	after int
	row   []string
}

// plantedRows draws the sample once without writing it, to know how many
// rows each file has, and returns the bad row of each file with where it
// goes: one per file, halfway through, so the demo shows rejects with
// reasons.
func plantedRows() (map[string]plant, error) {
	counts := map[string]*counter{}
	for _, name := range FileNames {
		counts[name] = &counter{}
	}
	to := make(map[string]sink, len(counts))
	for name, c := range counts {
		to[name] = c
	}
	if err := generate(SampleAccounts, SampleSeed, to); err != nil {
		return nil, err
	}
	// Halfway through the rows including the header, as the sample has
	// always been built.
	middle := func(name string) int { return counts[name].rows/2 - 1 }
	contacts, deals := counts["contacts.csv"].rows-1, counts["deals.csv"].rows-1
	return map[string]plant{
		"accounts.csv": {middle("accounts.csv"), []string{"A03001", "Planted Bad Date SARL", "U001", "customer",
			"planted.example", "Europe/Paris", "31/12/2024", "", "", "https://crm.example.com/accounts/A03001", "retail"}},
		"contacts.csv": {middle("contacts.csv"), []string{fmt.Sprintf("C%06d", contacts+1), "A01500", "Marie", "Dupont",
			"marie.dupont.example.com", "+33 1 00 00 00 00", "Buyer", "", "false", "", ""}},
		"deals.csv": {middle("deals.csv"), []string{fmt.Sprintf("D%06d", deals+1), "A01500", "Planted deal",
			"1.234,56", "EUR", "true", "2026-06-01T10:00:00Z"}},
	}, nil
}

// counter counts the rows written to it.
type counter struct{ rows int }

func (c *counter) write([]string) error {
	c.rows++
	return nil
}

// csvSink writes rows to a CSV file as they come, and a planted row at
// its place.
type csvSink struct {
	f     *os.File
	buf   *bufio.Writer
	w     *csv.Writer
	data  int // data rows written, the header not counted
	rows  int // rows written, the header counted
	plant plant
}

func createSink(path string, p plant) (*csvSink, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	buf := bufio.NewWriterSize(f, 1<<16)
	return &csvSink{f: f, buf: buf, w: csv.NewWriter(buf), plant: p}, nil
}

func (s *csvSink) write(row []string) error {
	if s.plant.row != nil && s.rows > 0 && s.data == s.plant.after {
		if err := s.w.Write(s.plant.row); err != nil {
			return err
		}
	}
	if s.rows > 0 {
		s.data++
	}
	s.rows++
	return s.w.Write(row)
}

// close flushes the rows and closes the file.
func (s *csvSink) close() error {
	s.w.Flush()
	return errors.Join(s.w.Error(), s.buf.Flush(), s.f.Close())
}

// Cached returns the directory of the portfolio of accounts accounts drawn
// with SampleSeed, generating it first when os.TempDir has no copy, so
// benchmarks share one copy of each size between runs.
func Cached(accounts int) (string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("crmsync-portfolio-%d", accounts))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), filepath.Base(dir)+".partial-")
	if err != nil {
		return "", fmt.Errorf("gensample: %w", err)
	}
	if err := Write(tmp, accounts, SampleSeed); err != nil {
		return "", errors.Join(err, os.RemoveAll(tmp))
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", errors.Join(fmt.Errorf("gensample: %w", err), os.RemoveAll(tmp))
	}
	return dir, nil
}

// BenchSizes are the portfolio sizes benchmarks run at: 100,000 accounts,
// and 1,000,000 too when CRMSYNC_BENCH_1M is set.
func BenchSizes() []int {
	if os.Getenv("CRMSYNC_BENCH_1M") != "" {
		return []int{100_000, 1_000_000}
	}
	return []int{100_000}
}
