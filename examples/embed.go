// Package examples bundles the sample portfolio, the example config and rules used by `crmsync demo` and the docs.
package examples

import (
	"embed"
	"time"
)

// Sample is the bundled sample portfolio: the files owners.csv,
// accounts.csv, contacts.csv and deals.csv under "sample/", in the format
// of the csv connector. Regenerate it with `go run ./examples/gensample`.
//
//go:embed sample/*.csv
var Sample embed.FS

// SampleAsOf is the date the sample is generated relative to; demo
// evaluates at this time by default.
var SampleAsOf = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// DemoConfig is the config `crmsync demo` runs with (demo.yaml): the sample
// as a CSV source, the example rules, an outbox, no redis.url.
//
//go:embed demo.yaml
var DemoConfig []byte

// Rules is the example rule file (rules.yaml) with the two presets,
// inactive-90-days and high-value-churning.
//
//go:embed rules.yaml
var Rules []byte
