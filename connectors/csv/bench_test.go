package csv_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/csv"
	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/internal/connbench"
	"github.com/crmsync/crmsync/internal/gensample"
)

func BenchmarkPull(b *testing.B) {
	fsys, err := fs.Sub(examples.Sample, "sample")
	if err != nil {
		b.Fatal(err)
	}
	c := csv.New("sample", fsys, nil)
	rows := 0
	for b.Loop() {
		err := c.Pull(b.Context(), nil, func(_ context.Context, p connectors.Page) error {
			rows += p.Len() + len(p.Rejects)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkSyncPortfolio pulls a generated portfolio of 100,000 accounts
// (and 1,000,000 with CRMSYNC_BENCH_1M=1) in full: "decode" maps the four
// files into records and drops them, the floor of a sync; "redis" stores
// them in a real Redis as `crmsync sync` does. Both report records/s.
//
//	go test -run XXX -bench SyncPortfolio -benchtime 1x ./connectors/csv/
func BenchmarkSyncPortfolio(b *testing.B) {
	for _, n := range gensample.BenchSizes() {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			dir, err := gensample.Cached(n)
			if err != nil {
				b.Fatal(err)
			}
			connbench.SyncFake(b, "portfolio", func(testing.TB) connectors.Connector {
				return csv.New("portfolio", os.DirFS(dir), nil)
			})
		})
	}
}
