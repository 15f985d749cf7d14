// Command gensample writes a portfolio shaped like the bundled sample
// (owners.csv, accounts.csv, contacts.csv, deals.csv) deterministically:
// the same bytes on every run, relative to a fixed date. By default it
// writes the bundled sample itself; -accounts and -seed write a portfolio
// of another size or draw (about 2.35 contacts and 3.5 deals per account,
// one owner per 120 accounts), without the sample's planted bad rows.
// Rows are written as they are drawn: a million accounts take little
// memory.
//
//	go run ./examples/gensample [-out examples/sample]
//	go run ./examples/gensample -accounts 1000000 -out /tmp/portfolio-1m
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/crmsync/crmsync/internal/gensample"
)

func main() {
	out := flag.String("out", "examples/sample", "directory to write the CSV files to")
	accounts := flag.Int("accounts", gensample.SampleAccounts, "number of accounts")
	seed := flag.Uint64("seed", gensample.SampleSeed, "seed of the random draw")
	flag.Parse()
	if err := gensample.Write(*out, *accounts, *seed); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
