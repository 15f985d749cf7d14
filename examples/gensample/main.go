// Command gensample writes the bundled sample portfolio (owners.csv,
// accounts.csv, contacts.csv, deals.csv) deterministically: the same bytes
// on every run, relative to a fixed date.
//
//	go run ./examples/gensample [-out examples/sample]
package main

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

func main() {
	out := flag.String("out", "examples/sample", "directory to write the CSV files to")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gensample:", err)
		os.Exit(1)
	}
}

// write generates the sample into dir.
func write(dir string) error {
	files, err := generate()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, name := range fileNames {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return fmt.Errorf("write sample: %w", err)
		}
	}
	return nil
}

// fileNames lists the files of the sample.
var fileNames = []string{"owners.csv", "accounts.csv", "contacts.csv", "deals.csv"}

// generate returns the content of each file of the sample.
func generate() (map[string][]byte, error) {
	g := newGenerator()
	g.genOwners()
	for n := 1; n <= numAccounts; n++ {
		g.genAccount(g.newAccount(n))
	}
	g.plantBadRows()
	files := make(map[string][]byte)
	for name, rows := range map[string][][]string{
		"owners.csv": g.owners, "accounts.csv": g.accounts, "contacts.csv": g.contacts, "deals.csv": g.deals,
	} {
		data, err := encode(rows)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
		files[name] = data
	}
	return files, nil
}

// plantBadRows inserts one row per file that the csv connector must set
// aside, halfway through the file, so the demo shows rejects with reasons.
func (g *generator) plantBadRows() {
	g.accounts = insertMiddle(g.accounts, []string{"A03001", "Planted Bad Date SARL", "U001", "customer",
		"planted.example", "Europe/Paris", "31/12/2024", "", "", "https://crm.example.com/accounts/A03001", "retail"})
	g.contacts = insertMiddle(g.contacts, []string{fmt.Sprintf("C%06d", g.nContact+1), "A01500", "Marie", "Dupont",
		"marie.dupont.example.com", "+33 1 00 00 00 00", "Buyer", "", "false", "", ""})
	g.deals = insertMiddle(g.deals, []string{fmt.Sprintf("D%06d", g.nDeal+1), "A01500", "Planted deal",
		"1.234,56", "EUR", "true", "2026-06-01T10:00:00Z"})
}

func insertMiddle(rows [][]string, row []string) [][]string {
	return slices.Insert(rows, len(rows)/2, row)
}

// encode writes rows as CSV.
func encode(rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
