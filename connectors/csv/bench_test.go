package csv_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/csv"
	"github.com/crmsync/crmsync/examples"
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
