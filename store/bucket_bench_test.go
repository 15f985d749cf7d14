package store

import (
	"fmt"
	"testing"
)

// BenchmarkGroupPacks groups a page's worth of pointer packs (those of
// 5,000 consecutive contact ids) by bucket, as a page's read does.
func BenchmarkGroupPacks(b *testing.B) {
	prefixes := make([]string, 500)
	for i := range prefixes {
		prefixes[i] = packPrefix(filedField('c', fmt.Sprintf("portfolio:C%07d", 1234560+10*i)))
	}
	for b.Loop() {
		groupPacks(prefixes)
	}
}
