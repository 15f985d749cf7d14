package store

import (
	"fmt"
	"testing"
)

// BenchmarkGroupByBucket groups a page's worth of pointer fields (500
// consecutive contact ids) by bucket, as a page's read and write do.
func BenchmarkGroupByBucket(b *testing.B) {
	fields := make([]string, 500)
	for i := range fields {
		fields[i] = filedField('c', fmt.Sprintf("portfolio:C%07d", 123456+i))
	}
	for b.Loop() {
		groupByBucket(fields)
	}
}
